"""Going back in the checklist over a real socket: a changed answer replaces the old one,
drops the questions it no longer asks, renumbers honestly and is audited with what it replaced.
On SQLite and on PostgreSQL."""

from __future__ import annotations

import json

from tests.conftest import Backend, StaffFactory
from tests.escalation.test_escalation_ws import audit_actions
from tests.support import Server, paired


async def test_changing_an_earlier_answer_is_kept_renumbered_and_audited(
    server: Server, staff: StaffFactory, backend: Backend
):
    s, v, cid, _ = await paired(server, staff)
    await v.send({"type": "risk.start", "conversation_id": cid})
    first = await v.recv("risk.checklist")
    assert (first["position"], first["about_total"], first["answered"]) == (1, 4, [])
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "yes"})
    after_yes = await v.recv("risk.checklist")
    assert after_yes["position"] == 2 and after_yes["about_total"] > 4
    assert [(a["item_id"], a["value"]) for a in after_yes["answered"]] == [("asq1", "yes")]

    # Back: the volunteer misheard; asq1 was a no.
    await v.send({"type": "risk.answer", "conversation_id": cid, "item_id": "asq1", "value": "no"})
    corrected = await v.recv("risk.checklist")
    assert corrected["answers"] == {"asq1": "no"}
    assert (corrected["position"], corrected["about_total"]) == (2, 4)
    assert corrected["item"]["item_id"] == "asq2"

    changes = [
        json.loads(a["detail"]) if isinstance(a["detail"], str) else a["detail"]
        for a in await audit_actions(backend.database_url, "risk.answer")
        if a["conversation_id"] == cid
    ]
    assert [(c["item_id"], c["value"], c.get("previous")) for c in changes] == [
        ("asq1", "yes", None),
        ("asq1", "no", "yes"),
    ]
