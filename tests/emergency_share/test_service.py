"""The emergency share's rules on a real database, no server: what the events and the audit
carry, a key rotation over a stored share, and the sweep's safety net for a share left under
a resolved escalation."""

from __future__ import annotations

from dataclasses import asdict

from cryptography.fernet import Fernet
from sqlalchemy import select

from app.audit import AuditEvent
from app.config import Settings
from app.db import utcnow
from app.emergency_share import service
from app.emergency_share.cipher import cipher_for
from app.emergency_share.models import EmergencyShare
from app.escalation.models import Escalation
from tests import factories

PHONE = "+91 90000 11111"
PLACE = "behind the bus depot"


def _cipher(keys: str):  # type: ignore[no-untyped-def]
    return cipher_for(Settings(_env_file=None, secret_key="s" * 40, emergency_share_key=keys))


async def _acknowledged_imminent(uow):  # type: ignore[no-untyped-def]
    session = uow.session
    now = utcnow()
    supervisor = await factories.staff(session, "supervisor")
    volunteer = await factories.staff(session)
    seeker = await factories.seeker(session)
    chat = await factories.conversation(
        session, seeker, volunteer=volunteer, status="active", risk_level="imminent"
    )
    escalation = Escalation(
        conversation_id=chat.id, level="imminent", source="volunteer", status="acknowledged",
        opened_at=now, tier="all", policy_id="policy-v1", policy_version=1,
        acknowledged_at=now, acknowledged_by=supervisor.id,
    )  # fmt: skip
    session.add(escalation)
    await session.flush()
    return supervisor, seeker, escalation


async def test_events_and_audit_never_carry_what_was_shared_and_rotation_keeps_it_readable(
    database,
):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    async with database.unit_of_work() as uow:
        supervisor, seeker, escalation = await _acknowledged_imminent(uow)
        asked = await service.ask(
            uow, factories.principal_of(supervisor), escalation_id=escalation.id, now=utcnow()
        )
    async with database.unit_of_work() as uow:
        await service.answer(
            uow, factories.principal_of(seeker), request_id=asked.share_id, share=True,
            phone=PHONE, location=PLACE, now=utcnow(), cipher=_cipher(old_key),
        )  # fmt: skip
        events = list(uow.events)
    assert events and all(PHONE not in str(e) and PLACE not in str(e) for e in events)

    # The key is rotated (a new one first): the share written under the old one still opens.
    async with database.unit_of_work() as uow:
        read = await service.read(
            uow, factories.principal_of(supervisor), share_id=asked.share_id,
            cipher=_cipher(f"{new_key},{old_key}"),
        )  # fmt: skip
    assert (read["phone"], read["location"], read["readable"]) == (PHONE, PLACE, True)
    # Without the old key it cannot be read, and says so.
    async with database.unit_of_work() as uow:
        lost = await service.read(
            uow, factories.principal_of(supervisor), share_id=asked.share_id,
            cipher=_cipher(new_key),
        )  # fmt: skip
    assert lost["phone"] is None and lost["readable"] is False

    async with database.sessionmaker() as session:
        audit = list(
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("emergency_share.%"))
            )
        )
    mine = [a for a in audit if a.detail.get("share_id") == asked.share_id]
    assert [a.action for a in mine] == [
        "emergency_share.requested",
        "emergency_share.shared",
        "emergency_share.read",
        "emergency_share.read",
    ]
    assert all(PHONE not in str(a.detail) and PLACE not in str(a.detail) for a in mine)
    assert mine[1].detail["phone"] is True and mine[1].detail["location"] is True


async def test_the_sweep_deletes_a_share_left_under_a_resolved_escalation(database):
    key = Fernet.generate_key().decode()
    async with database.unit_of_work() as uow:
        supervisor, seeker, escalation = await _acknowledged_imminent(uow)
        asked = await service.ask(
            uow, factories.principal_of(supervisor), escalation_id=escalation.id, now=utcnow()
        )
    async with database.unit_of_work() as uow:
        await service.answer(
            uow, factories.principal_of(seeker), request_id=asked.share_id, share=True,
            phone=PHONE, location=None, now=utcnow(), cipher=_cipher(key),
        )  # fmt: skip
    # Resolved by a path that did not delete it (none does so today: a safety net).
    async with database.unit_of_work() as uow:
        row = await uow.session.get(Escalation, escalation.id)
        row.status = "resolved"
    async with database.unit_of_work() as uow:
        assert await service.erase_due(uow, now=utcnow()) >= 1
        changed = [e for e in uow.events if getattr(e, "share", None)]
    async with database.sessionmaker() as session:
        share = await session.get(EmergencyShare, asked.share_id)
    assert (share.status, share.sealed, share.deleted_reason) == ("deleted", None, "resolved")
    assert share.has_phone and not share.has_location  # what kind it was stays; the words go
    assert any(asdict(e.share)["share_id"] == asked.share_id for e in changed)
