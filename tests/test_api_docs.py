"""/docs loads nothing from another host and carries the strict Content-Security-Policy;
API_DOCS=false switches the docs and the OpenAPI schema off."""

from __future__ import annotations

import re

import httpx

from app.main import CONTENT_SECURITY_POLICY
from tests.conftest import Backend
from tests.support import Server, env_for

URL_IN_PAGE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", re.I)


async def test_docs_reference_only_this_host_and_send_the_csp(server: Server):
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        page = await http.get("/docs")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in page.headers["content-security-policy"]
        html = page.text
        assert "//" not in html.replace("<!doctype html>", ""), "a URL with a host in /docs"
        assert "<script>" not in html, "an inline script would need 'unsafe-inline'"
        references = URL_IN_PAGE.findall(html)
        assert references and all(ref.startswith("/") for ref in references)
        for ref in references:  # each asset is served here, under the same policy
            asset = await http.get(ref)
            assert asset.status_code == 200, ref
            assert asset.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        start = (await http.get("/docs/docs.js")).text
        assert "/openapi.json" in start and "validatorUrl: null" in start
        assert (await http.get("/openapi.json")).status_code == 200
        assert (await http.get("/redoc")).status_code == 404


async def test_api_docs_false_switches_the_docs_off(backend: Backend):
    srv = Server(env_for(backend.database_url, API_DOCS="false")).start()
    try:
        async with httpx.AsyncClient(base_url=srv.base_url) as http:
            for path in ("/docs", "/openapi.json", "/docs/assets/swagger-ui.css"):
                assert (await http.get(path)).status_code == 404, path
            assert (await http.get("/healthz")).status_code == 200
    finally:
        srv.stop()
