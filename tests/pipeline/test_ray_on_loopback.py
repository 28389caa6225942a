"""The local Ray of the pipeline tests (tests/pipeline/conftest.py) listens on loopback only: its GCS,
raylet, workers, agents and autoscaler monitor. Without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (set in
tests/conftest.py) Ray on Linux swaps even ``_node_ip_address="127.0.0.1"`` for the machine's address and
binds every interface. So does the Ray the engine starts (``--engine ray`` without an address), in a
process without that variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.listeners import descendants, listening_sockets

ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")

pytestmark = pytest.mark.usefixtures("local_ray")


@ray.remote
def _plus_one(x: int) -> int:
    return x + 1


def test_local_ray_listens_on_loopback_only() -> None:
    assert ray.get([_plus_one.remote(i) for i in range(2)]) == [1, 2]  # workers up: they listen too
    sockets = listening_sockets(descendants(os.getpid()))
    assert any(s.command == "raylet" for s in sockets), [str(s) for s in sockets]
    assert [str(s) for s in sockets if s.reachable_from_outside] == []


ENGINE_RAY = """
import os, sys
os.umask(0o022)  # the usual umask, whatever the test runner's
from pathlib import Path
import ray
from figvault.pipeline.ray_engine import RayEngine
from tests.encoders.tiny_models import tiny_settings
from tests.helpers.listeners import descendants, listening_sockets

engine = RayEngine(tiny_settings(Path(sys.argv[1])))
engine._connect()
assert ray.get(ray.remote(lambda: 1).remote()) == 1  # a worker up: workers listen too
sockets = listening_sockets(descendants(os.getpid()))
assert any(s.command == "raylet" for s in sockets), [str(s) for s in sockets]
print("OUTSIDE", [str(s) for s in sockets if s.reachable_from_outside])
token = Path.home() / ".ray" / "auth_token"
print("TOKEN", oct(token.stat().st_mode & 0o777), oct(token.parent.stat().st_mode & 0o777))
engine.close()
"""


def test_the_ray_the_engine_starts_listens_on_loopback_only(tmp_path: Path) -> None:
    """In a process of its own whose environment lacks the tests' local-only variable, as a user's has.
    Loopback is every local user's: the token Ray writes for it (token authentication is on by default for
    a Ray that ray.init starts) is this user's alone. Before (2026-12-05, eighth red-team pass) Ray wrote
    it 0644 in a 0755 ~/.ray with the usual umask: any local user read it and could run code on this Ray
    as figvault's user."""
    home = tmp_path / "home"
    home.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS") and not k.startswith("RAY_AUTH")
    }
    env["HOME"] = str(home)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", ENGINE_RAY, str(tmp_path)],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OUTSIDE []" in done.stdout, done.stdout[-3000:]
    assert "TOKEN 0o600 0o700" in done.stdout, done.stdout[-3000:]


def test_a_ray_token_other_users_may_read_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from figvault.pipeline import ray_engine

    token = tmp_path / "auth_token"
    monkeypatch.setenv("RAY_AUTH_TOKEN_PATH", str(token))
    for mode, warned in ((None, False), (0o600, False), (0o644, True)):
        if mode is not None:
            token.write_text("t" * 32)
            token.chmod(mode)
        caplog.clear()
        with caplog.at_level("WARNING", logger="figvault"):
            ray_engine._warn_if_token_open()
        assert ("readable by other local users" in caplog.text) is warned, (mode, caplog.text)
