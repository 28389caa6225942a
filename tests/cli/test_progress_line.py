"""The progress line's rate: an ingest of one document a minute (models loading, a loaded machine) showed
"(0.0/s, ETA 48s)", a rate that contradicts its own ETA."""

from __future__ import annotations

from figvault.commands.jobs import progress_line
from figvault.pipeline.jobs import Job, JobState, JobType


def test_a_slow_rate_keeps_its_digits() -> None:
    for rate, shown in ((1 / 48, "(0.021/s, ETA 48s)"), (45.23, "(45.2/s, ETA 48s)")):
        job = Job(
            id="j1", type=JobType.INGEST, state=JobState.RUNNING, phase="ingest", done=1, total=2, rate=rate,
            eta_s=48.0,
        )  # fmt: skip
        assert progress_line(job) == f"running ingest 1/2 {shown}"
