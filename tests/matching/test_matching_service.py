"""The matching service against a real database (no server)."""

from __future__ import annotations

import itertools
import uuid
from datetime import timedelta

from app.chat import sending
from app.db import Database, utcnow
from app.matching import policy
from app.matching import service as matching_service
from app.matching.events import ConversationStarted
from app.risk.cues import CueMatcher
from app.risk.events import MethodCueAlerted
from app.risk.models import RiskAssessment
from tests import factories


async def test_auto_assign_candidates_are_exactly_the_volunteers_the_rule_allows(
    database: Database,
):
    # The SQL filter and policy.auto_assignable over every combination that matters.
    now = utcnow()
    cooldowns = [None, now - timedelta(seconds=1), now + timedelta(minutes=5)]
    profiles = {}
    async with database.unit_of_work() as uow:
        seeker = await factories.seeker(uow.session)
        for active, available, auto_assign, trained, full, cooldown in itertools.product(
            [True, False], [True, False], [True, False], [True, False], [False, True], cooldowns
        ):
            row = await factories.staff(
                uow.session,
                active=active,
                available=available,
                auto_assign=auto_assign,
                trained=trained,
                capacity=1,
                cooldown_until=cooldown,
            )
            if full:
                await factories.conversation(uow.session, seeker, volunteer=row, status="active")
            profiles[row.id] = policy.VolunteerProfile(
                volunteer_id=row.id,
                languages=("en",),
                topics=(),
                trained=trained,
                capacity=1,
                active_chats=1 if full else 0,
                active=active,
                available=available,
                auto_assign=auto_assign,
                cooldown_until=cooldown,
            )
    async with database.reader() as session:
        candidates = set(await matching_service.auto_assign_candidates(session, now=now))
    expected = {
        vid for vid, profile in profiles.items() if policy.auto_assignable(profile, now=now)
    }
    assert expected  # the grid holds some who qualify
    assert candidates & set(profiles) == expected


async def _waiting_seeker_writes(database: Database, *texts: str) -> tuple[str, str]:
    """A seeker of a language nobody else uses writes ``texts`` while waiting (screened by
    the cue matcher, as the socket does): (conversation id, that language)."""
    language = "en-" + uuid.uuid4().hex[:8]
    async with database.unit_of_work() as uow:
        seeker = await factories.seeker(uow.session, language=language)
        conversation = await factories.conversation(uow.session, seeker)
    for i, text in enumerate(texts, start=1):
        async with database.unit_of_work() as uow:
            await sending.send_carefully(
                uow,
                factories.principal_of(seeker),
                conversation_id=conversation.id,
                client_msg_id=f"w{i}",
                text=text,
                now=utcnow(),
                cues=CueMatcher.default().match(text),
            )
    return conversation.id, language


async def _take(database: Database, language: str) -> list[object]:
    """A new volunteer of ``language`` takes the chat: what the take recorded."""
    async with database.unit_of_work() as uow:
        volunteer = await factories.staff(uow.session, languages=[language], capacity=2)
    async with database.unit_of_work() as uow:
        await matching_service.take(uow, volunteer_id=volunteer.id, now=utcnow())
        return list(uow.events)


async def test_taking_a_chat_with_an_unscreened_method_cue_alerts_the_on_call_once(
    database: Database,
):
    """The newest message flagged with a method or an attempt is named, after the start."""
    async with database.unit_of_work() as uow:
        on_call = await factories.staff(uow.session, "supervisor", on_call=True)
        admin = await factories.staff(uow.session, "admin")
        off_call = await factories.staff(uow.session, "supervisor")
    cid, language = await _waiting_seeker_writes(
        database, "i have pills right here", "hello?", "i took 20 sleeping pills", "anyone?"
    )
    recorded = await _take(database, language)
    kinds = [type(e) for e in recorded]
    assert kinds.index(ConversationStarted) < kinds.index(MethodCueAlerted)
    [alert] = [e for e in recorded if isinstance(e, MethodCueAlerted)]
    assert (alert.conversation_id, alert.seq) == (cid, 3)
    assert {on_call.id, admin.id} <= set(alert.supervisor_ids)
    assert off_call.id not in alert.supervisor_ids


async def test_taking_a_chat_without_a_method_cue_alerts_nobody(database: Database):
    _, language = await _waiting_seeker_writes(
        database, "I feel like a burden to everyone", "i want to kill myself"
    )
    recorded = await _take(database, language)
    assert ConversationStarted in [type(e) for e in recorded]
    assert not [e for e in recorded if isinstance(e, MethodCueAlerted)]


async def test_taking_a_chat_screened_before_alerts_nobody(database: Database):
    """A chat handed back to the queue after its screen: the method cue is answered."""
    cid, language = await _waiting_seeker_writes(database, "i have pills right here")
    async with database.unit_of_work() as uow:
        screener = await factories.staff(uow.session)
        uow.session.add(
            RiskAssessment(
                conversation_id=cid,
                checklist_id="asq",
                answers={},
                started_by=screener.id,
                started_at=utcnow(),
                status="submitted",
                submitted_at=utcnow(),
            )
        )
    recorded = await _take(database, language)
    assert ConversationStarted in [type(e) for e in recorded]
    assert not [e for e in recorded if isinstance(e, MethodCueAlerted)]
