"""The real image: built from the Dockerfile, it migrates, creates an account and serves.

Runs only where a container engine is named in ``TEST_CONTAINER_ENGINE`` (e.g. ``docker``,
or ``podman --runtime /usr/sbin/runc``), with ``TEST_CONTAINER_BUILD_OPTS`` added to the
build (e.g. ``--network host``); it skips otherwise, under CI too, since CI's machine has
no engine (README, Production layout). tests/test_wheel.py checks the same package without
an engine."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, TEST_SECRET, TEST_SHARE_KEY, Server, WsClient, login, new_seeker

ENGINE = shlex.split(os.environ.get("TEST_CONTAINER_ENGINE", ""))
BUILD_OPTS = shlex.split(os.environ.get("TEST_CONTAINER_BUILD_OPTS", ""))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ENGINE, reason="TEST_CONTAINER_ENGINE is not set"),
]


def engine(*args: str, stdin: str = "", check: bool = True, stderr: bool = False) -> str:
    result = subprocess.run(
        [*ENGINE, *args], input=stdin, capture_output=True, text=True, timeout=900
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{args[:3]} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout + (result.stderr if stderr else "")


@pytest.fixture(scope="module")
def image() -> str:
    tag = "peerline-test:latest"
    engine("build", *BUILD_OPTS, "-t", tag, str(ROOT))
    return tag


@pytest.fixture
def container(image: str, tmp_path: Path) -> Iterator[tuple[str, Server]]:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the image runs as its own user
    options = [
        "--network", "host", "-v", f"{data}:/data",
        "-e", "DATABASE_URL=sqlite:////data/peerline.db", "-e", f"SECRET_KEY={TEST_SECRET}",
        "-e", f"EMERGENCY_SHARE_KEY={TEST_SHARE_KEY}",
    ]  # fmt: skip
    assert "newest schema" in engine("run", "--rm", *options, image, "peerline", "migrate")
    engine(
        "run", "--rm", "-i", *options, image,
        "peerline", "create-user", "--role", "admin", "--username", "admin",
        stdin="admin-pass-123\n",
    )  # fmt: skip
    server = Server({})  # only for its free port and URLs
    name = f"peerline-test-{uuid.uuid4().hex[:8]}"
    engine(
        "run", "-d", "--name", name, *options, image,
        "peerline", "serve", "--host", "127.0.0.1", "--port", str(server.port),
    )  # fmt: skip
    try:
        yield name, server
    finally:
        engine("rm", "-f", name, check=False)


async def test_the_image_migrates_creates_an_admin_and_serves_in_production(
    container: tuple[str, Server],
):
    name, server = container
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        for _ in range(300):
            try:
                if (await http.get("/readyz")).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
        assert (await http.get("/readyz")).json()["status"] == "ready"
        assert "<html" in (await http.get("/")).text  # the web client is in the image
    admin = await login(server.base_url, "admin", "admin-pass-123")
    assert admin["role"] == "admin"
    seeker = await new_seeker(server.base_url, "en")
    s = await WsClient.open(server.ws_url, seeker["seeker_token"])
    await s.send({"type": "queue.join"})
    assert (await s.recv("queue.status"))["position"] == 1
    await s.close()
    assert "PEERLINE_ENV=production" in engine("exec", name, "env")
    assert engine("exec", name, "id", "-u").strip() != "0"
    assert "Traceback" not in engine("logs", name, stderr=True)
