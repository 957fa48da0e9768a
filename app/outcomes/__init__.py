"""Feedback and outcomes: what seekers say after a chat, stored so nobody can follow it back.

A seeker may answer a few questions after a chat (how they felt at the start and now, 1-5;
whether they felt heard; whether they would come back; a comment). The answer is stored as
an ``Outcome`` row that holds no conversation id, no seeker id and no time finer than the
ISO week; only coarse fields (language, a risk-level bucket) that the aggregates group by.
Supervisors see aggregates (``policy.summarise``), never single answers; admins read the
comments, which follow retention. See docs/protocol.md, "Feedback and outcomes".
"""
