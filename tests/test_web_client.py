"""How the app prepares the web client (app/web.py): versions, module preloads, the seeker's
string bundles and the language a page preloads."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from app.web import LANGUAGES, WebClient, choose_language, keys_named, module_graph, version_of
from tests.support import ROOT

WEB = ROOT / "web_client"


def test_the_language_follows_the_browsers_first_choice():
    assert choose_language("hi-IN,hi;q=0.9,en;q=0.8") == "hi"
    assert choose_language("HI") == "hi"
    assert choose_language("en-GB,hi;q=0.9") == "en"
    assert choose_language("ta-IN") == "en"
    assert choose_language(None) == "en"
    assert choose_language("") == "en"


def test_the_seeker_page_preloads_every_module_it_imports():
    assert module_graph(WEB, "js/seeker.js") == [
        "js/seeker.js",
        "js/protocol.js",
        "js/i18n.js",
        "js/ui.js",
    ]
    # The safety plan is loaded on demand: not preloaded, but its strings are in the bundle.
    assert "js/safetyplan.js" in module_graph(WEB, "js/seeker.js", on_demand=True)
    web = WebClient.load(WEB)
    html = web.pages["seeker.html"].render("en").decode()
    for module in ("protocol", "i18n", "ui"):
        assert f'<link rel="modulepreload" href="{web.prefix}js/{module}.js">' in html
    assert "safetyplan.js" not in html
    assert f'href="{web.prefix}i18n/seeker.en.json" as="fetch" crossorigin' in html
    assert not re.search(r'"/static/(?!v/)', html)  # every asset is versioned


def test_the_seeker_bundle_holds_every_key_the_seeker_page_names_and_no_staff_key():
    web = WebClient.load(WEB)
    english = json.loads((WEB / "i18n" / "en.json").read_text(encoding="utf-8"))
    hindi = json.loads((WEB / "i18n" / "hi.json").read_text(encoding="utf-8"))
    bundle = {lang: json.loads(web.bundles[f"seeker.{lang}"]) for lang in LANGUAGES}
    assert set(bundle["en"]) == set(bundle["hi"]) < set(english)
    html = (WEB / "seeker.html").read_text(encoding="utf-8")
    named = set(re.findall(r'data-i18n(?:-placeholder|-aria-label|-title)?="([\w.]+)"', html))
    assert named <= set(bundle["en"])
    seeker_js = (WEB / "js" / "seeker.js").read_text(encoding="utf-8")
    called = set(re.findall(r'\bt\("([\w.]+)"', seeker_js))
    assert called and called <= set(bundle["en"])
    plan_js = (WEB / "js" / "safetyplan.js").read_text(encoding="utf-8")
    assert set(re.findall(r'\bt\("([\w.]+)"', plan_js)) <= set(bundle["en"])
    assert {k for k in english if k.startswith("contact.")} <= set(bundle["en"])  # `contact.${…}`
    assert not [k for k in bundle["en"] if k.startswith(("sup.", "vol.", "overview.", "login."))]
    assert all(bundle["hi"][k] == hindi[k] for k in bundle["hi"])
    assert len(web.bundles["seeker.en"]) < len(json.dumps(english, ensure_ascii=False)) / 2


def test_a_missing_hindi_string_is_filled_from_english_and_any_change_moves_the_version(
    tmp_path: Path,
):
    copy = tmp_path / "web_client"
    shutil.copytree(WEB, copy)
    before = version_of(copy)
    hindi_file = copy / "i18n" / "hi.json"
    hindi = json.loads(hindi_file.read_text(encoding="utf-8"))
    del hindi["start.button"]
    hindi_file.write_text(json.dumps(hindi, ensure_ascii=False), encoding="utf-8")
    assert version_of(copy) != before
    web = WebClient.load(copy)
    english = json.loads((copy / "i18n" / "en.json").read_text(encoding="utf-8"))
    assert json.loads(web.bundles["seeker.hi"])["start.button"] == english["start.button"]


def test_keys_named_finds_literals_and_template_families():
    keys = {"a.one": "", "a.two": "", "b.one": "", "c.x": "", "c.y": ""}
    assert keys_named("t(\"a.one\"); bind(el, 'b.one'); t(`c.${kind}`)", keys) == {
        "a.one",
        "b.one",
        "c.x",
        "c.y",
    }


def test_the_emergency_share_brings_its_own_strings_and_costs_the_first_load_nothing():
    web = WebClient.load(WEB)
    english = json.loads((WEB / "i18n" / "en.json").read_text(encoding="utf-8"))
    hindi = json.loads((WEB / "i18n" / "hi.json").read_text(encoding="utf-8"))
    share_keys = {k for k in english if k.startswith("share.")}
    assert share_keys and share_keys <= set(hindi)
    share = {lang: json.loads(web.bundles[f"seeker-emergencyshare.{lang}"]) for lang in LANGUAGES}
    assert set(share["en"]) == share_keys == set(share["hi"])
    assert all(share["hi"][k] == hindi[k] for k in share_keys)
    assert not share_keys & set(json.loads(web.bundles["seeker.en"]))
    assert "js/emergencyshare.js" in module_graph(WEB, "js/seeker.js", on_demand=True)
    assert "emergencyshare.js" not in web.pages["seeker.html"].render("en").decode()


def test_a_module_marked_strings_on_demand_brings_its_own_bundle():
    web = WebClient.load(WEB)
    returncode_js = (WEB / "js" / "returncode.js").read_text(encoding="utf-8")
    assert "// i18n: strings on demand" in returncode_js
    own = {k for k in re.findall(r'"(returncode\.[\w.]+)"', returncode_js)}
    for lang in LANGUAGES:
        page = json.loads(web.bundles[f"seeker.{lang}"])
        part = json.loads(web.bundles[f"seeker-returncode.{lang}"])
        # The welcome screen's one button is the page's; the rest waits for the module.
        assert [k for k in page if k.startswith("returncode.")] == ["returncode.have_code"]
        assert own - {"returncode.have_code"} <= set(part)
        assert not set(part) & set(page)
        assert "plan.title" in page  # named by the page (safetyplan.js) too: not repeated


def test_a_file_of_an_old_version_is_redirected_for_head_as_for_get():
    """README, Caching: a page open across a deploy asks for an old version and is redirected
    to the current one, whichever method it asks with (a HEAD got 404 from /static)."""
    import asyncio

    import httpx
    from fastapi import FastAPI

    from app.web import mount

    web = WebClient.load(WEB)
    app = FastAPI()
    mount(app, web)

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for method in ("GET", "HEAD"):
                old = await client.request(method, "/static/v/000000000000/js/ui.js")
                assert old.status_code == 307, method
                assert old.headers["location"] == f"{web.prefix}js/ui.js"
                current = await client.request(method, old.headers["location"])
                assert current.status_code == 200, method

    asyncio.run(ask())


def test_style_sheets_are_served_without_their_comments_and_strings_kept():
    """README, Light on a slow phone: the comments in app.css are for developers, not for a
    seeker's first load; a string that holds "/*" is not a comment."""
    import asyncio

    import httpx
    from fastapi import FastAPI

    from app.web import mount, strip_css_comments

    assert strip_css_comments('/* a */\na { content: "/* keep */"; }\n\n/* b\n c */\nb{}\n') == (
        'a { content: "/* keep */"; }\nb{}\n'
    )
    web = WebClient.load(WEB)
    app = FastAPI()
    mount(app, web)
    source = (WEB / "css" / "app.css").read_text(encoding="utf-8")
    assert "/*" in source

    async def ask() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            served = await client.get(f"{web.prefix}css/app.css")
            assert served.status_code == 200
            assert served.headers["content-type"].startswith("text/css")
            assert served.headers["cache-control"] == web.cache_control
            assert "/*" not in served.text and len(served.text) < len(source) * 0.9
            # Every rule is still there: the same declarations, comments aside.
            assert served.text.count("{") == strip_css_comments(source).count("{")
            assert "data:image/svg+xml" in served.text
            # Unversioned, the file is as written (uncached, for a developer).
            assert (await client.get("/static/css/app.css")).text == source

    asyncio.run(ask())
    # In development the sheet is the file as written, so an edit shows on the next reload.
    assert WebClient.load(WEB, immutable=False).styles == {}


def test_strip_js_comments_takes_only_lines_that_are_comments():
    from app.web import strip_js_comments

    source = (
        "// a note\n"
        "/** A block\n * over lines.\n */\n"
        "const a = 1; // kept: after code\n"
        "  /* one line */\n"
        "/* before code */ const b = '// not a comment';\n"
        "\n"
        "const c = `x ${a}`;\n"
    )
    assert strip_js_comments(source) == (
        "const a = 1; // kept: after code\n"
        "/* before code */ const b = '// not a comment';\n"
        "\n"
        "const c = `x ${a}`;\n"
    )
    # Where a string could run over lines, nothing is taken for a comment.
    for spans in (
        "const t = `first\n// inside the string\n`;\n",
        "const s = 'one \\\n// inside the string';\n",
        "/* a block\n*/ const d = 1;\n// x\n",
        "/* never closed\n",
    ):
        assert strip_js_comments(spans) == spans, spans


def test_scripts_are_served_without_their_comment_lines_and_still_parse():
    """README, Light on a slow phone: the seeker's modules carried their developers' notes to
    every first visit (seeker.js: a quarter of its compressed bytes). Versioned, each module is
    answered without its comment lines, and what is answered is still JavaScript."""
    import asyncio
    import os
    import subprocess
    import tempfile

    import httpx
    import pytest
    from fastapi import FastAPI

    from app.web import mount, strip_js_comments

    web = WebClient.load(WEB)
    app = FastAPI()
    mount(app, web)
    sources = {p.name: p.read_text(encoding="utf-8") for p in (WEB / "js").glob("*.js")}
    assert set(web.scripts) == {f"js/{name}" for name in sources}

    async def ask() -> dict[str, str]:
        served: dict[str, str] = {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for name, source in sources.items():
                answer = await client.get(f"{web.prefix}js/{name}")
                assert answer.status_code == 200
                assert answer.headers["content-type"].startswith("text/javascript")
                assert answer.headers["cache-control"] == web.cache_control
                assert answer.text == strip_js_comments(source)
                served[name] = answer.text
                # Unversioned, the file is as written (uncached, for a developer).
                assert (await client.get(f"/static/js/{name}")).text == source
        return served

    served = asyncio.run(ask())
    assert len(served["seeker.js"]) < len(sources["seeker.js"]) * 0.9
    # In development the modules are the files as written, so an edit shows on the next reload.
    assert WebClient.load(WEB, immutable=False).scripts == {}
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required when CI is set (scripts/test installs npm for axe)")
        pytest.skip("node is not installed")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in served.items():
            module = Path(tmp) / (name.removesuffix(".js") + ".mjs")
            module.write_text(text, encoding="utf-8")
            checked = subprocess.run([node, "--check", str(module)], capture_output=True, text=True)
            assert checked.returncode == 0, (name, checked.stderr)


def test_pages_are_served_without_their_comments():
    """README, Light on a slow phone: the seeker's page carried its developers' notes to
    every visitor (476 of its 3,468 compressed bytes); a comment inside a line goes alone."""
    from app.web import PAGES, strip_html_comments

    assert strip_html_comments("<p>a</p>\n  <!-- x\n y -->\n  <p>b</p><!-- z --><i>c</i>\n") == (
        "<p>a</p>\n  <p>b</p><i>c</i>\n"
    )
    # A comment with markup after it on its line takes only itself, not the markup up to the
    # next comment that ends a line.
    assert strip_html_comments("  <!-- note --> <p>kept</p>\n  <!-- x -->\n<p>b</p>\n") == (
        "   <p>kept</p>\n<p>b</p>\n"
    )
    web = WebClient.load(WEB)
    source = (WEB / "seeker.html").read_text(encoding="utf-8")
    assert "<!--" in source
    for filename in PAGES.values():
        page = web.pages[filename].render("en").decode()
        assert "<!--" not in page, filename
        # Every element is still there.
        source = (WEB / filename).read_text(encoding="utf-8")
        assert page.count("</") == strip_html_comments(source).count("</"), filename


def test_every_pages_language_options_carry_their_own_language():
    """Each page's switch offers the other language in its own words ("हिन्दी" on an English
    page): marked only by the page's lang, a screen reader spoke it in the wrong voice or
    skipped it. The seeker's page was fixed first; the staff pages had the same switch."""
    from app.web import PAGES

    web = WebClient.load(WEB)
    for filename in PAGES.values():
        page = web.pages[filename].render("en").decode()
        options = re.findall(r'<button[^>]*class="lang-switch__option"[^>]*>', page)
        assert len(options) == len(LANGUAGES), filename
        for option in options:
            (code,) = re.findall(r'data-lang="([a-z]+)"', option)
            assert f' lang="{code}"' in option, (filename, option)


def test_every_cue_family_has_a_name_in_every_language():
    """The desk shows cue families by name (`cue_family.<id>`), never their ids: a family
    added to the catalogue needs its name in each language."""
    from app.risk.cues.lists import load_catalogue

    families = set(load_catalogue())
    for lang in LANGUAGES:
        strings = json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))
        named = {k.removeprefix("cue_family.") for k in strings if k.startswith("cue_family.")}
        assert named == families | {"unassigned"}, lang  # unassigned: a mark with no family yet
        assert all(strings[f"cue_family.{family}"].strip() for family in named)


def test_the_composers_and_the_server_agree_on_a_text_that_shows_nothing():
    """The pages do not send a text the server would refuse as ``text_empty`` (only white
    space and characters that show nothing): ``messageText`` in ui.js holds the server's
    class of characters (app/chat/protocol.py), character for character."""
    import re

    from app.chat.protocol import _INVISIBLE

    source = (WEB / "js" / "ui.js").read_text(encoding="utf-8")
    found = re.search(r"const INVISIBLE = /\^\[(.*?)\]\*\$/u;", source)
    assert found is not None
    body = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: chr(int(m.group(1), 16)), found.group(1))
    body = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), body)
    client = re.compile(f"[{body}]")
    server = re.compile(_INVISIBLE.pattern.removesuffix("*"))
    differ = [
        hex(code)
        for code in range(0x110000)
        if bool(client.fullmatch(chr(code))) != bool(server.fullmatch(chr(code)))
    ]
    assert differ == []
    assert server.fullmatch("\u200b") and not server.fullmatch("a")
