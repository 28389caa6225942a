"""An unchanged file ingested again with other ``--groups`` or ``--tags``: its stored units are rewritten in
place (``UPDATED``), nothing extracted or encoded again, and the result is what a replacement gives."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from figvault.access import Principal, Role
from figvault.errors import StoreError
from figvault.pipeline import ingest_pipeline
from figvault.pipeline.extract_worker import ExtractCancelled
from figvault.pipeline.failures import TRANSIENT
from figvault.pipeline.ingest_pipeline import (
    CHANGED_MEANWHILE,
    FAILED,
    INDEXED,
    REPLACED,
    SKIPPED,
    UPDATED,
    IngestRunner,
)
from figvault.pipeline.registry import DELETED_MEANWHILE, DocState, DocumentRegistry
from figvault.retrieval.acl_sets import AclSetTable
from figvault.retrieval.schema import F_ACL_KEY, F_GROUPS, F_TAGS
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

TENANT = "acme"


@pytest.fixture
def runner(settings: Settings) -> IngestRunner:
    return IngestRunner(settings)


def extracted(runner: IngestRunner, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the documents ``runner``'s engine is given from now on."""
    seen: list[str] = []
    run = runner.engine.run

    def spy(specs: Any, **kwargs: Any) -> Any:
        seen.extend(spec.name for spec in specs)
        return run(specs, **kwargs)

    monkeypatch.setattr(runner.engine, "run", spy)
    return seen


def stored(runner: IngestRunner, path: Path, seed: int, groups: tuple[str, ...] = ("finance",)) -> str:
    """A one-figure PDF at ``path``, ingested for ``groups``: its document id."""
    figure_pdf(path, seed=seed, n_figures=1)
    return runner.run([path], groups=list(groups), tenant=TENANT, progress=False).documents[0].doc_id


def rows_of(runner: IngestRunner, doc_id: str) -> dict[str, dict[str, Any]]:
    store = runner.store
    collection = store.served_collection()
    rows = store.query_rows(collection, f'doc_id == "{doc_id}"', store.written_fields(collection))
    return {row["unit_id"]: row for row in rows}


def test_other_groups_and_tags_rewrite_the_units_in_place(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = figure_pdf(tmp_path / "report.pdf", seed=3, n_figures=2)
    other = figure_pdf(tmp_path / "other.pdf", seed=4, n_figures=1)
    first = runner.run([pdf, other], groups=["finance"], tenant=TENANT, progress=False)
    assert [d.status for d in first.documents] == [INDEXED, INDEXED]
    doc_id = first.documents[0].doc_id
    before = rows_of(runner, doc_id)
    assert len(before) >= 2
    registry = DocumentRegistry.open(settings)
    stamped = registry.get(TENANT, doc_id).updated_at

    seen = extracted(runner, monkeypatch)
    regrouped = runner.run([pdf, other], groups=["ops", "finance"], tenant=TENANT, progress=False)
    assert [d.status for d in regrouped.documents] == [UPDATED, UPDATED]
    assert seen == []  # nothing extracted or encoded again
    assert regrouped.documents[0].units == len(before)
    assert "2 given other groups or tags in place" in regrouped.summary()

    after = rows_of(runner, doc_id)
    key = AclSetTable(runner.conn).register(TENANT, ["finance", "ops"])
    assert set(after) == set(before)
    for unit_id, row in after.items():
        assert sorted(row[F_GROUPS]) == ["finance", "ops"] and row[F_ACL_KEY] == key
        unchanged = {k: v for k, v in row.items() if k not in (F_GROUPS, F_ACL_KEY)}
        assert unchanged == {k: v for k, v in before[unit_id].items() if k not in (F_GROUPS, F_ACL_KEY)}
    record = registry.get(TENANT, doc_id)
    assert record.groups == ["finance", "ops"] and record.state == DocState.INDEXED
    assert record.updated_at == stamped  # a change of groups alone does not move it (as a regroup)

    engine = SearchEngine.from_settings(settings)
    ops = Principal(user="o", tenant=TENANT, groups=["ops"])
    hits = engine.search(ops, SearchRequest(query="report", top_k=20))
    assert {h.doc_id for h in hits.results} >= {doc_id}

    retagged = runner.run([pdf], groups=None, tags=["q3", "board"], tenant=TENANT, progress=False)
    assert [d.status for d in retagged.documents] == [UPDATED] and seen == []
    assert {tuple(row[F_TAGS]) for row in rows_of(runner, doc_id).values()} == {("board", "q3")}
    record = registry.get(TENANT, doc_id)
    assert record.tags == ["board", "q3"] and record.groups == ["finance", "ops"]
    assert record.updated_at > stamped  # readers see the tags

    again = runner.run([pdf], groups=["finance", "ops"], tags=["q3", "board"], tenant=TENANT, progress=False)
    assert [d.status for d in again.documents] == [SKIPPED]


def test_an_editor_keeps_the_groups_it_is_not_in(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "shared.pdf"
    doc_id = stored(runner, pdf, 5, ("finance", "hr"))
    editor = Principal(user="ed", tenant=TENANT, groups=["finance"], roles=[Role.EDITOR])
    seen = extracted(runner, monkeypatch)
    report = runner.run([pdf], groups=["sales"], tenant=TENANT, progress=False, principal=editor)
    assert [d.status for d in report.documents] == [UPDATED] and seen == []
    # As a replacement: an editor sets only the part of the access it shares (access.groups_after_replace).
    assert DocumentRegistry.open(settings).get(TENANT, doc_id).groups == ["hr", "sales"]
    assert {tuple(sorted(r[F_GROUPS])) for r in rows_of(runner, doc_id).values()} == {("hr", "sales")}


def test_a_document_deleted_meanwhile_is_not_brought_back(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = tmp_path / "gone.pdf"
    doc_id = stored(runner, pdf, 6)
    rewrite = ingest_pipeline.restamp_units

    def then_deleted(*args: Any, **kwargs: Any) -> dict[str, int]:
        done = rewrite(*args, **kwargs)
        DocumentRegistry.open(settings).delete(TENANT, doc_id)  # an admin's delete, between rows and record
        return done

    monkeypatch.setattr(ingest_pipeline, "restamp_units", then_deleted)
    report = runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    assert [(d.status, d.error) for d in report.documents] == [(FAILED, DELETED_MEANWHILE)]
    assert rows_of(runner, doc_id) == {}
    assert DocumentRegistry.open(settings).get(TENANT, doc_id) is None


def test_a_store_failure_fails_the_document_and_the_next_run_replaces_it(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = figure_pdf(tmp_path / "flaky.pdf", seed=7, n_figures=1)
    fine = figure_pdf(tmp_path / "fine.pdf", seed=8, n_figures=1)
    first = runner.run([pdf, fine], groups=["finance"], tenant=TENANT, progress=False)
    doc_id = first.documents[0].doc_id
    rewrite = runner.store.rewrite_fields

    def flaky(collection: str, tenant: str, doc: str, *args: Any, **kwargs: Any) -> int:
        if doc == doc_id:
            raise StoreError("store unreachable")
        return rewrite(collection, tenant, doc, *args, **kwargs)

    monkeypatch.setattr(runner.store, "rewrite_fields", flaky)
    report = runner.run([pdf, fine], groups=["ops"], tenant=TENANT, progress=False)
    assert [d.status for d in report.documents] == [FAILED, UPDATED]  # the other document goes on
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    # A rewrite may have landed in some collection: the record holds the groups its rows may hold.
    assert record.state == DocState.FAILED and record.failure == TRANSIENT and record.groups == ["ops"]

    monkeypatch.setattr(runner.store, "rewrite_fields", rewrite)
    healed = runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    assert healed.documents[0].status in (
        INDEXED,
        REPLACED,
    )  # written again (a failed one counts as new)
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("ops",)}


def test_a_cancel_stops_between_documents(
    runner: IngestRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdfs = [figure_pdf(tmp_path / f"d{i}.pdf", seed=10 + i, n_figures=1) for i in range(3)]
    ids = [d.doc_id for d in runner.run(pdfs, groups=["finance"], tenant=TENANT, progress=False).documents]
    asked: list[int] = []

    def cancelled() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first document

    with pytest.raises(ExtractCancelled):
        runner.run(pdfs, groups=["ops"], tenant=TENANT, progress=False, cancelled=cancelled)
    groups = [{tuple(r[F_GROUPS]) for r in rows_of(runner, i).values()} for i in ids]
    assert groups == [{("ops",)}, {("finance",)}, {("finance",)}]  # each document whole, one way or the other


def test_a_failure_after_the_rows_were_rewritten_leaves_the_new_groups_on_the_record(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows rewritten with the new groups, then the registry failed: the failed record kept the old groups,
    and the next run without --groups wrote every unit again with those, undoing the change."""
    pdf = tmp_path / "late.pdf"
    doc_id = stored(runner, pdf, 21)
    update = runner.registry.update
    calls: list[int] = []

    def failing_once(record: Any, **kwargs: Any) -> bool:
        calls.append(1)
        if len(calls) == 2:  # the first marks it pending, the second records the change
            raise StoreError("registry unreachable")
        return update(record, **kwargs)

    monkeypatch.setattr(runner.registry, "update", failing_once)
    report = runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    assert [d.status for d in report.documents] == [FAILED]
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record.state == DocState.FAILED and record.groups == ["ops"]  # as its rows
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("ops",)}
    healed = runner.run([pdf], groups=None, tenant=TENANT, progress=False)
    assert healed.documents[0].status in (INDEXED, REPLACED)
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("ops",)}


class Crash(BaseException):
    """The process dies here (kill -9, a lost machine): no handler of the ingest's runs."""


@pytest.mark.parametrize("groups", [None, ["finance"]], ids=["rerun-without-groups", "rerun-with-old-groups"])
def test_a_crash_between_the_rows_and_the_record_is_healed_by_the_next_run(
    runner: IngestRunner,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    groups: list[str] | None,
) -> None:
    """Killed after the rows were rewritten with the new groups, before the record was (a read-only crash
    audit, 2026-12-06 evening): the record still said the old groups and indexed, so the next run found the
    document unchanged, and its rows kept groups no listing showed; whoever was in them found it. Now the
    next run first finishes the update the record was marked for, then does what it was asked."""
    pdf = tmp_path / "crashed.pdf"
    doc_id = stored(runner, pdf, 23)  # finance
    record_change = ingest_pipeline.update_or_undo

    def dies_at_the_record(registry: Any, store: Any, record: Any, **kwargs: Any) -> None:
        if not record.rewriting:  # the record's last write, after the rows
            raise Crash
        record_change(registry, store, record, **kwargs)

    monkeypatch.setattr(ingest_pipeline, "update_or_undo", dies_at_the_record)
    with pytest.raises(Crash):
        runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("ops",)}
    # What readers see in the meantime is an indexed document (a pending state, the first fix, told readers
    # of finance that something changed while an admin only added a group they are not in).
    assert DocumentRegistry.open(settings).get(TENANT, doc_id).state == DocState.INDEXED
    monkeypatch.setattr(ingest_pipeline, "update_or_undo", record_change)

    again = IngestRunner(settings).run([pdf], groups=groups, tenant=TENANT, progress=False)
    assert again.documents[0].status == (SKIPPED if groups is None else UPDATED), again.documents[0]
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record is not None and record.state == DocState.INDEXED and not record.rewriting
    assert record.groups == (groups or ["ops"])
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {tuple(record.groups)}


def test_a_document_another_ingest_changed_meanwhile_is_left_to_it(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Planned as unchanged, then written by another ingest (new bytes) before this one's rewrite: the
    rewrite would stamp the other's units and write the old content hash over its record."""
    pdf = tmp_path / "raced.pdf"
    doc_id = stored(runner, pdf, 22)
    plan = runner._plan

    def then_replaced(*args: Any, **kwargs: Any) -> Any:
        planned = plan(*args, **kwargs)
        registry = DocumentRegistry.open(settings)
        other = registry.get(TENANT, doc_id).model_copy(update={"sha256": "f" * 64})
        registry.update(other)  # the other ingest's new version
        return planned

    monkeypatch.setattr(runner, "_plan", then_replaced)
    report = runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    assert [(d.status, d.error) for d in report.documents] == [(FAILED, CHANGED_MEANWHILE)]
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record.sha256 == "f" * 64 and record.groups == ["finance"]
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("finance",)}


@pytest.mark.parametrize("groups", [["finance"], ["ops"]], ids=["unchanged", "in-place"])
def test_an_upload_of_the_same_bytes_keeps_where_the_file_was_ingested_from(
    runner: IngestRunner, settings: Settings, tmp_path: Path, groups: list[str]
) -> None:
    """An upload's path is the server's spool file, so its source is empty; for an unchanged or regrouped
    document that blanked the folder path it was ingested from (a read-only trust audit, 2026-12-06), and
    the document dropped out of that folder's `gone` list and `--prune`."""
    pdf = tmp_path / "folder" / "kept.pdf"
    pdf.parent.mkdir()
    doc_id = stored(runner, pdf, 24)  # finance, from the folder
    spool = tmp_path / "spool-0001.pdf"
    spool.write_bytes(pdf.read_bytes())
    report = runner.run([spool], groups=groups, tenant=TENANT, progress=False, display_name="kept.pdf")
    assert [(d.doc_id, d.status) for d in report.documents] == [
        (doc_id, SKIPPED if groups == ["finance"] else UPDATED)
    ]
    assert DocumentRegistry.open(settings).get(TENANT, doc_id).source == str(pdf)


def test_a_crashed_update_whose_file_then_fails_is_finished_first(
    runner: IngestRunner, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed mid-update, then the file changed into one that fails for its bytes: the failure kept the
    mark and the old units, and later runs skipped the unchanged broken file (failed before), so rows and
    record never matched again (a read-only review). The update is finished before anything else."""
    pdf = tmp_path / "broken-later.pdf"
    doc_id = stored(runner, pdf, 25)  # finance
    record_change = ingest_pipeline.update_or_undo

    def dies_at_the_record(registry: Any, store: Any, record: Any, **kwargs: Any) -> None:
        if not record.rewriting:
            raise Crash
        record_change(registry, store, record, **kwargs)

    monkeypatch.setattr(ingest_pipeline, "update_or_undo", dies_at_the_record)
    with pytest.raises(Crash):
        runner.run([pdf], groups=["ops"], tenant=TENANT, progress=False)
    monkeypatch.setattr(ingest_pipeline, "update_or_undo", record_change)
    pdf.write_bytes(b"%PDF-1.7\nnot a PDF at all")
    failed = IngestRunner(settings).run([pdf], groups=None, tenant=TENANT, progress=False)
    assert [d.status for d in failed.documents] == [FAILED]
    record = DocumentRegistry.open(settings).get(TENANT, doc_id)
    assert record is not None and not record.rewriting and record.groups == ["ops"]
    assert {tuple(r[F_GROUPS]) for r in rows_of(runner, doc_id).values()} == {("ops",)}
