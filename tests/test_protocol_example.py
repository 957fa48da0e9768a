"""docs/protocol.md's example session is a real transcript: this test replays it against the
real server, step by step, and checks every line of it.

How the example is read (the document says the same, briefly):
- Two columns: the seeker's from the left margin, the volunteer's from column 49.
- ``POST /path {json}`` is a request, ``← 201 {json}`` its answer; ``WS → {json}`` a frame the
  client sends; ``← {json}`` the next frame that client's socket receives: the very next,
  none skipped, so every frame the server sends to either side is in the example.
- A frame ends with ``…`` when it has more fields than shown; without it, the fields shown
  are all the frame has. A string ``"sk_…"`` stands for a value starting with ``sk_``, and
  ``"…"`` for any value. Ids and aliases (``"c1"``, ``"Quiet Otter"``) stand for whatever
  the server chose: the first sighting names it, and every later one must be the same value.
  Everything else (numbers, booleans, null, other strings) is what the server sends.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tests.conftest import Fresh
from tests.support import ROOT, run_cli

VOLUNTEER_COLUMN = 49
BOUND_KEYS = {"conversation_id", "user_id", "seeker_id", "alias", "peer_alias"}
ANY = "…"


@dataclass
class Step:
    who: str  # "seeker" or "volunteer"
    kind: str  # "http", "response", "send", "receive"
    text: str
    line: int


def example_session() -> str:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    section = doc.split("## Example session", 1)[1]
    return re.search(r"```text\n(.*?)```", section, re.S).group(1)  # type: ignore[union-attr]


def parse(example: str) -> list[Step]:
    steps: list[Step] = []
    last: dict[str, Step] = {}
    for number, raw in enumerate(example.splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip())
        who = "volunteer" if indent >= VOLUNTEER_COLUMN else "seeker"
        text = raw.strip()
        if text.startswith(("POST ", "GET ")):
            kind = "http"
        elif text.startswith("WS →"):
            kind, text = "send", text.removeprefix("WS →").strip()
        elif text.startswith("←"):
            text = text.removeprefix("←").strip()
            kind = "response" if text[:3].isdigit() else "receive"
        else:  # a frame continued on the next line
            last[who].text += " " + text
            continue
        step = Step(who, kind, text, number)
        steps.append(step)
        last[who] = step
    return steps


def loads(text: str) -> tuple[dict[str, Any], bool]:
    """The JSON shown, and whether it ends with … (more fields than shown)."""
    partial = bool(re.search(r",?\s*…\s*}\s*$", text))
    text = re.sub(r",?\s*…\s*}\s*$", "}", text)
    return json.loads(text), partial


class Replay:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.names: dict[str, Any] = {}  # placeholder as written -> the server's value
        self.sockets: dict[str, ClientConnection] = {}
        self.last_response: dict[str, httpx.Response] = {}

    def substitute(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, str) and value in self.names:
            return self.names[value]
        return value

    def match(self, expected: Any, actual: Any, where: str, *, partial: bool = False) -> None:
        if isinstance(expected, dict):
            assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
            missing = set(expected) - set(actual)
            assert not missing, f"{where}: the server sent no {sorted(missing)} in {actual}"
            if not partial:
                extra = set(actual) - set(expected)
                assert not extra, f"{where}: the server also sent {sorted(extra)} (add …?)"
            for key, value in expected.items():
                if key in BOUND_KEYS and isinstance(value, str) and ANY not in value:
                    self.bind(value, actual[key], f"{where}.{key}")
                else:
                    self.match(value, actual[key], f"{where}.{key}")
            return
        if isinstance(expected, list):
            assert isinstance(actual, list) and len(actual) == len(expected), (
                f"{where}: expected {len(expected)} items, got {actual!r}"
            )
            for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
                self.match(e, a, f"{where}[{i}]")
            return
        if isinstance(expected, str) and ANY in expected:
            if expected != ANY:
                assert isinstance(actual, str), f"{where}: {actual!r}"
                assert actual.startswith(expected.split(ANY)[0]), f"{where}: {actual!r}"
                self.bind(expected, actual, where)
            return
        assert actual == expected, f"{where}: the server sent {actual!r}, the example {expected!r}"

    def bind(self, name: str, value: Any, where: str) -> None:
        if name in self.names:
            assert self.names[name] == value, (
                f"{where}: {name} was {self.names[name]!r}, now {value!r}"
            )
        else:
            assert value not in self.names.values(), f"{where}: {value!r} has another name"
            self.names[name] = value

    async def run(self, step: Step) -> None:
        where = f"protocol.md example line {step.line} ({step.who})"
        if step.kind == "http":
            method, path, *body = step.text.split(" ", 2)
            payload = self.substitute(loads(body[0])[0]) if body else None
            async with httpx.AsyncClient(base_url=self.base_url) as http:
                self.last_response[step.who] = await http.request(method, path, json=payload)
        elif step.kind == "response":
            status, body = step.text.split(" ", 1)
            response = self.last_response.pop(step.who)
            assert response.status_code == int(status), f"{where}: {response.text}"
            expected, partial = loads(body)
            self.match(expected, response.json(), where, partial=partial)
        elif step.kind == "send":
            frame = self.substitute(loads(step.text)[0])
            if step.who not in self.sockets:
                self.sockets[step.who] = await connect(
                    self.base_url.replace("http", "ws", 1) + "/ws", compression=None
                )
            await self.sockets[step.who].send(json.dumps(frame))
        else:
            try:
                raw = await asyncio.wait_for(self.sockets[step.who].recv(), timeout=10)
            except TimeoutError:
                raise AssertionError(f"{where}: no frame came; expected {step.text}") from None
            expected, partial = loads(step.text)
            self.match(expected, json.loads(raw), where, partial=partial)

    async def rest(self, quiet_s: float) -> dict[str, list[Any]]:
        """Frames that came after the example's last line, until each socket was quiet."""
        rest: dict[str, list[Any]] = {}
        for who, socket in self.sockets.items():
            while True:
                try:
                    raw = await asyncio.wait_for(socket.recv(), timeout=quiet_s)
                except TimeoutError:
                    break
                rest.setdefault(who, []).append(json.loads(raw))
        return rest

    async def close(self) -> None:
        for socket in self.sockets.values():
            await socket.close()


def test_the_example_is_read_as_documented():
    steps = parse(example_session())
    assert {s.who for s in steps} == {"seeker", "volunteer"}
    assert {s.kind for s in steps} == {"http", "response", "send", "receive"}
    for step in steps:
        if step.kind != "http":
            body = step.text.split(" ", 1)[1] if step.kind == "response" else step.text
            loads(body)  # every frame is JSON once … is read


async def test_the_example_session_is_what_the_server_sends(fresh: Fresh):
    run_cli(
        ["create-user", "--role", "volunteer", "--username", "volunteer1", "--languages", "en",
         "--trained"],
        fresh.server.env,
        "correct horse battery\n",
    )  # fmt: skip
    replay = Replay(fresh.server.base_url)
    try:
        for step in parse(example_session()):
            await replay.run(step)
        # Nothing the server sent is missing from the example (queue broadcasts, the
        # slowest, come within QUEUE_BROADCAST_DEBOUNCE_S, 0.05 s in tests).
        assert await replay.rest(quiet_s=1.0) == {}
    finally:
        await replay.close()
