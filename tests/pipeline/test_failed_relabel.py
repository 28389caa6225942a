"""A document whose file failed and was never indexed kept the groups of its first ingest when the folder
was ingested again with other groups, `--retry-failed` or not: the old groups went on listing it with its
error (over HTTP, `GET /v1/documents`), the new ones never saw it (an audit, 2026-12-07). Nothing of it is
searchable, so it takes the run's groups and tags, as an unchanged file's are rewritten in place."""

from __future__ import annotations

from pathlib import Path

from figvault.pipeline.ingest_pipeline import FAILED, FAILED_BEFORE, INDEXED, UPDATED, ingest_paths
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf


def test_a_never_indexed_document_takes_the_groups_and_tags_of_each_run(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "good.pdf", seed=1, n_figures=1)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntruncated")

    def run(groups: list[str], tags: list[str], retry: bool = False) -> dict[str, str]:
        report = ingest_paths(
            settings, [folder], groups=groups, tenant="default", progress=False, tags=tags, retry_failed=retry
        )
        return {Path(d.path).name: d.status for d in report.documents}

    def labels() -> dict[str, tuple[list[str], list[str]]]:
        return {r.name: (r.groups, r.tags) for r in DocumentRegistry.open(settings).list("default")}

    assert run(["g1"], ["q1"]) == {"good.pdf": INDEXED, "broken.pdf": FAILED}
    assert run(["g2"], ["q2"]) == {"good.pdf": UPDATED, "broken.pdf": FAILED_BEFORE}
    assert labels() == {"good.pdf": (["g2"], ["q2"]), "broken.pdf": (["g2"], ["q2"])}  # was g1, q1
    assert run(["g3"], [], retry=True) == {"good.pdf": UPDATED, "broken.pdf": FAILED}
    assert labels() == {"good.pdf": (["g3"], []), "broken.pdf": (["g3"], [])}


def test_a_document_a_killed_run_never_stored_is_new_when_written(tmp_path: Path) -> None:
    """A run killed while writing a document's first version leaves its record pending, with the file's
    hash and no units; the re-run wrote it and counted it "replaced" (an audit, 2026-12-07: 5 new and 1
    replaced where an uninterrupted run says 6 new)."""
    from figvault.pipeline.registry import DocState, DocumentRecord

    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    path = figure_pdf(tmp_path / "report.pdf", seed=2, n_figures=1)
    first = ingest_paths(settings, [path], groups=["g"], tenant="default", progress=False)
    [done] = first.documents
    registry = DocumentRegistry.open(settings)
    registry.delete("default", done.doc_id)
    killed = DocumentRecord(
        doc_id=done.doc_id,
        tenant="default",
        name="report.pdf",
        sha256="0" * 64,
        state=DocState.PENDING,
        groups=["g"],
        source=str(path),
    )
    registry.put(killed)
    again = ingest_paths(settings, [path], groups=["g"], tenant="default", progress=False)
    assert [d.status for d in again.documents] == [INDEXED]


def _broken_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    figure_pdf(folder / "good.pdf", seed=1, n_figures=1)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj<<>>endobj\ntruncated")
    return folder


def test_an_older_request_run_later_leaves_a_failed_documents_groups(tmp_path: Path) -> None:
    """The later request wins for a failed document as for an indexed one: a run that found its groups as
    it asked recorded nothing, so an older job resumed after it relabelled it (a review, 2026-12-07)."""
    import time

    from figvault.pipeline.ingest_pipeline import IngestRunner

    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    folder = _broken_folder(tmp_path)

    def run(groups: list[str], asked_at: float) -> None:
        runner = IngestRunner(settings)
        runner.run([folder], groups=groups, tenant="default", progress=False, asked_at=asked_at)
        runner.conn.close()

    t0 = time.time()
    run(["g1"], t0)
    run(["g1"], t0 + 20)  # the latest request
    run(["g0"], t0 + 10)  # an older job, resumed late
    groups = {r.name: r.groups for r in DocumentRegistry.open(settings).list("default")}
    assert groups == {"good.pdf": ["g1"], "broken.pdf": ["g1"]}


def test_a_change_of_a_failed_documents_groups_alone_keeps_its_time(tmp_path: Path) -> None:
    """``updated_at`` is seen by readers; a change of groups alone does not move it (a reader would see when
    a group it is not in was given or taken: ``DocumentRegistry.update``)."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    folder = _broken_folder(tmp_path)
    ingest_paths(settings, [folder], groups=["g1", "secret"], tenant="default", progress=False)
    before = {r.name: r.updated_at for r in DocumentRegistry.open(settings).list("default")}
    ingest_paths(settings, [folder], groups=["g1"], tenant="default", progress=False)
    after = {r.name: (r.groups, r.updated_at) for r in DocumentRegistry.open(settings).list("default")}
    assert after["broken.pdf"] == (["g1"], before["broken.pdf"])
