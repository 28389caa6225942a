"""Servers under test: a free loopback port, the environment a `figvault serve` child gets, waiting until
it (or an in-process app) answers /readyz, stopping it, and rate limits out of the way of busy tests."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from figvault.settings import Settings
from tests.helpers.child import WALL_BACKSTOP, tree_clock

READY_POLL_S = 0.3
NO_RATE_LIMIT = "100000/second"


def free_port() -> int:
    """A loopback TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def uvicorn_in_thread(app: Any, http: Any) -> Iterator[int]:
    """``app`` served by uvicorn with the protocol class ``http`` on a free loopback port, in a thread of
    this process, until the block ends: yields the port."""
    chosen = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=chosen, http=http, log_level="error")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield chosen
    finally:
        server.should_exit = True
        thread.join(10)


def server_env(**extra: str) -> dict[str, str]:
    """This process's environment without any FIGVAULT_* variable (a developer's own must not reach a
    server under test), with HF_HUB_OFFLINE=1 (no model hub is asked), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")}
    return env | {"HF_HUB_OFFLINE": "1"} | extra


def wait_ready(
    base: str | Callable[[], str | None],
    proc: subprocess.Popen,
    output: Callable[[], str],
    *,
    within_s: float,
    what: str = "figvault serve",
) -> str:
    """Poll ``{base}/readyz`` until it answers 200 and return ``base``; a callable ``base`` gives None
    until the address is known (a server that prints it). The test fails with the tail of ``output()``
    when the process exits first, or its process tree has used ``within_s`` CPU seconds without being
    ready, or WALL_BACKSTOP times ``within_s`` of wall time have passed (a server blocked, using no CPU).

    CPU seconds, not wall time, as the product's own limits count (extract.doc_timeout_s): at load 20-25
    on 2 cores a serve was not ready within 120 s of wall time (tests/service/test_serve_hostile.py,
    2026-12-06), though nothing was wrong with it; at load 26-29 one was ready after about 230 s of wall
    time and 15 CPU-s."""
    started = time.monotonic()
    clock = tree_clock(proc.pid)
    while True:
        if proc.poll() is not None:
            pytest.fail(f"{what} exited with {proc.returncode}:\n{output()[-3000:]}")
        url = base() if callable(base) else base
        if url is not None:
            try:
                if httpx.get(f"{url.rstrip('/')}/readyz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
        cpu_s, wall_s = clock(), time.monotonic() - started
        if cpu_s >= within_s or wall_s >= WALL_BACKSTOP * within_s:
            pytest.fail(
                f"{what} not ready after {cpu_s:.1f} CPU-s (limit {within_s:g}) and {wall_s:.0f} s of"
                f" wall time (limit {WALL_BACKSTOP * within_s:g}):\n{output()[-3000:]}"
            )
        time.sleep(READY_POLL_S)


def wait_app_ready(client: TestClient, timeout_s: float = 120) -> None:
    """Until an in-process app's /readyz says ready: it warms its engine up in the background after
    start. ``timeout_s`` counts this process's CPU seconds (the warm-up runs here), with a wall backstop
    of WALL_BACKSTOP times that, as ``wait_ready`` does for a server process."""
    cpu_at, wall_at = time.process_time(), time.monotonic()
    while (ready := client.get("/readyz")).status_code != 200:
        cpu_s, wall_s = time.process_time() - cpu_at, time.monotonic() - wall_at
        assert cpu_s < timeout_s and wall_s < WALL_BACKSTOP * timeout_s, (
            f"not ready after {cpu_s:.1f} CPU-s (limit {timeout_s:g}) and {wall_s:.0f} s of wall time"
            f" (limit {WALL_BACKSTOP * timeout_s:g}): {ready.text}"
        )
        time.sleep(0.05)


def stop(proc: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``grace_s``."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def no_rate_limits(settings: Settings) -> None:
    """Lift the per-key and per-address rate limits, for a test whose client sends requests flat out from
    one address: on a quiet machine it would meet them and get 429 (the limits are tested apart, in
    tests/service/test_trust_api.py, with an app of their own)."""
    settings.service.rate_limit_per_key = settings.service.rate_limit_per_address = NO_RATE_LIMIT
