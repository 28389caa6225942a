"""The later request wins: an ingest asked for before a document's groups or tags were changed (by a newer
ingest, ``documents set-groups`` or ``set-tags``) leaves them as they are when it runs. A job resumed after a
crash (a killed ``figvault ingest`` is resumed by the next ``figvault serve``) or queued behind the change
gave the groups it was asked for back: an admin's narrowing was undone without a word."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from figvault.pipeline.ingest_pipeline import REPLACED, SKIPPED, IngestRunner
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.pipeline.regroup import set_document_groups, set_document_tags
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

TENANT = "acme"
DEAD_OWNER = f"{socket.gethostname()}:999999:1"


def unit_fields(settings: Settings, doc_id: str) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Each stored unit's (groups, tags) of ``doc_id``."""
    runner = IngestRunner(settings)
    store = runner.store
    collection = store.served_collection()
    rows = store.query_rows(collection, f'doc_id == "{doc_id}"', ["groups", "tags"])
    runner.conn.close()
    return [(tuple(sorted(r["groups"])), tuple(sorted(r["tags"]))) for r in rows]


def indexed_for(settings: Settings, pdf: Path, groups: list[str]) -> str:
    """``pdf`` ingested for ``groups`` (no job): its document id."""
    runner = IngestRunner(settings)
    doc_id = runner.run([pdf], groups=groups, tenant=TENANT, progress=False).documents[0].doc_id
    runner.conn.close()
    return doc_id


def assert_labels(settings: Settings, doc_id: str, groups: list[str], tags: list[str]) -> None:
    """The document's record and every one of its units carry ``groups`` and ``tags``."""
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record is not None and (record.groups, record.tags) == (groups, tags)
    assert set(unit_fields(settings, doc_id)) == {(tuple(groups), tuple(tags))}


def cli_job(store: JobStore, folder: Path, groups: list[str], tags: list[str] | None = None) -> Any:
    """An ingest job as ``figvault ingest FOLDER --groups ...`` records it (not started)."""
    params: dict[str, Any] = {"paths": [str(folder)], "groups": groups, "tenant": TENANT}
    if tags is not None:
        params["tags"] = tags
    return store.create(JobType.INGEST, params, started_by="cli", tenant=TENANT)


def test_a_killed_ingest_resumed_after_a_newer_one_keeps_the_newer_groups(
    settings: Settings, tmp_path: Path
) -> None:
    """The reproduced case: ``ingest DIR --groups everyone`` killed, ``ingest DIR --groups finance`` run to
    its end, then ``serve`` resumes the first: every document went back to ``everyone``."""
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "a.pdf", seed=1, n_figures=1)
    figure_pdf(folder / "b.pdf", seed=2, n_figures=1)
    store = JobStore.open(settings)
    first = cli_job(store, folder, ["everyone"], tags=["draft"])
    assert store.claim(first.id, DEAD_OWNER) is not None  # its process died before it wrote anything

    second = run_here(settings, cli_job(store, folder, ["finance"], tags=["final"]))
    assert second.state == JobState.SUCCEEDED, second.message
    assert store.requeue_orphans() == [first.id]
    resumed = run_here(settings, store.require(first.id))
    assert resumed.state == JobState.SUCCEEDED, resumed.message

    records = DocumentRegistry.open(settings).list(tenant=TENANT)
    assert sorted((r.name, r.groups, r.tags) for r in records) == [
        ("a.pdf", ["finance"], ["final"]),
        ("b.pdf", ["finance"], ["final"]),
    ]
    for record in records:
        assert set(unit_fields(settings, record.doc_id)) == {(("finance",), ("final",))}
    assert [d["status"] for d in resumed.result["documents"]] == [SKIPPED, SKIPPED]


def test_a_later_ingest_that_found_the_groups_as_asked_still_wins(settings: Settings, tmp_path: Path) -> None:
    """The same, for files already indexed with the groups the later run gives: it skips them, and must
    still record that it asked (a read-only review of the first fix: the resumed job made them everyone)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "a.pdf", seed=6, n_figures=1)
    store = JobStore.open(settings)
    assert run_here(settings, cli_job(store, folder, ["finance"])).state == JobState.SUCCEEDED
    first = cli_job(store, folder, ["everyone"])
    assert store.claim(first.id, DEAD_OWNER) is not None
    second = run_here(settings, cli_job(store, folder, ["finance"]))
    assert [d["status"] for d in second.result["documents"]] == [SKIPPED]
    assert store.requeue_orphans() == [first.id]
    assert run_here(settings, store.require(first.id)).state == JobState.SUCCEEDED
    [record] = DocumentRegistry.open(settings).list(tenant=TENANT)
    assert record.groups == ["finance"]
    assert set(unit_fields(settings, record.doc_id)) == {(("finance",), ())}


def test_an_editor_judges_by_what_it_sees_now_of_then_and_now() -> None:
    """A retried upload's caller is recorded anew, with its groups of now: the document as it was when the
    upload was queued is seen through those too, so a change of groups alone is not a change of the
    document (the first version kept what the caller was shown then, and dropped the upload's tags)."""
    from figvault.access import Principal, Role
    from figvault.pipeline.registry import DocState, DocumentRecord, seen_later

    record = DocumentRecord(
        doc_id="doc_1", tenant=TENANT, name="a.pdf", state=DocState.INDEXED, groups=["finance", "hr"]
    )
    then = {"doc_1": {"groups": ["finance", "hr"], "tags": []}}
    moved = Principal(user="eve", tenant=TENANT, groups=["hr", "sales"], roles=[Role.EDITOR])
    assert seen_later(record, moved, then) == frozenset()
    hidden = record.model_copy(update={"groups": ["finance", "hr", "legal"]})
    assert seen_later(hidden, moved, then) == frozenset()  # legal: not eve's to see
    assert seen_later(record.model_copy(update={"groups": ["finance"]}), moved, then) == {
        "groups"
    }  # hr taken
    assert seen_later(record.model_copy(update={"tags": ["q4"]}), moved, then) == {"tags"}
    assert seen_later(record.model_copy(update={"doc_id": "doc_new"}), moved, then) is None  # made since


def test_a_queued_ingest_keeps_a_set_groups_made_after_it_was_asked_for(
    settings: Settings, tmp_path: Path
) -> None:
    """An admin narrows a document while an older ingest of its (now changed) file waits in the queue: the
    ingest reads the new file and keeps the narrowed groups and the tags set since."""
    pdf = figure_pdf(tmp_path / "report.pdf", seed=3, n_figures=1)
    doc_id = indexed_for(settings, pdf, ["everyone"])
    store = JobStore.open(settings)
    queued = cli_job(store, pdf, ["everyone"], tags=["old"])
    set_document_groups(settings, TENANT, doc_id, ["board"])
    set_document_tags(settings, TENANT, doc_id, ["secret"])
    figure_pdf(pdf, seed=4, n_figures=2)  # a new version of the file

    final = run_here(settings, queued)
    assert final.state == JobState.SUCCEEDED, final.message
    assert [d["status"] for d in final.result["documents"]] == [REPLACED]
    assert_labels(settings, doc_id, ["board"], ["secret"])
    assert DocumentRegistry.open(settings).get(TENANT, doc_id).units == 2


def test_an_ingest_asked_for_after_a_set_groups_applies_its_own_groups(
    settings: Settings, tmp_path: Path
) -> None:
    """The rule only keeps what a later request set: a newer ingest's groups and tags still apply."""
    pdf = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=1)
    doc_id = indexed_for(settings, pdf, ["everyone"])
    set_document_groups(settings, TENANT, doc_id, ["board"])
    final = run_here(settings, cli_job(JobStore.open(settings), pdf, ["finance"], tags=["q3"]))
    assert final.state == JobState.SUCCEEDED, final.message
    assert_labels(settings, doc_id, ["finance"], ["q3"])


def test_a_server_folder_job_keeps_the_documents_its_files_become_by_name(
    settings: Settings, tmp_path: Path
) -> None:
    """A folder's file replaces the document of its name (``resolve_target``), uploaded or ingested from
    elsewhere: the first version kept only documents ingested from the job's paths, so a later change of
    such a document was undone by an editor's folder job (a read-only review)."""
    from figvault.access import Principal, Role
    from figvault.pipeline.ingest_job import seen_in_folders
    from figvault.pipeline.registry import DocState, DocumentRecord, connect

    folder = tmp_path / "share"
    folder.mkdir()
    figure_pdf(folder / "plan.pdf", seed=7, n_figures=1)
    registry = DocumentRegistry.open(settings)
    for doc_id, groups in (("doc_up", ["finance"]), ("doc_hidden", ["hr"])):
        registry.put(
            DocumentRecord(
                doc_id=doc_id,
                tenant=TENANT,
                name="plan.pdf",
                state=DocState.INDEXED,
                groups=groups,
                tags=["x"],
            )
        )  # uploaded: no source
    eve = Principal(user="eve", tenant=TENANT, groups=["finance"], roles=[Role.EDITOR])
    seen = seen_in_folders(connect(settings), eve, [str(folder)])
    assert seen == {"doc_up": {"groups": ["finance"], "tags": ["x"]}}  # not one eve may not replace


def test_a_later_change_of_tags_alone_leaves_an_older_jobs_groups(settings: Settings, tmp_path: Path) -> None:
    """Groups and tags each keep their own time: a killed `ingest --groups finance` (narrowing a document
    from everyone) resumed after someone set its tags still narrows it, and keeps the tags (a read-only
    review: one time for both kept it everyone without a word)."""
    pdf = figure_pdf(tmp_path / "report.pdf", seed=8, n_figures=1)
    doc_id = indexed_for(settings, pdf, ["everyone"])
    store = JobStore.open(settings)
    older = cli_job(store, pdf, ["finance"])
    set_document_tags(settings, TENANT, doc_id, ["q4"])
    assert run_here(settings, older).state == JobState.SUCCEEDED
    assert_labels(settings, doc_id, ["finance"], ["q4"])


def test_an_editors_job_judges_a_document_made_after_it_was_queued_by_time(
    settings: Settings, tmp_path: Path
) -> None:
    """A document its job's first try made before it stopped, or another job made after it was queued, is
    not among what the editor was shown (``seen``): an admin's later change of it stays (a read-only
    review: the resumed folder job put finance back)."""
    from figvault.access import Principal, Role

    pdf = figure_pdf(tmp_path / "a.pdf", seed=9, n_figures=1)
    queued_at = time.time()
    eve = Principal(user="eve", tenant=TENANT, groups=["finance", "sales"], roles=[Role.EDITOR])
    runner = IngestRunner(settings)
    first = runner.run(
        [pdf], groups=["finance"], tenant=TENANT, progress=False, principal=eve, asked_at=queued_at
    )
    doc_id = first.documents[0].doc_id
    set_document_groups(settings, TENANT, doc_id, ["sales"])  # after the job was queued
    again = runner.run(
        [pdf], groups=["finance"], tenant=TENANT, progress=False, principal=eve, asked_at=queued_at, seen={}
    )
    runner.conn.close()
    assert [d.status for d in again.documents] == [SKIPPED]
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record is not None and record.groups == ["sales"]
