"""A regroup or retag killed half-way (a replica killed in the middle of ``PATCH /v1/documents/{id}``): the
rows of some collections had the new groups while the record, and so every listing, had the old ones, and
nothing repaired it (a read-only audit of replicas, 2026-12-06). The record is now marked with the new
labels before any row is rewritten, and the job runner's next round, the next command-line job, the next
change of the document or the next ingest that meets it finishes the change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from figvault.pipeline import regroup
from figvault.pipeline.ingest_pipeline import IngestRunner
from figvault.pipeline.jobs import JobStore, JobType, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.pipeline.regroup import finish_rewrites, set_document_groups, set_document_tags
from figvault.retrieval.schema import F_GROUPS, F_TAGS
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

TENANT = "acme"


class Crash(BaseException):
    """The process stopping where it is: nothing after it runs, no handler cleans up."""


@pytest.fixture
def doc_id(settings: Settings, tmp_path: Path) -> str:
    """A two-figure PDF ingested for finance, tagged q3."""
    pdf = figure_pdf(tmp_path / "report.pdf", seed=41, n_figures=2)
    runner = IngestRunner(settings)
    report = runner.run([pdf], groups=["finance"], tags=["q3"], tenant=TENANT, progress=False)
    runner.conn.close()
    return report.documents[0].doc_id


def labels(settings: Settings, doc_id: str) -> tuple[set[tuple[tuple[str, ...], tuple[str, ...]]], Any]:
    """The (groups, tags) of the document's rows, and its record."""
    runner = IngestRunner(settings)
    store = runner.store
    rows = store.query_rows(store.served_collection(), f'doc_id == "{doc_id}"', [F_GROUPS, F_TAGS])
    runner.conn.close()
    found = {(tuple(sorted(r[F_GROUPS])), tuple(sorted(r[F_TAGS]))) for r in rows}
    return found, DocumentRegistry.open(settings).get(TENANT, doc_id)


def dying_after_the_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every rewrite of rows runs, then the process stops before the record's last write."""
    rewrite = regroup._rewrite_everywhere

    def then_dies(*args: Any, **kwargs: Any) -> Any:
        rewrite(*args, **kwargs)
        raise Crash

    monkeypatch.setattr(regroup, "_rewrite_everywhere", then_dies)


def test_a_regroup_killed_after_its_rows_says_the_new_groups_and_is_finished(
    settings: Settings, doc_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    dying_after_the_rows(monkeypatch)
    with pytest.raises(Crash):
        set_document_groups(settings, TENANT, doc_id, ["ops"])
    rows, record = labels(settings, doc_id)
    # The listing says what the rows give (before: finance, while ops found the document).
    assert rows == {(("ops",), ("q3",))} and record.groups == ["ops"] and record.rewriting
    monkeypatch.undo()

    assert finish_rewrites(settings) == 1  # the job runner's round
    rows, record = labels(settings, doc_id)
    assert rows == {(("ops",), ("q3",))} and record.groups == ["ops"] and not record.rewriting
    assert finish_rewrites(settings) == 0


def test_a_regroup_killed_before_its_rows_is_finished_by_the_next_command_line_job(
    settings: Settings, doc_id: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped before any row changed: the mark (new groups) leads, and the end of the next command-line
    job, of any document, gives the rows the record's groups."""

    def dies_first(*args: Any, **kwargs: Any) -> Any:
        raise Crash

    monkeypatch.setattr(regroup, "_rewrite_everywhere", dies_first)
    with pytest.raises(Crash):
        set_document_groups(settings, TENANT, doc_id, ["ops"])
    rows, record = labels(settings, doc_id)
    assert rows == {(("finance",), ("q3",))} and record.groups == ["ops"] and record.rewriting
    monkeypatch.undo()

    other = figure_pdf(tmp_path / "other.pdf", seed=42, n_figures=1)
    params = {"paths": [str(other)], "groups": ["eng"], "tenant": TENANT}
    run_here(
        settings, JobStore.open(settings).create(JobType.INGEST, params, started_by="cli", tenant=TENANT)
    )
    rows, record = labels(settings, doc_id)
    assert rows == {(("ops",), ("q3",))} and not record.rewriting


def test_a_retag_killed_half_way_is_finished_by_the_next_change(
    settings: Settings, doc_id: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A regroup after a killed retag first finishes the retag: it rewrites only groups, and the half-written
    tags would have stayed."""
    dying_after_the_rows(monkeypatch)
    with pytest.raises(Crash):
        set_document_tags(settings, TENANT, doc_id, ["board"])
    assert labels(settings, doc_id)[1].tags == ["board"]
    monkeypatch.undo()

    set_document_groups(settings, TENANT, doc_id, ["ops"])
    rows, record = labels(settings, doc_id)
    assert rows == {(("ops",), ("board",))} and not record.rewriting
    assert (record.groups, record.tags) == (["ops"], ["board"])
