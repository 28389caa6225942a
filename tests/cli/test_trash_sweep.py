"""The files of a document deleted while an ingest held the store are noted in ``trash/`` and removed at
the next sweep. Before, only the job runner of ``figvault serve`` swept: someone who uses the command line
alone (a Milvus server shared by two terminals, one ingesting while the other deletes) kept those files
forever. Now the end of every command-line job and every deletion that gets the store lock sweep too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.document_files import IN_FLIGHT, TRASH_AREA
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.settings import Settings, load_settings
from figvault.storage import BlobStore, Storage
from tests.generated_docs import figure_pdf

load_commands()


def left_by_an_earlier_deletion(settings: Settings) -> tuple[BlobStore, str]:
    """A blob no unit names, and the note an earlier deletion left for it (what ``remove_left_files``
    writes when an ingest holds the store)."""
    blobs = BlobStore.from_settings(settings)
    key = blobs.put(b"the picture of a deleted document")
    note = json.dumps({"blobs": [key], "sha256": ""}).encode()
    Storage.from_settings(settings).area(TRASH_AREA).write("earlier.json", note)
    return blobs, key


def notes(settings: Settings, folder: str = "") -> list[str]:
    return Storage.from_settings(settings).area(TRASH_AREA).list(f"{folder}*.json")


def run(settings: Settings, *args: str) -> None:
    base = ["--config", "offline", "--data-dir", str(settings.data_dir)]
    result = CliRunner().invoke(app, [*base, *args])
    assert result.exit_code == 0, result.output


def test_documents_delete_sweeps_earlier_notes(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    DocumentRegistry.open(settings).put(
        DocumentRecord(doc_id="doc_a", tenant="default", name="a.pdf", state=DocState.INDEXED, units=0)
    )
    blobs, key = left_by_an_earlier_deletion(settings)
    run(settings, "documents", "delete", "doc_a")
    assert not blobs.exists(key) and notes(settings) == []


def test_a_command_line_ingest_sweeps_at_its_end(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    blobs, key = left_by_an_earlier_deletion(settings)
    figure_pdf(tmp_path / "report.pdf", seed=5)
    run(settings, "ingest", str(tmp_path / "report.pdf"), "--groups", "eng", "-q")
    assert not blobs.exists(key) and notes(settings) == []
    assert blobs.keys(), "the new document's own pictures stay"


def test_a_replacement_leaves_no_picture_of_its_old_version(tmp_path: Path) -> None:
    """A changed file replaced its document and kept the old version's pictures for good (a read-only crash
    audit, 2026-12-06: 58 blob files for 56 units after one replacement). Now they are noted for the
    sweep at the job's end, which keeps what a unit of any document still names."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    blobs = BlobStore.from_settings(settings)
    old = set(blobs.keys())
    figure_pdf(report, seed=6, n_figures=1)  # a new version, with another picture
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    [record] = DocumentRegistry.open(settings).list()
    assert notes(settings) == [] and record.units == 1
    assert not old & set(blobs.keys()) and len(blobs.keys()) == 1


def test_a_replacement_keeps_the_pictures_another_document_names(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "kept.pdf").write_bytes(report.read_bytes())
    run(settings, "ingest", str(report), str(copy / "kept.pdf"), "--groups", "eng", "-q")
    blobs = BlobStore.from_settings(settings)
    shared = set(blobs.keys())
    figure_pdf(report, seed=6, n_figures=1)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    assert shared <= set(blobs.keys()) and notes(settings) == []


def test_a_replacement_whose_note_cannot_be_written_is_still_indexed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The note of the old version's files is housekeeping: a disk too full to write it leaves those files
    where they are, and the new version, already indexed, is not reported failed (a read-only review)."""
    import errno

    from figvault.pipeline import ingest_pipeline

    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ingest_pipeline, "note_replaced", full)
    figure_pdf(report, seed=6, n_figures=1)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    [record] = DocumentRegistry.open(settings).list()
    assert record.state == DocState.INDEXED and record.units == 1


class Killed(BaseException):
    """The process killed between the pictures and the units (not an Exception: nothing catches it)."""


def _failing_upsert(monkeypatch: pytest.MonkeyPatch, error: BaseException) -> None:
    from figvault.retrieval.milvus_store import MilvusUnitStore

    def fail(*_args: object, **_kwargs: object) -> None:
        raise error

    monkeypatch.setattr(MilvusUnitStore, "upsert_rows", fail)


def ingest_with_the_store_down(settings: Settings, report: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``figvault ingest`` of ``report`` while every write of units fails with a store error: it fails."""
    from figvault.errors import StoreError

    with monkeypatch.context() as patch:
        _failing_upsert(patch, StoreError("the store went away"))
        base = ["--config", "offline", "--data-dir", str(settings.data_dir)]
        result = CliRunner().invoke(app, [*base, "ingest", str(report), "--groups", "eng", "-q"])
        assert result.exit_code != 0 and "every document failed" in result.output


def test_a_run_killed_before_its_units_leaves_its_pictures_to_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pictures are written before the units that name them; a run killed in between, whose document
    was then deleted, left them for good: a deletion lists the pictures its units name (a read-only crash
    audit, 2026-12-06). Now the ingest notes its new files first, and the deletion's sweep removes them."""
    from figvault.pipeline.ingest_pipeline import ingest_paths

    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    with monkeypatch.context() as patch:
        _failing_upsert(patch, Killed())
        with pytest.raises(Killed):
            ingest_paths(settings, [report], groups=["eng"], tenant="default", progress=False)
    blobs = BlobStore.from_settings(settings)
    [record] = DocumentRegistry.open(settings).list()
    assert record.state == DocState.PENDING and blobs.keys(), "the crash came after the pictures"
    assert len(notes(settings, IN_FLIGHT)) == 1 and notes(settings) == []
    run(settings, "documents", "delete", record.doc_id)
    assert blobs.keys() == [] and notes(settings) == notes(settings, IN_FLIGHT) == []


def test_a_sweep_does_not_wait_for_the_notes_of_writes_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An ingest keeps a note of its new files while it writes them: a sweep elsewhere (the job runner's
    every round, a deletion's) that counted it waited 2 s for the store lock each time (a review)."""
    from figvault.pipeline import document_files
    from figvault.pipeline.document_files import LeftFiles, note_new_files, sweep

    settings = load_settings("offline", data_dir=tmp_path / "data")
    note_new_files(settings, LeftFiles(["0" * 64], ""))
    locked: list[bool] = []
    monkeypatch.setattr(document_files, "store_write_lock", lambda *_a, **_k: locked.append(True))
    assert sweep(settings) == 0 and locked == []


def test_a_write_that_fails_before_its_units_leaves_no_picture(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error between the pictures and the units: the document is failed, and the sweep at the end
    of the job removes the pictures no unit names (an indexed document's note is gone: nothing to sweep)."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    ingest_with_the_store_down(settings, report, monkeypatch)
    [record] = DocumentRegistry.open(settings).list()
    blobs = BlobStore.from_settings(settings)
    assert record.state == DocState.FAILED and blobs.keys() == []
    assert notes(settings) == notes(settings, IN_FLIGHT) == []
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    [record] = DocumentRegistry.open(settings).list()
    assert record.state == DocState.INDEXED and len(blobs.keys()) == 2
    assert notes(settings) == notes(settings, IN_FLIGHT) == []


def _replaced_in_a_killed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill: str
) -> tuple[Settings, Path, set[str]]:
    """A document ingested, its file changed, and the run replacing it killed at ``kill``: "units" while
    the new units are written, "stale" right after the old version's units were deleted. Returns the
    settings, the file and the old version's picture keys."""
    from figvault.pipeline.ingest_pipeline import IngestRunner, ingest_paths

    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    old = set(BlobStore.from_settings(settings).keys())
    figure_pdf(report, seed=6, n_figures=1)  # a new version, with another picture
    with monkeypatch.context() as patch:
        if kill == "units":
            _failing_upsert(patch, Killed())
        else:
            drop = IngestRunner._drop_stale

            def drop_then_die(*args: object, **kwargs: object) -> int:
                drop(*args, **kwargs)  # type: ignore[arg-type]
                raise Killed()

            patch.setattr(IngestRunner, "_drop_stale", drop_then_die)
        with pytest.raises(Killed):
            ingest_paths(settings, [report], groups=["eng"], tenant="default", progress=False)
    return settings, report, old


@pytest.mark.parametrize("kill", ["units", "stale"])
def test_a_replacement_killed_midway_leaves_nothing_of_the_old_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill: str
) -> None:
    """A run killed while it replaced a changed document: its record already named the new bytes, so the
    re-run saw no change of bytes and kept the old original for good; killed after the old units were
    deleted, nothing named the old pictures any more (a read-only crash audit, 2026-12-07: 7 files of 6 in
    ``sources/``, 39 pictures for 32). Now the run notes the old version's files before it changes anything,
    and the re-run's sweep removes what no document uses."""
    from figvault.pipeline.sources import SourceStore

    settings, report, old = _replaced_in_a_killed_run(tmp_path, monkeypatch, kill)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    [record] = DocumentRegistry.open(settings).list()
    assert record.state == DocState.INDEXED and record.units == 1
    blobs = BlobStore.from_settings(settings)
    assert not old & set(blobs.keys()) and len(blobs.keys()) == 1
    sources = SourceStore.from_settings(settings).storage
    assert [Path(key).stem for key in sources.list("*/*")] == [record.sha256]
    assert notes(settings) == notes(settings, IN_FLIGHT) == []


def test_a_sweep_asks_the_store_once_for_all_its_notes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each note's pictures were looked up with a query of their own, each a scan of every unit of every
    collection (a scale audit: 66 ms a note at 60,000 units, times the deletions queued during a long
    ingest). Now the notes' pictures are looked up together; what each removes is the same."""
    from figvault.pipeline.document_files import sweep
    from figvault.retrieval.milvus_store import MilvusUnitStore

    settings = load_settings("offline", data_dir=tmp_path / "data")
    run(settings, "ingest", str(figure_pdf(tmp_path / "report.pdf", seed=5)), "--groups", "eng", "-q")
    blobs = BlobStore.from_settings(settings)
    used = blobs.keys()
    trash = Storage.from_settings(settings).area(TRASH_AREA)
    unused = [blobs.put(f"picture {n} of a deleted document".encode()) for n in range(4)]
    for n, key in enumerate(unused):
        trash.write(f"note{n}.json", json.dumps({"blobs": [key, used[0]], "sha256": ""}).encode())
    queries: list[str] = []
    query_rows = MilvusUnitStore.query_rows

    def counted(self: MilvusUnitStore, collection: str, *args: object, **kwargs: object) -> object:
        queries.append(collection)
        return query_rows(self, collection, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(MilvusUnitStore, "query_rows", counted)
    assert sweep(settings) == 4
    assert len(queries) == len(set(queries)) == 1  # one collection, one query
    assert blobs.keys() == used and notes(settings) == []


def test_a_replacement_that_fails_keeps_the_original_its_old_units_show(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store error while the new version's units are written: the record names the new bytes (failed),
    the old version's units stay searchable, and their page images are drawn from the old original. The
    sweep at the job's end removed that original, as no record named its bytes (a review); now an original
    stays while a unit carries its hash."""
    from figvault.pipeline.sources import SourceStore

    settings = load_settings("offline", data_dir=tmp_path / "data")
    report = figure_pdf(tmp_path / "report.pdf", seed=5, n_figures=2)
    run(settings, "ingest", str(report), "--groups", "eng", "-q")
    [old] = DocumentRegistry.open(settings).list()
    figure_pdf(report, seed=6, n_figures=1)
    ingest_with_the_store_down(settings, report, monkeypatch)
    [record] = DocumentRegistry.open(settings).list()
    assert record.state == DocState.FAILED and record.sha256 != old.sha256 and record.units == 2
    assert SourceStore.from_settings(settings).original(old.sha256) is not None
    run(settings, "ingest", str(report), "--groups", "eng", "-q")  # the store is back: replaced whole
    assert SourceStore.from_settings(settings).original(old.sha256) is None
    assert notes(settings) == notes(settings, IN_FLIGHT) == []


def test_an_unreadable_note_does_not_stop_the_others(tmp_path: Path) -> None:
    """The notes are read together: one torn (a remote storage's write seen half done) ended the sweep
    before any file was removed (a review); it is left for the next sweep with a warning, and the others'
    files go. A note of the day's earlier format (``old_sha256``) is read whole."""
    from figvault.pipeline.document_files import sweep

    settings = load_settings("offline", data_dir=tmp_path / "data")
    blobs, key = left_by_an_earlier_deletion(settings)
    trash = Storage.from_settings(settings).area(TRASH_AREA)
    trash.write("torn.json", b'{"blobs": ["ab')
    trash.write("odd.json", b'{"blobs": 7, "sha256": ""}')
    assert sweep(settings) == 1
    assert not blobs.exists(key) and notes(settings) == ["odd.json", "torn.json"]
    from figvault.pipeline.document_files import _read_note

    legacy = _read_note(b'{"blobs": ["k"], "sha256": "aa", "old_sha256": "bb"}')
    assert legacy.originals() == {"aa", "bb"}
