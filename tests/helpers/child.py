"""Child processes under test, bounded by the CPU seconds they use (with a wall-time backstop) instead of
wall time alone: on the CI's 2 loaded cores a child that needs 15 CPU-s can take minutes of wall time."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

import psutil
import pytest

WALL_BACKSTOP = 5
"""A child given ``cpu_s`` CPU seconds may take this many times that in wall time (one blocked, using no
CPU, still ends)."""


def tree_clock(pid: int) -> Callable[[], float]:
    """The CPU seconds process ``pid`` and everything it started have used so far (0 once unreadable)."""
    from figvault.ingest.cpu_limited import tree_cpu_seconds

    try:
        process = psutil.Process(pid)
    except psutil.Error:
        return lambda: 0.0
    return lambda: tree_cpu_seconds(process)


def run_bounded(args: Sequence[str], *, cpu_s: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run(args, capture_output=True, text=True, **kwargs)``, except that the test fails (the
    child's process group killed, its output's tail shown) once the child's process tree has used
    ``cpu_s`` CPU seconds, or WALL_BACKSTOP times that of wall time has passed."""
    started = time.monotonic()
    with subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    ) as proc:
        clock = tree_clock(proc.pid)
        while True:
            try:
                out, err = proc.communicate(timeout=0.5)  # may be called again after a timeout
                return subprocess.CompletedProcess(list(args), proc.returncode, out, err)
            except subprocess.TimeoutExpired:
                pass
            used, wall = clock(), time.monotonic() - started
            if used >= cpu_s or wall >= WALL_BACKSTOP * cpu_s:
                os.killpg(proc.pid, signal.SIGKILL)
                out, err = proc.communicate()
                pytest.fail(
                    f"{' '.join(args[:6])} ...: not done after {used:.1f} CPU-s (limit {cpu_s:g}) and"
                    f" {wall:.0f} s of wall time (limit {WALL_BACKSTOP * cpu_s:g}):\n{(out + err)[-3000:]}"
                )
