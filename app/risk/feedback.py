"""Learning in service: staff marks on the cue detector, reviewed by supervisors.

A volunteer (or a joined supervisor) marks a seeker message from the risk panel: ``missed``
("this worried me": no cue flagged it) or ``not_risk`` (a cue flagged it wrongly). A
supervisor reviews each mark (``agree`` or ``disagree``) and may turn an agreed mark into a
de-identified paraphrase for the candidate corpus (``bench/data/LABELLING.md``).

Invariants:
- A mark holds no text. The review list joins the message itself, so a mark leaves the list
  when retention deletes the message's text, and retention sets an unfinished mark
  ``expired``: marks are reviewed within the retention window only (counts stay, they hold
  no text).
- A paraphrase is never the seeker's words: one too close to the message is refused
  (``paraphrase_too_close``).
- Marks change nothing about the conversation: no level, no flag, no priority.
- Every mark, review, paraphrase and review-list read is audited.
"""

from __future__ import annotations

from datetime import datetime
from difflib import SequenceMatcher
from enum import StrEnum
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import audit
from app.audit import AuditEvent
from app.chat import access as chat_access
from app.chat.models import Conversation, Message
from app.db import UnitOfWork
from app.errors import BadRequest, Conflict, Forbidden, InvalidTransition, NotFound
from app.identity.models import Role
from app.identity.service import Principal
from app.risk.cues import normalise
from app.risk.cues.lists import load_catalogue
from app.risk.events import CueMarked
from app.risk.models import CueCandidate, CueMark

TOO_CLOSE = 0.8
"""A paraphrase whose normalised text is this similar to the message's (difflib ratio), or
contains it, is refused: it would carry the seeker's words into the corpus."""
FORMS = ("en", "hi", "hinglish")


class MarkKind(StrEnum):
    MISSED = "missed"
    NOT_RISK = "not_risk"


class Verdict(StrEnum):
    AGREE = "agree"
    DISAGREE = "disagree"


class MarkStatus(StrEnum):
    OPEN = "open"
    REVIEWED = "reviewed"
    PARAPHRASED = "paraphrased"
    EXPIRED = "expired"  # retention deleted the message before it was paraphrased


def _family(ref: str) -> str:
    """``en/passive_wish#3`` → ``passive_wish``; ``learned/v1`` → ``learned``."""
    if ref.startswith("learned"):
        return "learned"
    head = ref.split("#", 1)[0]
    return head.split("/", 1)[1] if "/" in head else head


def flag_families(detail: dict[str, Any]) -> list[str]:
    """The lexicon families of a ``risk.cue`` record: its own ``families`` field when it has
    one, else read from its pattern references (records written before that field)."""
    recorded = detail.get("families")
    if recorded:
        return sorted({str(family) for family in recorded})
    return sorted({_family(ref) for ref in detail.get("patterns", [])})


def mark_families(mark: CueMark) -> list[str]:
    """The families a ``not_risk`` mark counts under (none for a ``missed`` mark)."""
    return list(mark.families) or sorted({_family(ref) for ref in mark.patterns})


def marked(mark: CueMark) -> CueMarked:
    return CueMarked(
        mark.conversation_id,
        mark.seq,
        mark.id,
        mark.kind,
        families=tuple(mark_families(mark)),
        patterns=tuple(mark.patterns),
    )


async def _flag_of(session: AsyncSession, conversation_id: str, seq: int) -> dict | None:
    """The ``risk.cue`` audit detail of a message, if a cue flagged it."""
    events = await session.scalars(
        select(AuditEvent).where(
            AuditEvent.conversation_id == conversation_id, AuditEvent.action == "risk.cue"
        )
    )
    for event in events:
        if event.detail.get("seq") == seq:
            return dict(event.detail)
    return None


async def mark(
    uow: UnitOfWork,
    principal: Principal,
    *,
    conversation_id: str,
    seq: int,
    kind: MarkKind,
    now: datetime,
) -> tuple[CueMark, bool]:
    """Record a mark on a seeker message: (the mark, whether it is new).

    Marking the same message the same way again returns the first mark (``False``): the
    caller answers the sender, since the conversation's staff were told the first time.
    Raises ``invalid_mark`` for a message that is not a seeker's, ``not_risk`` on an
    unflagged message, or ``missed`` on a flagged one."""
    session = uow.session
    _conversation, access = await chat_access.get_for(session, principal, conversation_id)
    if not access.is_staff:
        raise Forbidden("only staff mark cues")
    message = await session.scalar(
        select(Message).where(Message.conversation_id == conversation_id, Message.seq == seq)
    )
    if message is None or message.sender_role != Role.seeker.value:
        raise BadRequest("only a seeker's message can be marked", code="invalid_mark")
    existing = await session.scalar(
        select(CueMark).where(
            CueMark.conversation_id == conversation_id, CueMark.seq == seq, CueMark.kind == kind
        )
    )
    if existing is not None:
        return existing, False
    flag = await _flag_of(session, conversation_id, seq)
    if kind is MarkKind.NOT_RISK and flag is None:
        raise BadRequest("no cue flagged this message", code="invalid_mark")
    if kind is MarkKind.MISSED and flag is not None:
        raise BadRequest("a cue already flagged this message", code="invalid_mark")
    row = CueMark(
        conversation_id=conversation_id,
        seq=seq,
        kind=kind.value,
        cue_class=flag["cue_class"] if flag else None,
        patterns=list(flag["patterns"]) if flag else [],
        families=flag_families(flag) if flag else [],
        marked_by=principal.user_id,
        marked_role=access.role.value,
        marked_at=now,
        status=MarkStatus.OPEN.value,
    )
    session.add(row)
    await session.flush()
    audit.record(
        session,
        actor_id=principal.user_id,
        actor_role=access.role.value,
        action="risk.cue_mark",
        conversation_id=conversation_id,
        detail={"mark_id": row.id, "seq": seq, "kind": kind.value, "patterns": row.patterns},
    )
    uow.record(marked(row))
    return row, True


async def marks(session: AsyncSession, conversation_id: str) -> list[CueMarked]:
    """For staff resuming a conversation: its marks so far."""
    rows = await session.scalars(
        select(CueMark).where(CueMark.conversation_id == conversation_id).order_by(CueMark.seq)
    )
    return [marked(row) for row in rows]


def _view(row: CueMark, text: str | None = None, language: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "mark_id": row.id,
        "conversation_id": row.conversation_id,
        "seq": row.seq,
        "kind": row.kind,
        "cue_class": row.cue_class,
        "patterns": row.patterns,
        "families": mark_families(row),
        "marked_role": row.marked_role,
        "marked_at": row.marked_at,
        "status": row.status,
        "verdict": row.verdict,
        "reviewed_at": row.reviewed_at,
    }
    if text is not None:
        view["text"] = text
        view["language"] = language
    return view


async def review_list(
    uow: UnitOfWork, principal: Principal, *, status: MarkStatus | None, now: datetime
) -> list[dict[str, Any]]:
    """Marks whose message is still kept (the retention window), oldest first, with the
    message's text for the reviewer. The read is audited."""
    query = (
        select(CueMark, Message.text, Conversation.language)
        .join(
            Message,
            and_(Message.conversation_id == CueMark.conversation_id, Message.seq == CueMark.seq),
        )
        .join(Conversation, Conversation.id == CueMark.conversation_id)
        .order_by(CueMark.marked_at, CueMark.id)
    )
    if status is not None:
        query = query.where(CueMark.status == status.value)
    rows = (await uow.session.execute(query)).all()
    # One audit entry per conversation whose words were shown (so the read is found by
    # conversation, like a transcript read), or one without a conversation when none were.
    marks_by_conversation: dict[str | None, list[str]] = {}
    for row, _text, _language in rows:
        marks_by_conversation.setdefault(row.conversation_id, []).append(row.id)
    for conversation_id, marks in (marks_by_conversation or {None: []}).items():
        audit.record(
            uow.session,
            actor_id=principal.user_id,
            actor_role=principal.role.value,
            action="risk.cue_marks_read",
            conversation_id=conversation_id,
            detail={"marks": marks},
        )
    return [_view(row, text, language) for row, text, language in rows]


async def _kept(session: AsyncSession, mark_id: str) -> tuple[CueMark, Message]:
    found = (
        await session.execute(
            select(CueMark, Message)
            .join(
                Message,
                and_(
                    Message.conversation_id == CueMark.conversation_id,
                    Message.seq == CueMark.seq,
                ),
            )
            .where(CueMark.id == mark_id)
        )
    ).first()
    if found is None:  # unknown, or past the retention window
        raise NotFound("no such mark within the retention window")
    return found[0], found[1]


async def review(
    uow: UnitOfWork, principal: Principal, *, mark_id: str, verdict: Verdict, now: datetime
) -> dict[str, Any]:
    """open → reviewed, with the supervisor's verdict."""
    row, _message = await _kept(uow.session, mark_id)
    if row.status != MarkStatus.OPEN.value:
        raise InvalidTransition(f"the mark is {row.status}, expected open")
    row.status = MarkStatus.REVIEWED.value
    row.verdict = verdict.value
    row.reviewed_by = principal.user_id
    row.reviewed_at = now
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="risk.cue_mark_review",
        conversation_id=row.conversation_id,
        detail={"mark_id": row.id, "verdict": verdict.value},
    )
    return _view(row)


def too_close(paraphrase: str, original: str) -> bool:
    a, b = normalise(paraphrase), normalise(original)
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    return SequenceMatcher(None, a, b, autojunk=False).ratio() >= TOO_CLOSE


async def paraphrase(
    uow: UnitOfWork,
    principal: Principal,
    *,
    mark_id: str,
    text: str,
    family: str,
    form: str,
    now: datetime,
) -> dict[str, Any]:
    """reviewed (agree) → paraphrased: store a de-identified paraphrase as a candidate row.
    The label follows the mark: ``missed`` → risk, ``not_risk`` → none."""
    row, message = await _kept(uow.session, mark_id)
    if row.status != MarkStatus.REVIEWED.value or row.verdict != Verdict.AGREE.value:
        raise Conflict("only a mark reviewed with 'agree' becomes a candidate", code="not_reviewed")
    if family not in load_catalogue():
        raise BadRequest(f"unknown cue family {family!r}", code="unknown_family")
    if form not in FORMS:
        raise BadRequest(f"form must be one of {', '.join(FORMS)}", code="invalid_frame")
    if too_close(text, message.text):
        raise BadRequest(
            "write a paraphrase in your own words, not the seeker's", code="paraphrase_too_close"
        )
    candidate = CueCandidate(
        mark_id=row.id,
        text=text.strip(),
        label="risk" if row.kind == MarkKind.MISSED.value else "none",
        family=family,
        form=form,
        created_by=principal.user_id,
        created_at=now,
    )
    uow.session.add(candidate)
    row.status = MarkStatus.PARAPHRASED.value
    await uow.session.flush()
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="risk.cue_paraphrase",
        conversation_id=row.conversation_id,
        detail={"mark_id": row.id, "candidate_id": candidate.id, "family": family, "form": form},
    )
    return candidate_view(candidate)


def candidate_view(candidate: CueCandidate) -> dict[str, Any]:
    """A candidate as a corpus row (``bench/data/cue_corpus.jsonl``'s fields)."""
    families = load_catalogue()
    risk = candidate.label == "risk"
    return {
        "id": f"s-{candidate.id}",
        "text": candidate.text,
        "label": candidate.label,
        "cue_class": families[candidate.family].cue_class.value if risk else None,
        "family": candidate.family,
        "form": candidate.form,
        "kind": "" if risk else "everyday",
        "group": f"s-{candidate.id}",
        "provenance": "unseen",
        "split": "candidate",
        "origin": "service",
    }


async def candidates(session: AsyncSession) -> list[dict[str, Any]]:
    rows = await session.scalars(
        select(CueCandidate).order_by(CueCandidate.created_at, CueCandidate.id)
    )
    return [candidate_view(row) for row in rows]


async def export_candidates(uow: UnitOfWork, principal: Principal) -> list[dict[str, Any]]:
    """Every candidate as a corpus row, for a clinical lead to review before any enters
    ``bench/data/cue_corpus.jsonl``. The export is audited (``risk.cue_candidates_export``)."""
    rows = await candidates(uow.session)
    audit.record(
        uow.session,
        actor_id=principal.user_id,
        actor_role=principal.role.value,
        action="risk.cue_candidates_export",
        detail={"candidates": len(rows)},
    )
    return rows


async def counts(session: AsyncSession, *, since: datetime) -> dict[str, Any]:
    """Flags, ``not_risk`` and ``missed`` marks since ``since``, per family and per pattern.
    A ``missed`` mark counts under its paraphrase's family, else under ``unassigned``.
    ``open_marks`` is every mark still waiting for review, whenever it was made: one made
    before ``since`` (yesterday, for the overview) still needs a supervisor."""
    families: dict[str, dict[str, int]] = {}
    patterns: dict[str, dict[str, int]] = {}

    def bump(table: dict[str, dict[str, int]], key: str, what: str) -> None:
        cell = table.setdefault(key, {"flags": 0, "not_risk": 0, "missed": 0})
        cell[what] += 1

    flags = await session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "risk.cue", AuditEvent.at >= since)
    )
    for detail in flags:
        for family in flag_families(detail):
            bump(families, family, "flags")
        for ref in detail.get("patterns", []):
            bump(patterns, ref, "flags")
    marks = (
        await session.execute(
            select(CueMark, CueCandidate.family)
            .outerjoin(CueCandidate, CueCandidate.mark_id == CueMark.id)
            .where(CueMark.marked_at >= since)
        )
    ).all()
    for row, candidate_family in marks:
        if row.kind == MarkKind.MISSED.value:
            bump(families, candidate_family or "unassigned", "missed")
            continue
        for family in mark_families(row):
            bump(families, family, "not_risk")
        for ref in row.patterns:
            bump(patterns, ref, "not_risk")
    open_marks = await session.scalar(
        select(func.count()).select_from(CueMark).where(CueMark.status == MarkStatus.OPEN.value)
    )
    return {"families": families, "patterns": patterns, "open_marks": open_marks or 0}
