"""Consented emergency share (break-glass): the only identifying data the service holds.

In an acknowledged imminent escalation, the supervisor who acknowledged it may ask the seeker
whether they want to share a phone number and/or where they are, so that help can be sent.
The seeker sees who will see it, why and for how long, and may decline (nothing changes).
What they share is encrypted at rest (``EMERGENCY_SHARE_KEY``, Fernet), readable only by the
supervisor who acknowledged the escalation (each reading audited), and deleted when the
escalation is resolved or ``KEEP_FOR`` (72 hours) after it was shared, whichever comes first.
It never travels on the bus, in a frame, a log line, a metric or a message.
"""
