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
engine.close()
"""


def test_the_ray_the_engine_starts_listens_on_loopback_only(tmp_path: Path) -> None:
    """In a process of its own whose environment lacks the tests' local-only variable, as a user's has."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "RAY_ADDRESS")
    }
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
