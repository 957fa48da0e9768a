"""Abuse: a volunteer reports a seeker, a supervisor blocks one (issue #16 §5).

An anonymous service cannot block a person, only a session: blocking ends the conversation
with a neutral message and revokes the seeker's token; a new session from the same client
is slowed only by the flood limits on creating seekers (README, "Abuse").
"""
