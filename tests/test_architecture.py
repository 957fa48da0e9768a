"""The shape of ``app/``: one way out for frames, no import cycle, no hidden imports.

- Every server frame type in docs/protocol.md is written in ``app/outbound/frames.py``, and
  no other server module writes one (the Python client, ``app/client*``, speaks the other
  side of the protocol and is left out).
- ``app.outbound.frames.FRAMES`` lists exactly the documented server frames.
- Every domain event has an audience in ``app.outbound``.
- The import graph of ``app/`` has no cycle, and no function imports an ``app`` module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re
from pathlib import Path

from app import outbound
from app.outbound import frames
from tests.support import ROOT

APP = ROOT / "app"
DOC = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
OUTBOUND_FRAMES = APP / "outbound" / "frames.py"


def _section(title: str) -> str:
    start = DOC.index(title)
    end = DOC.find("\n#", start + len(title))
    return DOC[start : end if end != -1 else None]


def documented_server_frames() -> set[str]:
    """The first column of both server→client tables, and the direct replies listed under
    Conventions (``oncall.ok`` is documented only there and in the reply column)."""
    types: set[str] = set()
    for title in ("## Server → client frames", "### Server → client"):
        for line in _section(title).splitlines():
            if line.startswith("| `"):
                first_cell = line.split("|")[1]
                types |= set(re.findall(r"`([a-z_.]+)`", first_cell))
    replies = re.search(r"into these direct replies: (.*?)\.\s", _section("## Conventions"), re.S)
    assert replies is not None
    types |= set(re.findall(r"`([a-z_.]+)`", replies.group(1)))
    return types | {"error"}


def server_modules() -> list[Path]:
    return [
        path
        for path in APP.rglob("*.py")
        if not path.relative_to(APP).as_posix().startswith(("client", "migrations"))
    ]


def frame_types_written(path: Path) -> set[str]:
    """Frame types a module writes: ``{"type": "x", ...}`` literals and hand-assembled
    ``'{"type":"x"'`` strings."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "type" and value is not None:
                    found |= {
                        c.value
                        for c in ast.walk(value)
                        if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    }
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            found |= set(re.findall(r'^\{"type":"([a-z_.]+)"', node.value))
    return found


def test_frames_table_lists_exactly_the_documented_server_frames():
    assert set(frames.FRAMES) == documented_server_frames()


def test_every_documented_server_frame_is_written_in_outbound_and_nowhere_else():
    documented = documented_server_frames()
    assert documented - frame_types_written(OUTBOUND_FRAMES) == set()
    elsewhere = {
        path.relative_to(ROOT).as_posix(): written & documented
        for path in server_modules()
        if path != OUTBOUND_FRAMES and (written := frame_types_written(path)) & documented
    }
    assert elsewhere == {}


def test_every_domain_event_has_an_audience():
    events = []
    for path in APP.glob("*/events.py"):
        module = importlib.import_module(".".join(path.relative_to(ROOT).with_suffix("").parts))
        events += [
            value
            for value in vars(module).values()
            if isinstance(value, type)
            and dataclasses.is_dataclass(value)
            and value.__module__ == module.__name__
            and not value.__name__.endswith(("View", "Progress"))  # parts of events, replies
        ]
    assert events
    assert [e.__qualname__ for e in events if e not in outbound.AUDIENCES] == []


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> tuple[set[str], list[str]]:
    """(app modules imported at run time, those imported inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules = {_module_name(p) for p in APP.rglob("*.py")}
    imported: set[str] = set()
    in_functions: list[str] = []

    def targets(node: ast.Import | ast.ImportFrom) -> set[str]:
        if isinstance(node, ast.Import):
            return {alias.name for alias in node.names}
        base = node.module or ""
        return {f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names}

    def visit(node: ast.AST, *, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue  # annotations only: never imported at run time
            if isinstance(child, ast.Import | ast.ImportFrom):
                names = {t for t in targets(child) if t == "app" or t.startswith("app.")}
                imported.update(names)
                if in_function:
                    in_functions.extend(sorted(names))
            nested = isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, in_function=in_function or nested)

    visit(tree, in_function=False)
    return imported, in_functions


def test_no_function_imports_an_app_module():
    hidden = {}
    for path in APP.rglob("*.py"):
        _, in_functions = _imports(path)
        if in_functions:
            hidden[path.relative_to(ROOT).as_posix()] = in_functions
    assert hidden == {}


def test_the_import_graph_of_app_has_no_cycle():
    graph = {_module_name(path): _imports(path)[0] for path in APP.rglob("*.py")}
    state: dict[str, str] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if target not in graph or target == module:
                continue
            if state.get(target) == "open":
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert cycles == []
