"""A file of an ingested folder swapped for a link out of it after the folder was listed is not read. The
listing refuses a link out of the folder, but the reads open the path again later: a writer of a shared
drop folder who swapped ``victim.pdf`` for a link to ``/elsewhere/secret.pdf`` once the listing had passed
got the secret indexed under the victim's name (2026-12-06, the thirteenth hostile pass, by a race; here
the swap is made at the exact moment instead)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from figvault.ingest.extract import CHANGED_SINCE_LISTED, file_pins
from figvault.pipeline import ingest_job
from figvault.pipeline.file_digests import FileDigests
from figvault.pipeline.ingest_pipeline import CHANGED_SINCE_READ, IngestRunner
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.settings import Settings, load_settings
from tests.generated_docs import figure_pdf

TENANT = "acme"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    s = load_settings("offline", data_dir=data_dir)
    s.extract.workers = 1
    return s


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
    assert CHANGED_SINCE_LISTED in outcomes["victim.pdf"]["error"]
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


def test_a_swap_while_the_listing_checks_ran_leaves_the_file_unpinned(drop: tuple[Path, Path]) -> None:
    """``file_pins`` pins only a file whose path and real path name the same file inside the folder: a link
    out of it has no pin (and is refused), a plain file and a link to a sibling have theirs."""
    folder, secret = drop
    (folder / "sibling.pdf").symlink_to("plain.pdf")
    (folder / "out.pdf").symlink_to(secret)
    pins = file_pins([folder])
    assert set(pins) == {str(folder / n) for n in ("victim.pdf", "plain.pdf", "sibling.pdf")}
    assert pins[str(folder / "sibling.pdf")] == pins[str(folder / "plain.pdf")]
    assert file_pins([folder / "out.pdf"])  # named directly: followed wherever it leads
