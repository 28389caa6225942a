"""Incremental ingest, offline profile (MiniLM + BM25): idempotent, replace-safe, failure-isolated."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from figvault.access import Principal, local_operator
from figvault.pipeline.doc_identity import find_document
from figvault.pipeline.ingest_pipeline import (
    FAILED,
    INDEXED,
    REPLACED,
    SKIPPED,
    IngestRunner,
    copy_note_of,
    delete_document,
    ingest_paths,
)
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    s = load_settings("offline", data_dir=tmp_path_factory.mktemp("ingest"))
    s.extract.workers = 1  # no process pool for three one-page PDFs
    return s


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("docs")
    return [figure_pdf(folder / f"report-{i}.pdf", seed=i) for i in range(3)]


@pytest.fixture(scope="module")
def first_report(settings: Settings, docs: list[Path]):
    return ingest_paths(settings, docs, groups=["eng"], tenant="acme", progress=False)


def doc_id_of(settings: Settings, tenant: str, name: str) -> str:
    """The id of the tenant's one document named ``name`` (ids are chosen by the server)."""
    record = find_document(DocumentRegistry.open(settings), tenant, name)
    assert record is not None, f"no document {name} in {tenant}"
    return record.doc_id


def store_ids(settings: Settings, tenant: str, name: str) -> set[str]:
    store = MilvusUnitStore.from_settings(settings)
    return store.unit_ids_of_doc(store.served_collection(), tenant, doc_id_of(settings, tenant, name))


def test_first_ingest_indexes_every_figure(settings: Settings, first_report) -> None:
    assert [d.status for d in first_report.documents] == [INDEXED] * 3
    assert first_report.units == 6
    registry = DocumentRegistry.open(settings)
    records = registry.list("acme")
    assert [r.state for r in records] == [DocState.INDEXED] * 3
    assert all(r.units == 2 and r.embedding_version == first_report.embedding_version for r in records)


ASKED = {"groups_asked_at", "tags_asked_at"}
"""When a document's labels were last asked for: internal, never shown, recorded again by a re-run."""


def test_rerun_changes_nothing(settings: Settings, docs: list[Path], first_report) -> None:
    before = {d.name: store_ids(settings, "acme", d.name) for d in docs}
    # Everything but when the groups were last asked for (internal, never shown): the re-run asked for them
    # again, and an older job resumed later must not change them (docs/jobs.md "The later request wins").
    registry_before = [r.model_dump(exclude=ASKED) for r in DocumentRegistry.open(settings).list("acme")]
    again = ingest_paths(settings, docs, groups=["eng"], tenant="acme", progress=False)
    assert [d.status for d in again.documents] == [SKIPPED] * 3
    assert {d.name: store_ids(settings, "acme", d.name) for d in docs} == before
    registry_after = DocumentRegistry.open(settings).list("acme")
    assert [r.model_dump(exclude=ASKED) for r in registry_after] == registry_before


def test_changed_file_replaces_its_units(settings: Settings, docs: list[Path], first_report) -> None:
    path = docs[1]
    old = store_ids(settings, "acme", path.name)
    figure_pdf(path, seed=41, n_figures=1)
    report = ingest_paths(settings, [path], groups=["eng"], tenant="acme", progress=False)
    outcome = report.documents[0]
    assert outcome.status == REPLACED and outcome.units == 1 and outcome.removed == 2
    new = store_ids(settings, "acme", path.name)
    assert len(new) == 1 and not (new & old)


def test_a_folder_with_one_name_twice_re_runs_without_a_change(settings: Settings, tmp_path: Path) -> None:
    # q1/report.pdf and q2/report.pdf: two documents of one name; a re-run found both names ambiguous and
    # failed them. Each finds its document again by its place, a changed one too (it needed its id before
    # 2026-12-07).
    for folder in ("q1", "q2"):
        (tmp_path / folder).mkdir()
    first = figure_pdf(tmp_path / "q1" / "report.pdf", seed=5)
    second = figure_pdf(tmp_path / "q2" / "report.pdf", seed=6)
    run = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="twins", progress=False)
    assert [d.status for d in run.documents] == [INDEXED, INDEXED]
    again = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="twins", progress=False)
    assert [d.status for d in again.documents] == [SKIPPED, SKIPPED]
    assert {d.doc_id for d in again.documents} == {d.doc_id for d in run.documents}
    figure_pdf(second, seed=7, n_figures=1)
    changed = {
        d.path: d
        for d in ingest_paths(settings, [tmp_path], groups=["eng"], tenant="twins", progress=False).documents
    }
    assert changed[str(first)].status == SKIPPED
    assert changed[str(second)].status == REPLACED
    assert changed[str(second)].doc_id == next(d.doc_id for d in run.documents if d.path == str(second))


def test_two_copies_in_one_ingest_are_noted(settings: Settings, tmp_path: Path) -> None:
    # a.pdf and its copy b.pdf ingested together became two documents without a word (the note looked only
    # at documents stored before the run).
    a = figure_pdf(tmp_path / "a.pdf", seed=12)
    (tmp_path / "b.pdf").write_bytes(a.read_bytes())
    run = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="copies", progress=False).documents
    notes = {d.name: d.warnings for d in run}
    assert notes["a.pdf"] == []
    first = next(d.doc_id for d in run if d.name == "a.pdf")
    said = f"same content as document 'a.pdf' of this ingest ({first}): a renamed"
    assert notes["b.pdf"][0].startswith(said)
    assert copy_note_of(notes["b.pdf"][0]) == first  # the job's viewers are judged by the id it names


def test_a_renamed_file_is_a_new_document_with_a_warning(settings: Settings, tmp_path: Path) -> None:
    # A renamed file became a second document of the same figures without a word; search showed both.
    old = figure_pdf(tmp_path / "q3-review.pdf", seed=8)
    ingest_paths(settings, [old], groups=["eng"], tenant="moves", progress=False)
    new = old.rename(tmp_path / "q3-review-final.pdf")
    moved = ingest_paths(settings, [new], groups=["eng"], tenant="moves", progress=False).documents[0]
    first = doc_id_of(settings, "moves", "q3-review.pdf")
    assert moved.status == INDEXED
    assert moved.warnings[0].startswith(f"same content as document 'q3-review.pdf' ({first}): a renamed")
    delete_document(settings, "moves", first)
    figure_pdf(tmp_path / "other.pdf", seed=9)
    again = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="moves", progress=False).documents
    assert sorted((d.name, d.status, d.warnings) for d in again) == [
        ("other.pdf", INDEXED, []),
        ("q3-review-final.pdf", SKIPPED, []),
    ]


def test_crash_between_write_and_delete_keeps_the_document(
    settings: Settings, docs: list[Path], first_report, caplog: pytest.LogCaptureFixture
):
    path = docs[2]
    old = store_ids(settings, "acme", path.name)
    figure_pdf(path, seed=77, n_figures=1)

    def crash(stage: str, _outcome) -> None:
        if stage == "written":
            raise RuntimeError("simulated crash after writing the new units, at milvus.corp.internal:19530")

    runner = IngestRunner(settings, hook=crash)
    with caplog.at_level(logging.WARNING, logger="figvault"):
        report = runner.run([path], groups=["eng"], tenant="acme", progress=False)
    assert report.documents[0].status == FAILED
    # Readers see a document's error: another program's text (a store's, naming its host) stays in the log.
    assert report.documents[0].error == "an internal error (RuntimeError); the server log has the details"
    assert "milvus.corp.internal:19530" in caplog.text
    during = store_ids(settings, "acme", path.name)
    assert old <= during and len(during) == len(old) + 1  # old and new, never none
    assert DocumentRegistry.open(settings).get("acme", doc_id_of(settings, "acme", path.name)).state == (
        DocState.FAILED
    )
    # The next run finishes the job: only the new unit is left.
    healed = ingest_paths(settings, [path], groups=["eng"], tenant="acme", progress=False)
    assert healed.documents[0].status in (INDEXED, REPLACED)
    assert store_ids(settings, "acme", path.name) == during - old


def test_a_corrupt_file_fails_alone(
    settings: Settings, docs: list[Path], tmp_path: Path, first_report
) -> None:
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nthis is not a pdf body")
    fresh = figure_pdf(tmp_path / "fresh.pdf", seed=9)
    report = ingest_paths(
        settings, [bad, fresh, tmp_path / "missing.pdf"], groups=["eng"], tenant="acme", progress=False
    )
    status = {Path(d.path).name: d for d in report.documents}
    assert status["fresh.pdf"].status == INDEXED
    assert status["broken.pdf"].status == FAILED and status["broken.pdf"].error
    assert status["missing.pdf"].status == FAILED
    record = DocumentRegistry.open(settings).get("acme", status["broken.pdf"].doc_id)
    assert record.state == DocState.FAILED and record.error == status["broken.pdf"].error


def test_two_tenants_ingesting_one_file_do_not_collide(settings: Settings, docs: list[Path], first_report):
    ingest_paths(settings, [docs[0]], groups=["ops"], tenant="globex", progress=False)
    acme, globex = store_ids(settings, "acme", docs[0].name), store_ids(settings, "globex", docs[0].name)
    assert len(acme) == len(globex) == 2 and not (acme & globex)
    engine = SearchEngine.from_settings(settings)
    hits = engine.search(
        Principal(user="o", tenant="globex", groups=["ops"]), SearchRequest(query="report 0")
    )
    assert hits.results and {h.unit_id for h in hits.results} <= globex
    assert engine.count(Principal(user="e", tenant="globex", groups=["eng"])) == 0
    assert engine.count(local_operator("acme")) >= 6


def test_delete_document(settings: Settings, docs: list[Path], first_report) -> None:
    ingest_paths(settings, [docs[0]], groups=["tmp"], tenant="initech", progress=False)
    assert store_ids(settings, "initech", docs[0].name)
    doc_id = doc_id_of(settings, "initech", docs[0].name)
    assert delete_document(settings, "initech", doc_id)
    store = MilvusUnitStore.from_settings(settings)
    assert store.unit_ids_of_doc(store.served_collection(), "initech", doc_id) == set()
    assert DocumentRegistry.open(settings).get("initech", doc_id) is None
    assert not delete_document(settings, "initech", doc_id)


@pytest.mark.parametrize(
    ("when", "version"),
    [
        ("before its write", "a replacement"),  # extracted and encoded; deleted before the write stage
        ("after its units", "a replacement"),
        ("after its units", "a new document"),  # registered by this write, deleted as it ran
    ],
)
def test_a_document_deleted_while_its_batch_writes_it_stays_deleted(
    settings: Settings, tmp_path: Path, when: str, version: str
) -> None:
    """A deletion was checked only before a batch (``DELETED_MEANWHILE``): a document deleted while the
    batch that writes it ran came back, its record written again over the deletion (with its units, or,
    deleted after its units landed, with a count of units the store no longer held). A deletion wins now,
    whenever it lands: no record and no unit of the document stay."""
    from figvault.pipeline.registry import DELETED_MEANWHILE

    tenant = f"race-{when[:5]}-{version[2:5]}"
    path = figure_pdf(tmp_path / "racing.pdf", seed=31)
    if version == "a replacement":
        ingest_paths(settings, [path], groups=["eng"], tenant=tenant, progress=False)
        figure_pdf(path, seed=32, n_figures=2)  # its next version

    def delete(doc_id: str) -> None:
        assert delete_document(settings, tenant, doc_id)

    runner = IngestRunner(settings, hook=lambda stage, outcome: delete(outcome.doc_id))
    if when == "before its write":
        runner.hook, extracted = None, runner.engine.run

        def run_then_delete(*args, **kwargs):
            for spec, result in extracted(*args, **kwargs):
                delete(spec.doc_id)
                yield spec, result

        runner.engine.run = run_then_delete
    report = runner.run([path], groups=["eng"], tenant=tenant, progress=False)
    [outcome] = report.documents
    assert (outcome.status, outcome.error) == (FAILED, DELETED_MEANWHILE)
    assert DocumentRegistry.open(settings).get(tenant, outcome.doc_id) is None
    store = MilvusUnitStore.from_settings(settings)
    assert store.unit_ids_of_doc(store.served_collection(), tenant, outcome.doc_id) == set()


def test_a_document_named_before_names_were_cleaned_is_found_by_its_path(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Server files' names are cleaned since e9ee123 (display_name); a document ingested before under a name
    # that cleans differently was not found by its cleaned name: the next ingest of the same file made a
    # second document of the same figures. Its exact path (``source``) finds it.
    import figvault.pipeline.ingest_pipeline as ingest_pipeline

    raw = ["x\u202egpj.pdf", "zero\u200bwidth.pdf"]
    paths = [figure_pdf(tmp_path / name, seed=50 + i) for i, name in enumerate(raw)]
    with monkeypatch.context() as old_code:  # the naming before e9ee123: the file name as it is
        old_code.setattr(ingest_pipeline, "display_name", lambda name, fallback="upload": name)
        old = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="legacy", progress=False)
    registry = DocumentRegistry.open(settings)
    assert sorted(r.name for r in registry.list("legacy")) == sorted(raw)
    units = {name: store_ids(settings, "legacy", name) for name in raw}
    again = ingest_paths(settings, [tmp_path], groups=["eng"], tenant="legacy", progress=False)
    assert [d.status for d in again.documents] == [SKIPPED, SKIPPED]
    assert {d.doc_id for d in again.documents} == {d.doc_id for d in old.documents}
    assert len(registry.list("legacy")) == 2
    assert {name: store_ids(settings, "legacy", name) for name in raw} == units
    figure_pdf(paths[0], seed=60, n_figures=1)  # changed: replaced in place, under its cleaned name
    changed = {
        d.path: d
        for d in ingest_paths(settings, [tmp_path], groups=["eng"], tenant="legacy", progress=False).documents
    }
    assert (changed[str(paths[0])].status, changed[str(paths[1])].status) == (REPLACED, SKIPPED)
    assert {d.doc_id for d in changed.values()} == {d.doc_id for d in old.documents}
    assert sorted(r.name for r in registry.list("legacy")) == ["xgpj.pdf", raw[1]]
