"""Supervision and volunteer wellbeing: debriefs after heavy chats, and activity counts.

After a high or imminent chat ends its volunteer may write a short debrief (how they are,
what would help); it reaches the supervisor who handled the chat's escalation. Every
volunteer has an activity page of counts (chats, hours, high-risk chats, debriefs) that they
and supervisors see, so that burnout is noticed. Counts only: no transcript, no seeker.
"""
