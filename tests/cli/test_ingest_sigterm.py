"""SIGTERM to ``figvault ingest`` (what systemd, ``docker stop`` and ``kill`` send), a first-hour walk,
2026-12-05: the process ended at once, its job stayed ``running`` under a dead process (the next ``figvault
serve`` resumed it), and an extraction worker that finished after its parent was gone printed a
BrokenPipeError traceback. Now SIGTERM is handled as Ctrl-C is (tests/cli/test_ingest_ctrl_c.py): the job is
cancelled with one line, exit 143; and a worker whose parent is gone ends without a word."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from figvault.pipeline.jobs import JobState, JobStore
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf

ROOT = Path(__file__).resolve().parents[2]

# The ingest's handler, in the child, starts a real extraction worker (run_limited, the ingest's way) that
# runs for a minute: SIGTERM arrives while the parent waits on it, as in a real ingest.
CHILD = """
import sys, time
from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline import jobs as job_module
from figvault.pipeline.extract_worker import ExtractLimits, run_limited
from figvault.pipeline.jobs import JobType

def extracting(_ctx):
    print("extracting", file=sys.stderr, flush=True)
    run_limited(time.sleep, (60,), ExtractLimits(seconds=120), verb="extract")

load_commands()
job_module.HANDLERS[JobType.INGEST] = lambda: extracting
app(sys.argv[1:], prog_name="figvault")
"""

# A worker whose requester closed its end (it died): before, conn.send raised BrokenPipeError, a traceback.
ORPHAN = """
import multiprocessing, os
from figvault.pipeline.extract_worker import ExtractLimits, _run_main

receiver, sender = multiprocessing.Pipe(duplex=False)
receiver.close()
_run_main(sender, int, ("7",), ExtractLimits(seconds=5, nice=0), "extract", os.getppid())
"""


def _wait_for_line(stream: object, text: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    for line in stream:  # type: ignore[attr-defined]
        if text in line or time.monotonic() > deadline:
            return


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_cancels_the_ingest_job_with_one_line(tmp_path: Path, signum: signal.Signals) -> None:
    """SIGHUP (a closed terminal, a dropped ssh session) too, since 2026-12-06: it ended the process at once
    and left the job for the next ``figvault serve`` to resume, with the groups it was given."""
    doc = figure_pdf(tmp_path / "report.pdf", seed=2)
    data = tmp_path / "data"
    args = ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "--groups", "eng"]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args], cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        _wait_for_line(child.stderr, "extracting", timeout_s=240)
        time.sleep(2)  # the worker is started and the parent waits on it
        os.kill(child.pid, signum)
        rest = child.stderr.read() if child.stderr else ""
        rc = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert rc == 128 + signum, rest
    [job] = JobStore.open(load_settings("offline", data_dir=data)).list()
    assert job.state == JobState.CANCELLED and signum.name in job.message
    assert (
        f"ingest: interrupted ({signum.name}): what was stored stays, and the same command run again goes on"
        in rest
    )
    assert f"(job {job.id} cancelled)" in rest and "Traceback" not in rest


def test_an_ingest_started_with_sighup_ignored_outlives_its_terminal(tmp_path: Path) -> None:
    """`nohup figvault ingest DIR &`, then the terminal closes: SIGHUP was ignored before figvault ran, and
    stays so (a read-only review: the first SIGHUP handler cancelled such an ingest). SIGTERM still ends
    it, as Ctrl-C does."""
    doc = figure_pdf(tmp_path / "report.pdf", seed=3)
    data = tmp_path / "data"
    args = ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "--groups", "eng"]
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN),
    )
    try:
        _wait_for_line(child.stderr, "extracting", timeout_s=240)
        time.sleep(2)
        os.kill(child.pid, signal.SIGHUP)
        time.sleep(2)
        assert child.poll() is None, "SIGHUP, ignored by nohup, stopped the ingest"
        os.kill(child.pid, signal.SIGTERM)
        rest = child.stderr.read() if child.stderr else ""
        rc = child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert rc == 143 and "interrupted (SIGTERM)" in rest, rest


def test_a_worker_whose_requester_is_gone_ends_without_a_traceback() -> None:
    done = subprocess.run(
        [sys.executable, "-c", ORPHAN], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "BrokenPipeError" not in done.stderr, done.stderr
