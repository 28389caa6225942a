"""A Ray engine started in a thread (every job of ``figvault serve``) against a Ray Client address logged two
lines that say nothing wrong: Ray's "SIGTERM handler is not set because current thread is not the main
thread" and its INFO "Passing the following kwargs to ray.init() on the server: include_dashboard,
log_to_driver" (a first-hour walk, 2026-12-05). Runs the engine's real ``ray.init`` in a child process,
against a closed port on loopback with Ray Client's connection timeouts cut to 1 s: both lines are logged
before any connection, and the one-line error about the unreachable cluster must still come."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers.server import free_port

SCRIPT = """
import sys, threading
from pathlib import Path
from figvault.errors import FigvaultError
from figvault.pipeline.ray_engine import RayEngine
from tests.encoders.tiny_models import tiny_settings

def connect():
    engine = RayEngine(tiny_settings(Path(sys.argv[1])), address=sys.argv[2])
    try:
        engine._connect()
    except FigvaultError as exc:
        print("refused:", exc, file=sys.stderr)

thread = threading.Thread(target=connect)  # as a job of `figvault serve` runs
thread.start()
thread.join()
"""


def test_a_ray_client_connection_from_a_job_thread_logs_no_chatter(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RAY_CLIENT_INITIAL_CONNECTION_TIMEOUT_S": "1",
        "RAY_CLIENT_MAX_CONNECTION_TIMEOUT_S": "1",
    }
    address = f"ray://127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), address],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "refused: cannot connect to the Ray cluster" in output  # the real ray.init ran, and failed
    assert "SIGTERM handler is not set" not in output
    assert "Passing the following kwargs" not in output
