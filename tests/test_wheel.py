"""The installed package runs by itself: a wheel, installed (not editable) into a fresh
virtualenv, migrates, creates an account and serves from a directory that is not the
repository. This is what the container image does (the Dockerfile installs the same wheel
into /opt/venv); no container engine is needed to check it.

No network: the wheel is built with the test venv's setuptools (``--no-build-isolation``)
and installed with ``--no-deps``; the fresh venv finds the dependencies through a ``.pth``
file naming the test venv's site-packages (which comes after its own, so ``app`` is the
installed copy, as the test checks)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import httpx
import pytest

from tests.support import ROOT, Server, WsClient, env_for, login, new_seeker


def run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None, stdin: str = "") -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture
def installed(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed, migrated and with one volunteer, run from an
    unrelated directory: (that directory, its environment)."""
    wheels = tmp_path / "wheels"
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--wheel-dir", str(wheels), str(ROOT)],
        cwd=tmp_path,
    )  # fmt: skip
    (wheel,) = wheels.glob("peerline-*.whl")

    fresh = tmp_path / "venv"
    venv.create(fresh, with_pip=False)
    python = fresh / "bin" / "python"
    purelib = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        cwd=tmp_path,
    ).strip()
    Path(purelib, "test-venv-dependencies.pth").write_text(sysconfig.get_paths()["purelib"])
    run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
         "--no-deps", "--no-index", str(wheel)],
        cwd=tmp_path,
    )  # fmt: skip

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    imported = run([str(python), "-c", "import app; print(app.__file__)"], cwd=elsewhere)
    assert imported.startswith(purelib), imported  # the installed copy, not the repository

    env = env_for("unused")
    env["PEERLINE_ENV"] = "production"  # as in the image
    del env["DATABASE_URL"]  # the default: ./var/peerline.db in the working directory
    env["PATH"] = f"{fresh / 'bin'}:{env.get('PATH', '')}"
    assert "newest schema" in run(["peerline", "migrate"], cwd=elsewhere, env=env)
    assert (elsewhere / "var" / "peerline.db").is_file()
    run(
        ["peerline", "create-user", "--role", "volunteer", "--username", "vol", "--trained"],
        cwd=elsewhere,
        env=env,
        stdin="volunteer-pass-1\n",
    )
    return elsewhere, env


@pytest.mark.slow
async def test_installed_wheel_migrates_creates_a_user_and_serves_from_any_directory(
    installed: tuple[Path, dict[str, str]],
):
    elsewhere, env = installed
    peerline = str(Path(env["PATH"].split(":")[0]) / "peerline")
    server = Server(env, command=[peerline, "serve"], cwd=elsewhere).start()
    try:
        async with httpx.AsyncClient(base_url=server.base_url) as http:
            assert (await http.get("/healthz")).json() == {"status": "ok"}
            assert (await http.get("/readyz")).json()["status"] == "ready"
        seeker = await new_seeker(server.base_url, "en")
        s = await WsClient.open(server.ws_url, seeker["seeker_token"])
        await s.send({"type": "queue.join"})
        status = await s.recv("queue.status")
        volunteer = await login(server.base_url, "vol", "volunteer-pass-1")
        v = await WsClient.open(server.ws_url, volunteer["access_token"])
        await v.send({"type": "queue.take"})
        started = await v.recv("conversation.started")
        assert started["conversation_id"] == status["conversation_id"]
        await s.close()
        await v.close()
    finally:
        server.stop()
    assert "Traceback" not in server.log_text()
