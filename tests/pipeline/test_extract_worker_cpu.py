"""A worker's time limit counts its CPU seconds, not the machine's load.

Before: a worker was killed at ``extract.doc_timeout_s`` of wall time, and on a busy machine (load 20 on 2
cores) a large legitimate PDF was lost and OCR words were cut at 60 % of it. What a hostile file costs is
CPU time; a wall-time backstop (WALL_FACTOR times the budget) still ends a worker that is blocked.
Workers run at the test's priority (``nice=0``): a loaded machine starves a niced one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from figvault.errors import ExtractionError
from figvault.ingest.deadline import Deadline
from figvault.pipeline import extract_worker
from figvault.pipeline.extract_worker import WALL_FACTOR, ExtractLimits, run_limited
from tests.pipeline.test_extract_worker import wait_for_worker


def burn() -> None:
    """A worker that only uses CPU (a hostile file's parse, as far as the clock can tell)."""
    while True:
        pass


def test_a_sleeping_worker_is_not_killed_at_its_budget() -> None:
    # Before: "took longer than 1 s to wait", 1 s into a sleep that uses no CPU.
    assert run_limited(time.sleep, (3.0,), ExtractLimits(seconds=1.0, nice=0), verb="wait") is None


def test_a_descheduled_worker_is_not_killed_at_its_budget() -> None:
    """A worker stopped (SIGSTOP, as a machine at load 20 all but stops a niced one) past its budget in
    wall time and then resumed ends normally: it used almost no CPU."""
    outcome: list[object] = []

    def call() -> None:
        try:
            outcome.append(run_limited(time.sleep, (0.5,), ExtractLimits(seconds=1.0, nice=0), verb="wait"))
        except ExtractionError as exc:
            outcome.append(exc)

    caller = threading.Thread(target=call)
    caller.start()
    worker = wait_for_worker()
    os.kill(worker.pid, signal.SIGSTOP)
    time.sleep(2.5)
    os.kill(worker.pid, signal.SIGCONT)
    caller.join(60)
    assert outcome == [None]


def test_a_worker_burning_cpu_is_killed_at_its_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    # The backstop out of the way: at load 12 a niced worker got 0.4 CPU-s in 5 s of wall time.
    monkeypatch.setattr(extract_worker, "WALL_FACTOR", 1000)
    with pytest.raises(ExtractionError) as err:
        run_limited(burn, (), ExtractLimits(seconds=0.5, nice=0), verb="extract")
    reason = str(err.value)
    assert "longer than 0.5 s to extract (CPU time" in reason and "extract.doc_timeout_s" in reason


def test_a_blocked_worker_ends_at_its_wall_backstop() -> None:
    limits = ExtractLimits(seconds=0.2, nice=0)
    with pytest.raises(ExtractionError) as err:
        run_limited(time.sleep, (600,), limits, verb="extract")
    reason = str(err.value)
    assert f"longer than {WALL_FACTOR * 0.2:g} s to extract (wall time" in reason
    assert "raise extract.doc_timeout_s" in reason


def test_the_optional_steps_deadline_counts_cpu_seconds() -> None:
    """OCR and LibreOffice stop at 60 % of the budget (ingest/deadline.py): of its CPU seconds too."""
    deadline = Deadline.after(0.3, 60)
    time.sleep(0.5)  # wall time passes, no CPU: not past
    assert not deadline.passed() and deadline.seconds_left() > 0.2
    started = time.process_time()
    while time.process_time() - started < 0.35:
        pass
    assert deadline.passed() and deadline.seconds_left() <= 0
    assert Deadline.after(60, -1).passed()  # the wall backstop's share ends it too


SPIN = (
    "import os, time\nend = time.process_time() + {cpu_s}\nwhile time.process_time() < end:\n    pass\n"
    "with open({pids!r} + '.done', 'a') as done:\n    done.write(f'{{os.getpid()}}\\n')\n"
)


def children_spin(count: int, cpu_s: float, pids: str) -> None:
    """A worker that uses no CPU itself: it starts ``count`` children one after another, each spinning
    ``cpu_s`` CPU seconds (an OCR reader or a LibreOffice gone wild), and waits for each; their pids are
    written to the file ``pids``, and each that ends by itself writes its pid to ``pids.done``."""
    for _ in range(count):
        child = subprocess.Popen([sys.executable, "-c", SPIN.format(cpu_s=cpu_s, pids=pids)])
        with open(pids, "a") as out:
            out.write(f"{child.pid}\n")
        child.wait()


@pytest.mark.parametrize(
    ("count", "cpu_s"),
    [(1, 6.0), (4, 0.4)],
    ids=["a child spinning", "children one after another, each under the budget"],
)
def test_the_cpu_budget_counts_what_the_worker_started(
    count: int, cpu_s: float, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: the worker's own CPU seconds only, so a worker whose child spun (the OCR helper,
    LibreOffice) ran on until the child's own limit, or the wall backstop, and the document was read: both
    cases returned None. Now the whole tree counts, the reaped children's too, and the child is killed
    with the worker."""
    monkeypatch.setattr(extract_worker, "WALL_FACTOR", 1000)  # the CPU budget, not the backstop, ends it
    pids = tmp_path / "pids"
    with pytest.raises(ExtractionError) as err:
        run_limited(
            children_spin, (count, cpu_s, str(pids)), ExtractLimits(seconds=0.5, nice=0), verb="extract"
        )
    assert "longer than 0.5 s to extract (CPU time" in str(err.value)
    # Killed, not ended by itself: the child spinning at the kill never reports its end. It is gone once the
    # kernel has carried the SIGKILL out, which a loaded machine may take a moment to do (a CI failure:
    # still "running" right after the kill).
    started = [int(pid) for pid in pids.read_text().split()]
    done = tmp_path / "pids.done"
    deadline = time.monotonic() + 30
    while [pid for pid in started if running(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in started if running(pid)]
    assert str(started[-1]) not in (done.read_text().split() if done.exists() else [])


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and has not ended (a zombie waits only to be reaped)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False
