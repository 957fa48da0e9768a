"""Helpline referrals and the helpline directory as admins have edited it.

Invariants:
- A seeker at high or imminent risk always gets a card with Tele-MANAS 14416 and 112, and
  never a card whose only numbers are unverified (``directory.for_seeker``).
- A referral moves only along ``REFERRAL_LIFECYCLE``; each step is audited with who and when.
- While a referral is neither final nor closed by a supervisor, the volunteer cannot end
  the conversation.
- A conversation has at most one open referral: a second offer (or an urgent one) adds its
  helplines to the open referral and sends the seeker that referral's card again, one card
  per offer, never a second referral to clear.
- An automatic card (``ensure_urgent_referral``) carries only verified entries for the
  seeker's region and language, plus the mandatory Tele-MANAS and 112.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.chat import access as chat_access
from app.chat.access import ConversationView
from app.chat.models import Conversation
from app.db import UnitOfWork
from app.errors import (
    BadRequest,
    Forbidden,
    InvalidRequest,
    InvalidTransition,
    NotFound,
    located,
)
from app.escalation.models import Escalation
from app.escalation.views import UNRESOLVED
from app.identity.models import Role
from app.identity.service import Principal
from app.outbound import frames
from app.referrals.directory import (
    Directory,
    DirectoryError,
    Helpline,
    load_directory,
    parse_directory,
)
from app.referrals.events import ReferralCard, ReferralUpdated, ReferralView
from app.referrals.lifecycle import REFERRAL_LIFECYCLE, ReferralStatus
from app.referrals.models import HelplineEntry, Referral
from app.risk.scoring import RiskLevel
from app.risk.texts import seeker_text

# Peerline serves India; a seeker's region is not asked (nothing that could identify them).
SEEKER_REGION = "IN"
FINAL = tuple(s.value for s in ReferralStatus if s.is_final)
# What ``referral.update`` may ask for besides ``closed``; ``offered`` comes only with an offer.
STEPS = frozenset(s.value for s in ReferralStatus if s is not ReferralStatus.OFFERED)
NEXT_STEP = {
    ReferralStatus.OFFERED: "ask whether the seeker wants to contact the helpline",
    ReferralStatus.ACCEPTED: "help the seeker reach the helpline (warm hand-over)",
    ReferralStatus.HANDED_OVER: "confirm the seeker is in contact with the helpline",
}

log = logging.getLogger(__name__)


# A stored edit that removes the entry (shipped or added), until a ``PUT`` brings it back.
REMOVED = "removed"


async def current_directory(session: AsyncSession, *, saving: str | None = None) -> Directory:
    """The shipped directory with admins' edits laid over it (edits win by id). An edit
    without ``translations`` (saved without them, or before they existed) keeps the shipped
    entry's; ``[]`` means none.

    Seekers' helplines must never fail to show, so a stored edit that today's rules refuse
    (saved before a rule was added) is passed over with a warning and the shipped entry
    stands, and if the edits together still break the directory's own rules the shipped file
    is answered (an error in the log). Edits are checked one by one only when the directory
    they make is refused. ``saving`` (the id of an edit being saved, already valid on its
    own): raise instead of answering the shipped file, so that a save never makes a broken
    directory; a stale edit of another line is passed over as on a read, so it cannot block
    every other save until someone finds it."""
    base = load_directory()
    edits = {e.id: e.entry for e in await session.scalars(select(HelplineEntry))}
    if not edits:
        return base
    shipped = base.model_dump(mode="json")
    try:
        return parse_directory(_laid_over(shipped, edits), source="database")
    except DirectoryError:
        pass
    refused = set()
    for helpline_id, entry in _laid_over_entries(shipped, edits).items():
        if helpline_id not in edits or helpline_id == saving:
            continue
        try:
            Helpline.model_validate(entry)
        except ValidationError:
            log.warning(
                "a stored helpline edit is no longer valid; the shipped entry stands",
                extra={"event": "helpline.edit_invalid", "helpline_id": helpline_id},
            )
            refused.add(helpline_id)
    kept = {i: edit for i, edit in edits.items() if i not in refused}
    try:
        return parse_directory(_laid_over(shipped, kept), source="database")
    except DirectoryError:
        if saving is not None:
            raise
        log.error(
            "the stored helpline edits break the directory; the shipped file is answered",
            extra={"event": "helpline.edits_invalid"},
        )
        return base


def _laid_over_entries(
    shipped: dict[str, Any], edits: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The directory's entries by id, each edit over the shipped one (a removed one gone)."""
    entries = {h["id"]: h for h in shipped["helplines"]}
    for helpline_id, edit in edits.items():
        if edit.get(REMOVED):  # an admin removed it (a line that closed)
            entries.pop(helpline_id, None)
            continue
        original = entries.get(helpline_id)
        if original is not None and "translations" not in edit:
            edit = {**edit, "translations": original["translations"]}
        entries[helpline_id] = edit
    return entries


def _laid_over(shipped: dict[str, Any], edits: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The shipped directory (as JSON) with ``edits`` laid over it."""
    return {**shipped, "helplines": list(_laid_over_entries(shipped, edits).values())}


# What pydantic reports, in strict mode, for a value of the wrong JSON type ("true" or 1 for a
# boolean, 7 for a text): refused with 422, never converted, as in every other body.
_WRONG_TYPE = frozenset(
    {"bool_type", "int_type", "float_type", "string_type", "list_type", "tuple_type"}
    | {"dict_type", "model_type", "model_attributes_type", "int_from_float"}
)


def _validated_entry(entry: dict[str, Any]) -> Helpline:
    """``entry`` as a directory entry, read as the JSON it came as: strictly (no conversion).
    A value of the wrong type: ``422 invalid_request``; any other problem: ``400``. The
    message names the field."""
    try:
        return Helpline.model_validate_json(json.dumps(entry), strict=True)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    wrong = [e for e in errors if e["type"] in _WRONG_TYPE]
    message = located((wrong or errors)[0])
    if wrong:
        raise InvalidRequest(message)
    raise BadRequest(message, code="invalid_request")


async def save_helpline(
    uow: UnitOfWork,
    principal: Principal,
    *,
    entry: dict[str, Any],
    now: datetime,
    action: str = "helpline.saved",
) -> Helpline:
    """Create or replace one entry (admins); the whole directory must stay valid. An entry
    sent without ``translations`` keeps the shipped file's for its id."""
    if principal.role is not Role.admin:
        raise Forbidden("only admins edit the helpline directory")
    line = _validated_entry(entry)
    session = uow.session
    data = line.model_dump(mode="json")
    if "translations" not in entry:  # keeps the shipped entry's (see current_directory)
        del data["translations"]
    await _store_entry(session, principal, line.id, data, now=now)
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action=action,
        detail={"helpline_id": line.id, "verified": line.verified, "verified_on": line.verified_on},
    )
    return line


async def _store_entry(
    session: AsyncSession,
    principal: Principal,
    helpline_id: str,
    entry: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Add or replace the stored edit of ``helpline_id``; the whole directory must stay valid
    (``400 invalid_request`` naming what is wrong otherwise)."""
    row = await session.get(HelplineEntry, helpline_id)
    if row is None:
        session.add(
            HelplineEntry(id=helpline_id, entry=entry, updated_at=now, updated_by=principal.user_id)
        )
    else:
        row.entry, row.updated_at, row.updated_by = entry, now, principal.user_id
    await session.flush()
    try:
        await current_directory(session, saving=helpline_id)
    except ValueError as exc:
        raise BadRequest(str(exc), code="invalid_request") from None


async def remove_helpline(
    uow: UnitOfWork, principal: Principal, *, helpline_id: str, now: datetime
) -> None:
    """An admin removes an entry (the line closed, or its number is no longer theirs): it is
    offered nowhere from now on, and a card or plan that named it shows the rest. Audited
    (``helpline.removed``). A line every seeker at risk must be shown stays."""
    if principal.role is not Role.admin:
        raise Forbidden("only admins edit the helpline directory")
    session = uow.session
    try:
        line = (await current_directory(session)).get(helpline_id)
    except KeyError:
        raise NotFound("no such helpline") from None
    if line.mandatory:
        raise BadRequest(
            f"{helpline_id} stays in the directory: every seeker at high risk is shown it",
            code="invalid_request",
        )
    tombstone = {"id": helpline_id, REMOVED: True}
    await _store_entry(session, principal, helpline_id, tombstone, now=now)
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="helpline.removed",
        detail={"helpline_id": helpline_id},
    )


async def verify_helpline(
    uow: UnitOfWork, principal: Principal, *, helpline_id: str, verified_on: date, now: datetime
) -> Helpline:
    """An admin confirmed the entry's numbers work on ``verified_on`` (audited as
    ``helpline.verified``); the entry is saved as an edit over the shipped file."""
    if principal.role is not Role.admin:
        raise Forbidden("only admins edit the helpline directory")
    if verified_on > now.date():
        raise BadRequest("verified_on cannot be in the future", code="invalid_request")
    try:
        line = (await current_directory(uow.session)).get(helpline_id)
    except KeyError:
        raise NotFound("no such helpline") from None
    entry = {**line.model_dump(mode="json"), "verified_on": verified_on.isoformat()}
    entry["verified"] = True
    saved = await save_helpline(uow, principal, entry=entry, now=now, action="helpline.verified")
    return saved


def card(conversation: ConversationView, referral: Referral, lines: list[Helpline]) -> ReferralCard:
    """The helpline card as the seeker sees it, in their language."""
    language = conversation.language.split("-")[0]
    return ReferralCard(
        conversation_id=conversation.id,
        referral_id=referral.id,
        intro=seeker_text("helpline_card_intro", language),
        emergency=(
            seeker_text("emergency_guidance", language)
            if referral.level == RiskLevel.IMMINENT.value
            else None
        ),
        helplines=tuple(line.render(language) for line in lines),
    )


def referral_view(referral: Referral) -> ReferralView:
    status = ReferralStatus(referral.status)
    return ReferralView(
        referral_id=referral.id,
        conversation_id=referral.conversation_id,
        helpline_ids=tuple(referral.helpline_ids),
        level=referral.level,
        status=referral.status,
        closed_reason=referral.closed_reason,
        created_at=referral.created_at,
        updated_at=referral.updated_at,
        next_step=None if status.is_final or referral.closed_reason else NEXT_STEP[status],
    )


async def _create(
    uow: UnitOfWork,
    principal: Principal,
    conversation: Conversation,
    lines: list[Helpline],
    *,
    level: RiskLevel,
    now: datetime,
) -> Referral:
    referral = Referral(
        conversation_id=conversation.id,
        helpline_ids=[line.id for line in lines],
        level=level.value,
        status=ReferralStatus.OFFERED.value,
        created_at=now,
        created_by=principal.user_id,
        updated_at=now,
        updated_by=principal.user_id,
    )
    uow.session.add(referral)
    await uow.session.flush()
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="referral.offered",
        conversation_id=conversation.id,
        detail={"referral_id": referral.id, "helplines": referral.helpline_ids},
    )
    uow.record(card(conversation, referral, lines))
    uow.record(ReferralUpdated(referral_view(referral), conversation.volunteer_id))
    return referral


async def _extend(
    uow: UnitOfWork,
    principal: Principal,
    referral: Referral,
    conversation: Conversation,
    lines: list[Helpline],
    *,
    level: RiskLevel,
    now: datetime,
) -> Referral:
    """Add ``lines`` to the open ``referral`` (raising its level only) and show its card."""
    added = [line.id for line in lines if line.id not in referral.helpline_ids]
    referral.helpline_ids = [*referral.helpline_ids, *added]
    if level.rank > RiskLevel(referral.level).rank:
        referral.level = level.value
    referral.updated_at, referral.updated_by = now, principal.user_id
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="referral.extended",
        conversation_id=conversation.id,
        detail={"referral_id": referral.id, "added": added, "level": referral.level},
    )
    await uow.session.flush()
    directory = await current_directory(uow.session)
    uow.record(card(conversation, referral, _lines(directory, referral)))
    uow.record(ReferralUpdated(referral_view(referral), conversation.volunteer_id))
    return referral


def _lines(directory: Directory, referral: Referral) -> list[Helpline]:
    """The referral's helplines as the directory has them now (removed entries skipped)."""
    lines = []
    for helpline_id in referral.helpline_ids:
        try:
            lines.append(directory.get(helpline_id))
        except KeyError:
            continue
    return lines


async def offer(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    helpline_ids: list[str],
    now: datetime,
) -> Referral:
    conversation, access = await chat_access.get_for(uow.session, principal, conversation_id)
    if not access.is_staff or not access.can_write:
        raise Forbidden("only the staff talking with the seeker offer helplines")
    directory = await current_directory(uow.session)
    try:
        chosen = [directory.get(h) for h in helpline_ids]
    except KeyError as exc:
        raise BadRequest(f"unknown helpline {exc.args[0]!r}", code="invalid_frame") from None
    level = await _handled_at(uow.session, conversation)
    # Never an unverified number alone; at high risk Tele-MANAS and 112 always.
    safety = directory.for_seeker(level, None, None)
    must = [line for line in safety if line.mandatory or line.verified]
    lines = (
        list(dict.fromkeys([*chosen, *must[:2]]))
        if (level.rank >= RiskLevel.HIGH.rank or not any(line.verified for line in chosen))
        else chosen
    )
    existing = await open_referral(uow.session, conversation.id)
    if existing is not None:
        return await _extend(uow, principal, existing, conversation, lines, level=level, now=now)
    return await _create(uow, principal, conversation, lines, level=level, now=now)


async def _handled_at(session: AsyncSession, conversation: Conversation) -> RiskLevel:
    """The level the chat is handled at: its screened level, or an unresolved escalation's
    when higher. A volunteer who escalates by hand pages at high without a screen; a card
    offered then is a high-risk card (Tele-MANAS and 112), and its referral says high, not
    "no risk found"."""
    levels = await session.scalars(
        select(Escalation.level).where(
            Escalation.conversation_id == conversation.id, Escalation.status.in_(UNRESOLVED)
        )
    )
    return max(
        [RiskLevel(conversation.risk_level), *map(RiskLevel, levels)], key=lambda lv: lv.rank
    )


async def ensure_urgent_referral(
    uow: UnitOfWork,
    principal: Principal,
    conversation: Conversation,
    *,
    level: RiskLevel,
    now: datetime,
) -> None:
    """At high or imminent risk, make sure an open referral carries the automatic lines:
    open one, or add what the open one lacks (its card is shown again only then, or when
    the level rose)."""
    directory = await current_directory(uow.session)
    lines = directory.automatic(level, conversation.language.split("-")[0], SEEKER_REGION)
    existing = await open_referral(uow.session, conversation.id)
    if existing is None:
        await _create(uow, principal, conversation, lines, level=level, now=now)
        return
    missing = any(line.id not in existing.helpline_ids for line in lines)
    if missing or level.rank > RiskLevel(existing.level).rank:
        await _extend(uow, principal, existing, conversation, lines, level=level, now=now)


async def open_referral(session: AsyncSession, conversation_id: str) -> Referral | None:
    """The conversation's open referral (neither final nor closed by a supervisor)."""
    return await session.scalar(
        select(Referral)
        .where(
            Referral.conversation_id == conversation_id,
            Referral.status.not_in(FINAL),
            Referral.closed_reason.is_(None),
        )
        .order_by(Referral.created_at)
        .limit(1)
    )


async def has_open(session: AsyncSession, conversation_id: str) -> bool:
    return await open_referral(session, conversation_id) is not None


async def update(
    uow: UnitOfWork,
    principal: Principal,
    *,
    referral_id: str,
    status: str,
    reason: str | None,
    now: datetime,
) -> Referral:
    """Move a referral a step, or (supervisors, status ``closed``) close it with a reason."""
    # The frame itself first, as every frame is checked before what it names is looked up;
    # a reason is kept trimmed, and one of only white space is none.
    closing = status == "closed"
    reason = reason.strip() if reason is not None else None
    if closing and not reason:
        raise BadRequest("closing a referral needs a reason", code="invalid_frame")
    if not closing and status not in STEPS:
        raise BadRequest(f"unknown referral status {status!r}", code="invalid_frame")
    session = uow.session
    referral = await session.get(Referral, referral_id)
    if referral is None:
        raise NotFound("no such referral")
    if principal.role not in (Role.supervisor, Role.admin):
        _, access = await chat_access.get_for(session, principal, referral.conversation_id)
        if not access.is_staff:
            raise NotFound("no such referral")
    if closing and principal.role not in (Role.supervisor, Role.admin):
        raise Forbidden("only a supervisor closes a referral early")
    # A referral a supervisor closed, or one that reached its end, takes no further step.
    current = ReferralStatus(referral.status)
    if referral.closed_reason is not None:
        raise InvalidTransition("the referral was closed by a supervisor")
    if closing:
        if current.is_final:
            raise InvalidTransition(f"the referral has already ended ({current})")
        referral.closed_reason = reason
    else:
        target = ReferralStatus(status)
        REFERRAL_LIFECYCLE.check(current, target)
        referral.status = target.value
    referral.updated_at, referral.updated_by = now, principal.user_id
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="referral.updated",
        conversation_id=referral.conversation_id,
        detail={"referral_id": referral.id, "status": status, "reason": reason},
    )
    await session.flush()
    conversation = await session.get(Conversation, referral.conversation_id)
    volunteer_id = conversation.volunteer_id if conversation is not None else None
    uow.record(ReferralUpdated(referral_view(referral), volunteer_id))
    return referral


async def cards_for(session: AsyncSession, conversation: ConversationView) -> list[ReferralCard]:
    referrals = list(
        await session.scalars(
            select(Referral)
            .where(Referral.conversation_id == conversation.id)
            .order_by(Referral.created_at)
        )
    )
    if not referrals:
        return []
    directory = await current_directory(session)
    return [card(conversation, r, _lines(directory, r)) for r in referrals]


async def open_view(session: AsyncSession, conversation_id: str) -> list[ReferralView]:
    """The conversation's open referral, for a resuming staff socket (the volunteer's
    console shows its steps again after a reload)."""
    referral = await open_referral(session, conversation_id)
    return [] if referral is None else [referral_view(referral)]


async def open_queue(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(Referral)
        .where(Referral.status.not_in(FINAL), Referral.closed_reason.is_(None))
        .order_by(Referral.created_at)
    )
    return [frames.referral_fields(referral_view(r)) for r in rows]
