"""An ingest's progress and ETA count the bytes of its files, not only how many are done.

A folder of one 900-page report and 50 one-page files said 98 % done (and an ETA of seconds) once the small
ones were written, with nearly all the work still to come. Now the job keeps its progress by file size
(``jobs.WORK``), its ETA counts bytes, and what people read follows: ``JobOut.progress`` (HTTP, the page's
bar) and the command line's progress line."""

from __future__ import annotations

import time
from pathlib import Path

from figvault.commands.jobs import progress_line
from figvault.pipeline.ingest_job import _Tally
from figvault.pipeline.jobs import JobContext, JobStore, JobType
from figvault.service.api.job_schemas import JobOut
from figvault.settings import load_settings

BIG, SMALL = 9_000_000, 10_000
"""A 900-page report's bytes and a one-page file's."""


def _folder(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "docs"
    folder.mkdir()
    big = folder / "annual-report.pdf"
    big.write_bytes(b"%PDF" + b"\0" * (BIG - 4))
    small = []
    for i in range(50):
        path = folder / f"note-{i:02d}.pdf"
        path.write_bytes(b"%PDF" + b"\0" * (SMALL - 4))
        small.append(path)
    return [big, *small]


def test_fifty_small_files_of_a_big_folder_are_a_small_share_of_its_progress(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    store = JobStore.open(settings)
    job = store.create(
        JobType.INGEST, {"paths": [str(tmp_path / "docs")]}, started_by="cli", tenant="default"
    )
    ctx = JobContext(store, job, settings)
    files = _folder(tmp_path)
    tally = _Tally(total=len(files))
    tally.measure(files)
    tally.report(ctx)
    time.sleep(0.05)
    small = files[1:]
    tally.done += len(small)  # the 50 one-page files are written, the report is still being read
    tally.finished(small)
    tally.report(ctx)

    stored = store.get(job.id)
    assert (stored.done, stored.total) == (50, 51)
    share = 50 * SMALL / (BIG + 50 * SMALL)
    assert stored.work_fraction is not None and abs(stored.work_fraction - share) < 1e-9  # 5 %, not 98 %
    assert JobOut.of(stored).progress == round(share, 4)
    # The ETA is that of the bytes left: about 18 times the time the small files took, not a fiftieth.
    assert stored.eta_s is not None and stored.eta_s > 15 * 0.05
    line = progress_line(stored)
    assert " ingest 50/51 files, 5% by size (" in line


def test_a_running_batch_counts_the_bytes_of_its_written_documents(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    store = JobStore.open(settings)
    job = store.create(JobType.INGEST, {}, started_by="cli", tenant="default")
    ctx = JobContext(store, job, settings)
    files = _folder(tmp_path)
    tally = _Tally(total=len(files))
    tally.measure(files)
    tally.report(ctx, batch_docs=1, batch_bytes=BIG)  # the report written first, mid-batch
    assert store.get(job.id).work_fraction == BIG / (BIG + 50 * SMALL)
