"""A file of an ingested folder swapped for a link out of it after the folder was listed is not read. The
listing refuses a link out of the folder, but the reads open the path again later: a writer of a shared
drop folder who swapped ``victim.pdf`` for a link to ``/elsewhere/secret.pdf`` once the listing had passed
got the secret indexed under the victim's name (2026-12-06, the thirteenth hostile pass, by a race; here
the swap is made at the exact moment instead)."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from figvault.ingest.extract import CHANGED_SINCE_READ, LEFT_ITS_FOLDER, file_bounds, iter_listed, open_within
from figvault.pipeline import ingest_job, sources
from figvault.pipeline.file_digests import FileDigests
from figvault.pipeline.ingest_pipeline import IngestRunner
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

TENANT = "acme"


@pytest.fixture
def drop(tmp_path: Path) -> tuple[Path, Path]:
    """A shared folder holding ``victim.pdf`` and ``plain.pdf``, and a secret file outside it."""
    folder = tmp_path / "drop"
    folder.mkdir()
    figure_pdf(folder / "victim.pdf", seed=1, n_figures=1)
    figure_pdf(folder / "plain.pdf", seed=3, n_figures=1)
    (tmp_path / "outside").mkdir()
    secret = figure_pdf(tmp_path / "outside" / "secret.pdf", seed=2, n_figures=1)
    return folder, secret


def swap_for_link(victim: Path, secret: Path) -> None:
    link = victim.with_name(".swap")
    link.symlink_to(secret)
    link.replace(victim)  # rename(2): atomic, as a racing writer does it


def ingest(settings: Settings, folder: Path) -> dict[str, Any]:
    store = JobStore.open(settings)
    params = {"paths": [str(folder)], "groups": ["team"], "tenant": TENANT}
    job = run_here(settings, store.create(JobType.INGEST, params, started_by="cli", tenant=TENANT))
    assert job.state in (JobState.SUCCEEDED, JobState.FAILED), job.message
    return {Path(d["path"]).name: d for d in job.result["documents"]}


def stored_shas(settings: Settings) -> set[str]:
    """The content hashes of the tenant's registered documents and of the originals kept."""
    records = DocumentRegistry.open(settings).list(TENANT)
    kept = {p.stem for p in (settings.data_dir / "sources").rglob("*.pdf")}
    return {r.sha256 for r in records} | kept


def unit_docs(settings: Settings) -> set[str]:
    runner = IngestRunner(settings)
    store = runner.store
    rows = store.query_rows(store.served_collection(), f'tenant == "{TENANT}"', ["doc"])
    runner.conn.close()
    return {str(r["doc"]) for r in rows}


def swapping(when: Callable[[], None], original: Callable[..., Any], victim: Path) -> Callable[..., Any]:
    """``original`` that calls ``when`` once, just before it first meets ``victim``."""
    done: list[bool] = []

    def wrapped(self: Any, path: Path, *args: Any, **kwargs: Any) -> Any:
        if Path(path) == victim and not done:
            done.append(True)
            when()
        return original(self, path, *args, **kwargs)

    return wrapped


def test_a_link_swapped_in_before_the_file_is_hashed_is_not_read(
    settings: Settings, drop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, secret = drop
    victim = folder / "victim.pdf"
    hook = swapping(lambda: swap_for_link(victim, secret), FileDigests.sha256, victim)
    monkeypatch.setattr(FileDigests, "sha256", hook)

    outcomes = ingest(settings, folder)

    assert outcomes["victim.pdf"]["status"] == "failed"
    assert LEFT_ITS_FOLDER in outcomes["victim.pdf"]["error"]
    assert outcomes["plain.pdf"]["status"] == "indexed"  # the others go on
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in stored_shas(settings)
    assert unit_docs(settings) == {"plain.pdf"}


def test_a_link_swapped_in_after_the_plan_hashed_the_file_is_not_indexed(
    settings: Settings, drop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plan hashed the listed file; the worker then opened the path again and read the secret. (No
    look-ahead here: it reads a file before its plan, and the plan's own hash then meets the swap.)"""
    folder, secret = drop
    victim = folder / "victim.pdf"
    monkeypatch.setattr(ingest_job, "_worth_extracting_ahead", lambda *args: lambda path: False)
    original = IngestRunner._spec  # (self, index, path, ...): the swap is made before the victim's spec

    def after_plan(self: Any, path: Path, index: int, *args: Any) -> Any:
        return original(self, index, path, *args)

    hook = swapping(lambda: swap_for_link(victim, secret), after_plan, victim)
    monkeypatch.setattr(
        IngestRunner, "_spec", lambda self, index, path, *args: hook(self, path, index, *args)
    )

    outcomes = ingest(settings, folder)

    assert outcomes["victim.pdf"]["status"] == "failed"
    assert outcomes["victim.pdf"]["error"] == CHANGED_SINCE_READ
    assert hashlib.sha256(secret.read_bytes()).hexdigest() not in stored_shas(settings)
    assert unit_docs(settings) == {"plain.pdf"}


def test_a_folder_swapped_for_a_link_is_caught_where_the_file_is_opened(tmp_path: Path) -> None:
    """The check reads where the open file is (its descriptor), not the path: a subfolder flipped between a
    real folder and a link out of it while the checks ran (three lookups by path, each could see another
    state) pinned the outside file (a review, 2026-12-06, 1,804 times in 90,959 tries)."""
    folder = tmp_path / "drop"
    (folder / "sub").mkdir(parents=True)
    figure_pdf(folder / "sub" / "a.pdf", seed=1, n_figures=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    figure_pdf(outside / "a.pdf", seed=2, n_figures=1)
    bounds = file_bounds(iter_listed([folder]))
    assert list(bounds) == [str(folder / "sub" / "a.pdf")]
    with open_within(folder / "sub" / "a.pdf", bounds[str(folder / "sub" / "a.pdf")]) as fh:
        assert fh.read(5) == b"%PDF-"
    (folder / "sub").rename(tmp_path / "real-sub")
    (folder / "sub").symlink_to(outside, target_is_directory=True)  # the listing saw a folder
    with pytest.raises(OSError, match="not inside the folder being ingested"):
        open_within(folder / "sub" / "a.pdf", bounds[str(folder / "sub" / "a.pdf")])
    named = file_bounds(iter_listed([folder / "sub" / "a.pdf"]))  # named directly: followed anywhere
    with open_within(folder / "sub" / "a.pdf", named[str(folder / "sub" / "a.pdf")]) as fh:
        assert fh.read(5) == b"%PDF-"


def test_a_file_saved_again_in_place_before_it_is_hashed_is_read(
    settings: Settings, drop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sync tool renaming a new version over the file between the listing and its hash: the new version,
    inside the folder, is what is read (the first fix, which pinned the listed inode, failed it)."""
    folder, _ = drop
    victim = folder / "victim.pdf"
    newer = figure_pdf(folder.parent / "newer.pdf", seed=9, n_figures=1)
    hook = swapping(lambda: newer.replace(victim), FileDigests.sha256, victim)
    monkeypatch.setattr(FileDigests, "sha256", hook)
    outcomes = ingest(settings, folder)
    assert outcomes["victim.pdf"]["status"] == "indexed", outcomes["victim.pdf"]
    record = next(r for r in DocumentRegistry.open(settings).list(TENANT) if r.name == "victim.pdf")
    assert record.sha256 == hashlib.sha256(victim.read_bytes()).hexdigest()


def test_a_pipe_swapped_in_before_the_original_is_kept_does_not_hang_the_job(
    settings: Settings, drop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The original was read again by path with ``read_bytes()``: a pipe swapped in after the extraction
    blocked the job until someone wrote to it (a review, 2026-12-06: 45 s), and a link to /dev/zero would
    have been read whole. It is read as extraction reads a file now; the document stays indexed."""
    folder, _ = drop
    victim = folder / "victim.pdf"
    keep = sources.SourceStore.keep

    def pipe_first(self: Any, sha256: str, source: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(source, Path) and source == victim and not stat.S_ISFIFO(os.lstat(victim).st_mode):
            victim.unlink()
            os.mkfifo(victim)
        return keep(self, sha256, source, *args, **kwargs)

    monkeypatch.setattr(sources.SourceStore, "keep", pipe_first)
    done: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: done.update(outcomes=ingest(settings, folder)), daemon=True)
    worker.start()
    worker.join(90)
    hung = worker.is_alive()
    if hung:  # unblock the reader so that the test process can end, then fail
        with open(victim, "wb") as fh:
            fh.write(b"x")
        worker.join(10)
    assert not hung, "the job hung on the pipe"
    assert done["outcomes"]["victim.pdf"]["status"] == "indexed"


def test_a_pipe_swapped_in_before_the_hash_fails_that_file_alone(
    settings: Settings, drop: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hash's open refuses a pipe (not a regular file), an ExtractionError that neither the look-ahead
    nor the plan caught: the whole job failed and no file was reported (a review, 2026-12-06); caught, the
    batch's own listing then left the pipe out without a word."""
    folder, _ = drop
    victim = folder / "victim.pdf"

    def to_pipe() -> None:
        victim.unlink()
        os.mkfifo(victim)

    monkeypatch.setattr(FileDigests, "sha256", swapping(to_pipe, FileDigests.sha256, victim))
    outcomes = ingest(settings, folder)
    assert outcomes["victim.pdf"]["status"] == "failed"
    assert "not a regular file" in outcomes["victim.pdf"]["error"]
    assert outcomes["plain.pdf"]["status"] == "indexed"


def test_a_path_the_listing_did_not_give_is_not_read(tmp_path: Path) -> None:
    """Digests given a listing's bounds read only its files: a path missing from it was taken as named
    directly and followed anywhere (a file gone while a second listing ran, a review, 2026-12-06)."""
    pdf = figure_pdf(tmp_path / "a.pdf", seed=1, n_figures=1)
    with pytest.raises(OSError, match="not inside the folder being ingested"):
        FileDigests(bounds={}).sha256(pdf)
    assert FileDigests(bounds={str(pdf): ()}).sha256(pdf) == hashlib.sha256(pdf.read_bytes()).hexdigest()
    assert FileDigests().sha256(pdf)  # no listing: any path


def test_without_proc_the_opened_file_is_placed_by_device_and_inode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where /proc/self/fd cannot be read (no /proc mounted), the place of the opened file is the path
    resolved after the open, trusted only when it names the same file (device and inode); a path that
    names another file by then is an unknown place, not read."""
    from figvault.ingest import extract

    folder = tmp_path / "drop"
    folder.mkdir()
    figure_pdf(folder / "a.pdf", seed=1, n_figures=1)
    outside = tmp_path / "outside"
    outside.mkdir()
    figure_pdf(outside / "b.pdf", seed=2, n_figures=1)

    readlink = os.readlink

    def no_proc(path: str) -> str:
        if str(path).startswith("/proc/self/fd/"):
            raise FileNotFoundError(2, "No such file or directory", path)
        return readlink(path)

    monkeypatch.setattr(extract.os, "readlink", no_proc)
    bounds = file_bounds(iter_listed([folder]))[str(folder / "a.pdf")]
    with open_within(folder / "a.pdf", bounds) as fh:
        assert fh.read(5) == b"%PDF-"
    (folder / "a.pdf").unlink()
    (folder / "a.pdf").symlink_to(outside / "b.pdf")  # resolves out of the folder
    with pytest.raises(OSError, match="not inside the folder being ingested"):
        open_within(folder / "a.pdf", bounds)
    figure_pdf(folder / "c.pdf", seed=3, n_figures=1)
    with open(outside / "b.pdf", "rb") as opened:
        assert extract._opened_path(opened.fileno(), folder / "a.pdf") == outside / "b.pdf"
        # The path names another file than the one opened (swapped between the open and the lookup).
        assert extract._opened_path(opened.fileno(), folder / "c.pdf") is None
