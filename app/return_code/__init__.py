"""Coming back without an account (issue #18 part 4): a private return code.

At the end of a chat the seeker may keep a return code: five random words, shown once and
stored only as a keyed hash (``words``). With it, from any device, they open a new anonymous
session linked to the code: they see their safety plan, and when they ask to be matched again
the volunteer is told they have talked before and gets the plan (never the old transcript,
which follows retention). Losing the code loses only that link; "forget my code" deletes it.
"""
