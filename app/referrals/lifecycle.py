"""The referral lifecycle: a warm hand-over to a helpline, tracked to an outcome.

    offered ─► accepted ─► handed_over ─► completed
       │           │             │
       ▼           ▼             ▼
    declined   declined /     unreachable
               unreachable

``completed`` means contact with the helpline was confirmed; at imminent risk a referral
stays open (not final) until then. ``declined`` and ``unreachable`` are final too: a new
attempt is a new referral, so the audit trail keeps every try.
"""

from __future__ import annotations

from enum import StrEnum

from app.lifecycle import Lifecycle


class ReferralStatus(StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    HANDED_OVER = "handed_over"
    COMPLETED = "completed"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"

    @property
    def is_final(self) -> bool:
        return not REFERRAL_LIFECYCLE.allowed(self)


REFERRAL_LIFECYCLE: Lifecycle[ReferralStatus] = Lifecycle(
    "referral",
    {
        ReferralStatus.OFFERED: {
            ReferralStatus.ACCEPTED,
            ReferralStatus.DECLINED,
            ReferralStatus.UNREACHABLE,
        },
        ReferralStatus.ACCEPTED: {
            ReferralStatus.HANDED_OVER,
            ReferralStatus.DECLINED,
            ReferralStatus.UNREACHABLE,
        },
        ReferralStatus.HANDED_OVER: {ReferralStatus.COMPLETED, ReferralStatus.UNREACHABLE},
        ReferralStatus.COMPLETED: set(),
        ReferralStatus.DECLINED: set(),
        ReferralStatus.UNREACHABLE: set(),
    },
)
