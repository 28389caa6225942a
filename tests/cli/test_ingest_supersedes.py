"""An ingest killed part way leaves its job running under a dead process; the same ingest run again to
its end did not end it, so the next job runner (`figvault serve`) resumed it, and brought back a document
deleted in between (an audit, 2026-12-07). The run that completes the same request now ends it."""

from __future__ import annotations

from pathlib import Path

from figvault.pipeline.jobs import JobState, JobStore, JobType, this_owner
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf
from tests.helpers.cli import run


def dead_job(store: JobStore, params: dict[str, object], started_by: str = "cli") -> str:
    job = store.create(JobType.INGEST, params, started_by=started_by, tenant="default")
    store.claim(job.id, f"{this_owner().split(':')[0]}:999999:1")  # a pid that runs nothing
    return job.id


def test_the_same_ingest_run_to_its_end_ends_the_one_left_running(tmp_path: Path) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "report.pdf", seed=1, n_figures=1)
    data = tmp_path / "data"
    store = JobStore.open(load_settings("offline", data_dir=data))
    same = dead_job(store, {"paths": [str(folder.absolute())], "groups": ["g"], "tenant": "default"})
    asked = {"paths": [str(folder.absolute())], "groups": ["g"], "tenant": "default"}
    others = [
        dead_job(store, {**asked, "groups": ["h"]}),  # other groups
        dead_job(store, {**asked, "prune": True}),  # asked for more: a prune
        dead_job(store, {**asked, "retry_failed": True}),
        dead_job(store, asked, started_by="ed"),  # an editor's server-folder job, not the command line's
    ]
    code, _, err = run(data, "ingest", str(folder), "--groups", "g", "--quiet")
    assert code == 0, err
    assert f"note: job {same}, left running by a stopped run of this ingest, ended (superseded)" in err
    ended = store.require(same)
    assert ended.state == JobState.CANCELLED and ended.message.startswith("superseded: run again as job ")
    assert [store.require(o).state for o in others] == [
        JobState.RUNNING
    ] * 4  # other requests: left to resume
