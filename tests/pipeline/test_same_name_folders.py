"""Files of one name in different folders are different documents. A file took over the document of
another file of its name that was still in place: `ingest fin` then `ingest hr` left finance's document
holding hr's figures with hr's groups, and each later run of either folder gave it back (an audit,
2026-12-07). Two files of one name in one run could also both go to one document (an upload's), and only
the last stayed. A file moved within its folder keeps its document."""

from __future__ import annotations

from pathlib import Path

from figvault.pipeline.ingest_pipeline import INDEXED, SKIPPED, ingest_paths
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf


def pdf(path: Path, seed: int, n_figures: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return figure_pdf(path, seed=seed, n_figures=n_figures)


def settings_in(tmp_path: Path) -> Settings:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.extract.workers = 1
    return settings


def statuses(settings: Settings, paths: list[Path], groups: list[str]) -> list[str]:
    report = ingest_paths(settings, paths, groups=groups, tenant="default", progress=False)
    return [d.status for d in report.documents]


def test_a_file_of_the_same_name_in_another_folder_is_another_document(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    fin = pdf(tmp_path / "fin" / "report.pdf", seed=1, n_figures=1)
    hr = pdf(tmp_path / "hr" / "report.pdf", seed=2, n_figures=2)
    assert statuses(settings, [fin.parent], ["finance"]) == [INDEXED]
    assert statuses(settings, [hr.parent], ["hr"]) == [INDEXED]  # was "replaced": finance's document
    records = {r.source: r for r in DocumentRegistry.open(settings).list("default")}
    assert set(records) == {str(fin), str(hr)}
    assert records[str(fin)].groups == ["finance"] and records[str(fin)].units == 1
    assert records[str(hr)].groups == ["hr"] and records[str(hr)].units == 2
    # Re-runs change nothing (they gave the document back and forth).
    assert statuses(settings, [fin.parent], ["finance"]) == [SKIPPED]
    assert statuses(settings, [hr.parent], ["hr"]) == [SKIPPED]


def test_two_files_of_one_name_in_one_run_are_two_documents(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    registry = DocumentRegistry.open(settings)
    upload = DocumentRecord(doc_id="doc_upload", tenant="default", name="report.pdf", state=DocState.FAILED)
    registry.put(upload)  # a document of that name with no file of its own (an upload that failed)
    a = pdf(tmp_path / "drop" / "a" / "report.pdf", seed=3, n_figures=1)
    pdf(tmp_path / "drop" / "b" / "report.pdf", seed=4, n_figures=1)
    first = statuses(settings, [a.parent.parent], ["g"])
    assert sorted(first) == ["indexed", "replaced"] or sorted(first) == ["indexed", "indexed"], first
    records = DocumentRegistry.open(settings).list("default")
    assert len(records) == 2 and all(r.units == 1 for r in records), records
    assert statuses(settings, [a.parent.parent], ["g"]) == [SKIPPED, SKIPPED]


def test_a_file_moved_within_its_folder_keeps_its_document(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    report = pdf(tmp_path / "fin" / "report.pdf", seed=5, n_figures=1)
    assert statuses(settings, [report.parent], ["finance"]) == [INDEXED]
    [before] = DocumentRegistry.open(settings).list("default")
    (tmp_path / "fin" / "2024").mkdir()
    moved = report.rename(tmp_path / "fin" / "2024" / "report.pdf")
    assert statuses(settings, [tmp_path / "fin"], ["finance"]) == [SKIPPED]
    [after] = DocumentRegistry.open(settings).list("default")
    assert after.doc_id == before.doc_id and after.source == str(moved)


def test_a_folder_reached_by_another_path_is_the_same_documents(tmp_path: Path) -> None:
    """The command line keeps a path as given (``..``, links); compared as strings, the same folder reached
    another way made every document again (a review, 2026-12-07)."""
    settings = settings_in(tmp_path)
    report = pdf(tmp_path / "docs" / "report.pdf", seed=6, n_figures=1)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "docs", target_is_directory=True)
    assert statuses(settings, [report.parent], ["g"]) == [INDEXED]
    assert statuses(settings, [tmp_path / "sub" / ".." / "docs"], ["g"]) == [SKIPPED]
    assert statuses(settings, [tmp_path / "link"], ["g"]) == [SKIPPED]
    assert len(DocumentRegistry.open(settings).list("default")) == 1


def test_of_a_files_documents_of_several_groups_a_run_takes_the_one_of_its_groups(tmp_path: Path) -> None:
    """Editors of two groups who ingest one server folder make a document each of every file (neither may
    replace the other's). A run by someone who may replace both (an admin, the command line) failed every
    such file as ambiguous (an audit, 2026-12-07); now the document of exactly the run's groups is the
    file's, and a run of other groups is still refused rather than guessing."""
    settings = settings_in(tmp_path)
    report = pdf(tmp_path / "shared" / "report.pdf", seed=5, n_figures=1)
    assert statuses(settings, [report.parent], ["a"]) == [INDEXED]
    registry = DocumentRegistry.open(settings)
    [mine] = registry.list("default")
    registry.put(mine.model_copy(update={"doc_id": "doc_of_group_b", "groups": ["b"]}))  # group b's editor's
    assert statuses(settings, [report.parent], ["a"]) == [SKIPPED]  # was failed: ambiguous
    assert statuses(settings, [report.parent], ["b"]) == [SKIPPED]
    assert statuses(settings, [report.parent], ["a", "b"]) == ["failed"]
    assert sorted((r.doc_id == mine.doc_id, r.groups) for r in registry.list("default")) == [
        (False, ["b"]),
        (True, ["a"]),
    ]
