"""A foreground job that fails on an exception that is not figvault's (a bug, an outage): before, ``figvault
ingest`` printed the logger's whole traceback on the terminal, then the reason; now one line with the
reason and the log file that has the traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.generated_docs import figure_pdf

FIGVAULT_WITH_A_BUG = """
import sys

from figvault.cli import main
from figvault.pipeline import jobs
from figvault.pipeline.jobs import JobType


def a_bug(ctx):
    raise KeyError("unit_id")


jobs.HANDLERS[JobType.INGEST] = lambda: a_bug
sys.argv[0] = "figvault"
main()
"""


def test_a_job_failing_on_a_bug_prints_one_line_and_the_log_file(tmp_path: Path) -> None:
    doc = figure_pdf(tmp_path / "report.pdf", seed=1)
    data = tmp_path / "data"
    args = ["--config", "offline", "--data-dir", str(data), "ingest", str(doc), "--groups", "eng", "--quiet"]
    done = subprocess.run(
        [sys.executable, "-c", FIGVAULT_WITH_A_BUG, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1
    log_file = data / "logs" / "figvault.log"
    errors = [line for line in done.stderr.splitlines() if not line.startswith("access:")]
    assert errors == [f"error: KeyError: 'unit_id' (traceback in {log_file})"], done.stderr
    assert "Traceback" in log_file.read_text()
