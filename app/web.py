"""The web client as the app serves it: light on a slow phone, without a build step.

At start-up ``WebClient`` reads ``web_client/`` once and prepares:

- a **version**: a hash of every file there. Pages refer to their CSS, modules and strings
  under ``/static/v/<version>/…``, answered with a year-long ``immutable`` cache (outside
  development), so a returning seeker downloads nothing but the page itself. The modules'
  own relative imports and string fetches resolve under the same prefix by themselves. A
  page still open from before a deploy asks for an old version: it is sent to the current
  one (307). ``/static/…`` without a version still answers, uncached.
- the **pages**, with ``<link rel="modulepreload">`` for every module the entry module
  imports (so they load in parallel with it, not one round trip after it), and, on a page
  that names a string bundle (``<html data-i18n-bundle="seeker">``), a preload of that
  bundle in the visitor's language (from ``Accept-Language``, the same choice the page makes
  from ``navigator.language``), so the strings arrive with the modules.
- **string bundles**: ``i18n/seeker.<lang>.json`` holds only the keys the seeker page's
  HTML and modules name (found in their text: ``"key"`` literals, and every key under a
  ``\\`prefix.${…}\\``` template), 141 of the 790, each filled from English where the
  language lacks it, so the page loads one small file instead of two large ones. A module
  loaded on demand whose source holds the line ``// i18n: strings on demand`` keeps its own
  keys (those nothing else on the page names) in ``i18n/<bundle>-<module>.<lang>.json``
  instead, fetched by ``loadStrings("<module>")`` (js/i18n.js) when it runs: the first
  screen does not pay for the words of a feature few visitors open.

- **pages without their comments** (``<!-- … -->``, notes for developers, which every visit
  downloaded: a seventh of the seeker's page once compressed).
- **style sheets without their comments**: every ``css/*.css`` is answered under the
  versioned prefix from memory, its ``/* … */`` comments (written for developers) taken out
  and strings kept as they are: a fifth of ``app.css`` once compressed, on the first screen
  (outside development; in development the files as written, so an edit shows at once).
- **scripts without their comment lines**: every ``js/*.js`` likewise, less the comments that
  have their lines to themselves (``// …`` lines, ``/* … */`` blocks that start and end
  lines): a quarter to two fifths of each module once compressed. A comment after code stays.
  A file in which a string could run over a line (a line with an odd number of backticks, or
  ending in a backslash) is answered as written: no line of it is taken for a comment.

HTML and API answers keep ``Cache-Control: no-store`` (``app.main``): a phone that is
shared keeps no copy of a page or of anything said. Compression is ``GZipMiddleware`` in
``app.main``.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from app.errors import NotFound

LANGUAGES = ("en", "hi")
DEFAULT_LANGUAGE = "en"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
# /favicon.ico keeps its one address (browsers ask for it there), so it cannot be immutable:
# a week, like any picture that holds nothing about anyone.
ICON = "favicon.ico"
ICON_CACHE = "public, max-age=604800"
PAGES = {
    "/": "seeker.html",
    "/volunteer": "volunteer.html",
    "/supervisor": "supervisor.html",
    "/admin": "admin.html",
}

_ENTRY = re.compile(r'<script type="module" src="/static/(js/[\w./-]+\.js)"></script>')
_IMPORT = re.compile(r'^\s*(?:import|export)\b[^"\'`;]*?["\'](\./[\w./-]+\.js)["\']', re.M)
# ``import("./x.js")``: a module loaded on demand. Not preloaded, but its strings are in the
# page's bundle.
_DYNAMIC_IMPORT = re.compile(r'\bimport\(\s*["\'](\./[\w./-]+\.js)["\']\s*\)')
_BUNDLE = re.compile(r'<html[^>]*\bdata-i18n-bundle="([\w-]+)"')
_TEMPLATE_KEY = re.compile(r"`([a-z_]+\.)\$\{")
_QUOTES = frozenset("\"'`")
# At each quote, the text up to the next quote (a lookahead, so runs may share a quote).
_QUOTED = re.compile(r"(?=[\"'`]([^\"'`]*)[\"'`])")


# A CSS string or a comment: comments go, strings (which may hold "/*") stay.
_CSS_STRING_OR_COMMENT = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|/\*.*?\*/", re.S)
_BLANK_LINES = re.compile(r"\n\s*\n")


# A page's comments are notes for developers: a comment with its line when it has one to
# itself, else the comment alone.
# The line's comment may not run on past its own end ("-->"): a lazy ".*?" would, to find
# a "-->" that ends a line, and take the markup after the first comment with it.
_HTML_COMMENT_LINE = re.compile(r"^[ \t]*<!--(?:(?!-->).)*-->[ \t]*\n", re.M | re.S)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)


def strip_html_comments(html: str) -> str:
    """``html`` without its ``<!-- … -->`` comments (and the lines they had to themselves)."""
    return _HTML_COMMENT.sub("", _HTML_COMMENT_LINE.sub("", html))


def strip_js_comments(js: str) -> str:
    """``js`` without the comments that have their lines to themselves: ``// …`` lines and
    ``/* … */`` blocks that begin a line and end one. Everything else is kept as written (a
    comment after code, blank lines). ``js`` itself when a string could span lines (a kept
    line with an odd number of backticks or ending in a backslash), or a block ends with code
    after it: there a line that looks like a comment may be a string's."""
    kept: list[str] = []
    in_block = False
    for line in js.splitlines(keepends=True):
        bare = line.strip()
        if in_block:
            if "*/" in bare:
                if not bare.endswith("*/"):
                    return js
                in_block = False
            continue
        if bare.startswith("//"):
            continue
        if bare.startswith("/*"):
            end = bare.find("*/", 2)
            if end == -1:
                in_block = True
                continue
            if end + 2 == len(bare):
                continue
        if line.count("`") % 2 or line.rstrip("\r\n").endswith("\\"):
            return js
        kept.append(line)
    return js if in_block else "".join(kept)


def strip_css_comments(css: str) -> str:
    """``css`` without its comments or the blank lines they leave; strings untouched."""
    bare = _CSS_STRING_OR_COMMENT.sub(lambda m: m.group(1) or "", css)
    return _BLANK_LINES.sub("\n", bare).strip() + "\n"


def _quoted(key: str) -> str:
    return r"[\"'`]" + re.escape(key) + r"[\"'`]"


# In a module loaded on demand: its strings go in a bundle of their own (see above).
ON_DEMAND_STRINGS = "// i18n: strings on demand"


def choose_language(accept_language: str | None) -> str:
    """The page's language by the browser's first choice: Hindi for ``hi``, else English
    (what ``seeker.js`` picks from ``navigator.language`` on a first visit)."""
    first = (accept_language or "").split(",", 1)[0].strip().lower()
    primary = first.split(";", 1)[0].split("-", 1)[0]
    return primary if primary in LANGUAGES else DEFAULT_LANGUAGE


def version_of(directory: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def module_graph(directory: Path, entry: str, *, on_demand: bool = False) -> list[str]:
    """``entry`` (e.g. ``js/seeker.js``) and every module it imports, depth first; with
    ``on_demand`` also the modules loaded by ``import("./x.js")``."""
    seen: list[str] = []

    def visit(name: str) -> None:
        if name in seen:
            return
        seen.append(name)
        source = (directory / name).read_text(encoding="utf-8")
        specs = _IMPORT.findall(source)
        if on_demand:
            specs += _DYNAMIC_IMPORT.findall(source)
        for spec in specs:
            visit((Path(name).parent / spec).as_posix().replace("/./", "/"))

    visit(entry)
    return seen


def keys_named(sources: str, keys: dict[str, str]) -> set[str]:
    """The string keys ``sources`` uses: quoted literals, and whole ``prefix.`` families
    used through a template literal."""
    # Every quoted run in one pass (overlapping: the quote that closes one opens the next),
    # rather than a search of all the sources per key: a server start did 2,300 of those.
    # A key with a quote in it cannot be such a run; it is looked for on its own.
    quoted = set(_QUOTED.findall(sources))
    used = {
        k for k in keys if (k in quoted if not _QUOTES & set(k) else re.search(_quoted(k), sources))
    }
    for prefix in _TEMPLATE_KEY.findall(sources):
        used |= {k for k in keys if k.startswith(prefix)}
    return used


@dataclass
class Page:
    html: str  # with "{lang}" left where the strings' language goes (if it has a bundle)
    bundle: str | None

    def render(self, lang: str) -> bytes:
        html = self.html.replace("{{lang}}", lang)
        if self.bundle is not None:
            html = html.replace('<html lang="en"', f'<html lang="{lang}"', 1)
        return html.encode()


@dataclass
class WebClient:
    directory: Path
    cache_control: str = IMMUTABLE
    version: str = ""
    pages: dict[str, Page] = field(default_factory=dict)
    bundles: dict[str, bytes] = field(default_factory=dict)  # "seeker.hi" -> JSON
    styles: dict[str, bytes] = field(default_factory=dict)  # "css/app.css" -> no comments
    scripts: dict[str, bytes] = field(default_factory=dict)  # "js/ui.js" -> no comment lines
    icon: bytes | None = None  # web_client/favicon.ico, answered at /favicon.ico

    @classmethod
    def load(cls, directory: Path, *, immutable: bool = True) -> WebClient:
        web = cls(directory, IMMUTABLE if immutable else REVALIDATE)
        if not directory.is_dir():
            return web
        web.version = version_of(directory)
        if (directory / ICON).is_file():
            web.icon = (directory / ICON).read_bytes()
        strings = {
            lang: json.loads((directory / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
            for lang in LANGUAGES
        }
        for filename in PAGES.values():
            web.pages[filename] = web._prepare(filename, strings)
        # In development the sheets are served as written, so an edit shows on the next reload.
        for sheet in sorted((directory / "css").glob("*.css")) if immutable else ():
            text = strip_css_comments(sheet.read_text(encoding="utf-8"))
            web.styles[f"css/{sheet.name}"] = text.encode()
        for script in sorted((directory / "js").glob("*.js")) if immutable else ():
            text = strip_js_comments(script.read_text(encoding="utf-8"))
            web.scripts[f"js/{script.name}"] = text.encode()
        return web

    @property
    def prefix(self) -> str:
        return f"/static/v/{self.version}/"

    def _prepare(self, filename: str, strings: dict[str, dict[str, str]]) -> Page:
        html = strip_html_comments((self.directory / filename).read_text(encoding="utf-8"))
        entry = _ENTRY.search(html)
        modules = module_graph(self.directory, entry.group(1)) if entry else []
        bundle_match = _BUNDLE.search(html)
        bundle = bundle_match.group(1) if bundle_match else None
        preloads = [f'<link rel="modulepreload" href="/static/{m}">' for m in modules[1:]]
        if bundle is not None:
            everything = (
                module_graph(self.directory, entry.group(1), on_demand=True) if entry else []
            )
            texts = {m: (self.directory / m).read_text(encoding="utf-8") for m in everything}
            apart = [m for m in everything if m not in modules and ON_DEMAND_STRINGS in texts[m]]
            sources = html + "".join(text for m, text in texts.items() if m not in apart)
            english = strings[DEFAULT_LANGUAGE]
            keys = sorted(keys_named(sources, english))
            parts = {bundle: keys}
            for module in apart:
                own = keys_named(texts[module], english) - set(keys)
                parts[f"{bundle}-{Path(module).stem}"] = sorted(own)
            for name, part_keys in parts.items():
                for lang in LANGUAGES:
                    chosen = {k: strings[lang].get(k, english[k]) for k in part_keys}
                    self.bundles[f"{name}.{lang}"] = json.dumps(
                        chosen, ensure_ascii=False, separators=(",", ":")
                    ).encode()
            preloads.append(
                f'<link rel="preload" href="/static/i18n/{bundle}.{{{{lang}}}}.json" '
                'as="fetch" crossorigin>'
            )
        if entry and preloads:
            html = html.replace(entry.group(0), entry.group(0) + "\n  " + "\n  ".join(preloads))
        html = html.replace('"/static/', '"' + self.prefix)
        return Page(html, bundle)

    # -- answers ------------------------------------------------------------------------

    def page(self, filename: str, request: Request) -> Response:
        page = self.pages.get(filename)
        if page is None:
            raise NotFound("no such page")
        lang = choose_language(request.headers.get("accept-language"))
        headers = {"Vary": "Accept-Language"} if page.bundle else {}
        return Response(page.render(lang), media_type="text/html", headers=headers)

    def bundle(self, name: str, lang: str, cache_control: str | None) -> Response:
        body = self.bundles.get(f"{name}.{lang}")
        if body is None:
            raise NotFound("no such strings")
        headers = {"Cache-Control": cache_control} if cache_control else {}
        return Response(body, media_type="application/json", headers=headers)


class CachedStatic(StaticFiles):
    """Static files answered with a fixed ``Cache-Control`` (the versioned prefix)."""

    def __init__(self, *, directory: Path, cache_control: str) -> None:
        super().__init__(directory=directory)
        self.cache_control = cache_control

    def file_response(self, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(*args, **kwargs)
        response.headers["Cache-Control"] = self.cache_control
        return response

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 304:
            response.headers["Cache-Control"] = self.cache_control
        return response


def mount(app: FastAPI, web: WebClient) -> None:
    """The pages, the string bundles, and ``/static`` with and without the version."""
    for path, filename in PAGES.items():
        app.add_api_route(
            path, _page(web, filename), methods=["GET", "HEAD"], include_in_schema=False
        )
    if not web.version:
        return
    if web.icon is not None:
        # The pages name their icon inline; what names none (the API docs, an answer opened
        # in a tab) makes the browser ask for this one: it was a 404 on every visit.
        app.add_api_route(
            "/" + ICON, _icon(web.icon), methods=["GET", "HEAD"], include_in_schema=False
        )
    for key in web.bundles:
        name, lang = key.split(".")
        for prefix, cache_control in ((web.prefix, web.cache_control), ("/static/", None)):
            app.add_api_route(
                f"{prefix}i18n/{key}.json",
                _bundle(web, name, lang, cache_control),
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )
    for files, media_type in ((web.styles, "text/css"), (web.scripts, "text/javascript")):
        for path, body in files.items():
            app.add_api_route(
                web.prefix + path,
                _prepared(body, media_type, web.cache_control),
                methods=["GET", "HEAD"],
                include_in_schema=False,
            )
    app.mount(
        web.prefix.rstrip("/"),
        CachedStatic(directory=web.directory, cache_control=web.cache_control),
        name="static-versioned",
    )

    @app.api_route(
        "/static/v/{version}/{path:path}", methods=["GET", "HEAD"], include_in_schema=False
    )
    async def other_version(version: str, path: str) -> Response:
        # A page from before a deploy: the same file under the current version.
        return RedirectResponse(web.prefix + path, status_code=307)

    app.mount("/static", StaticFiles(directory=web.directory), name="static")


def _bundle(web: WebClient, name: str, lang: str, cache_control: str | None):  # type: ignore[no-untyped-def]
    async def bundle() -> Response:
        return web.bundle(name, lang, cache_control)

    return bundle


def _icon(body: bytes):  # type: ignore[no-untyped-def]
    async def icon() -> Response:
        return Response(body, media_type="image/x-icon", headers={"Cache-Control": ICON_CACHE})

    return icon


def _prepared(body: bytes, media_type: str, cache_control: str):  # type: ignore[no-untyped-def]
    """A style sheet or module prepared at start-up (its comments taken out), from memory."""

    async def prepared() -> Response:
        return Response(body, media_type=media_type, headers={"Cache-Control": cache_control})

    return prepared


def _page(web: WebClient, filename: str):  # type: ignore[no-untyped-def]
    async def page(request: Request) -> Response:
        return web.page(filename, request)

    return page
