"""The OpenAPI docs at ``/docs``, served entirely by this process.

FastAPI's default page loads Swagger UI's script and styles from a CDN and its favicon from
another site, and needs an inline script, so it could not live under our
Content-Security-Policy. Here the assets come from the ``swagger-ui-bundle`` package, the
page and its start-up script from this package, and the page gets the same strict CSP as
every other (``script-src 'self'``, ``connect-src 'self'``). Swagger UI's online validator is
off (it would call another host). ``API_DOCS`` switches the docs (and ``/openapi.json``) off;
they are off by default in production.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

HERE = Path(__file__).resolve().parent
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs/assets"


def mount_api_docs(app: FastAPI) -> None:
    async def page() -> FileResponse:
        return FileResponse(HERE / "docs.html", media_type="text/html")

    async def start_script() -> FileResponse:
        return FileResponse(HERE / "docs.js", media_type="text/javascript")

    app.add_api_route(DOCS_PATH, page, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(
        DOCS_PATH + "/docs.js", start_script, methods=["GET", "HEAD"], include_in_schema=False
    )
    app.mount(ASSETS_PATH, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
