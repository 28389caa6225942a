"""The figure images of documents in flight, in the ingest process (in ``serve``: the service's): each comes
from its worker once, not pickled twice over, and a local run holds no more than ``ingest.held_images_mb``
of them before it starts another extraction (each extraction adding at most its own cap)."""

from __future__ import annotations

import gc
import os
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from figvault.encoders.factory import EncoderSet, build_encoders
from figvault.pipeline import runner as runner_module
from figvault.pipeline.extract_worker import ExtractLimits, WorkerResult, run_limited
from figvault.pipeline.ingest_pipeline import INDEXED
from figvault.pipeline.jobs import JobState, run_here
from figvault.pipeline.runner import LocalEngine
from figvault.pipeline.stages import DocSpec, StageClock, extract_and_prepare
from figvault.units import DocumentExtraction, DocumentMeta, ExtractedFigure, FigureKind, FigureUnit
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import noise_pdf
from tests.pipeline.test_runner import ingest, run_batches

MiB = 2**20


def images_result(count: int, size: int) -> WorkerResult:
    """A worker's result of ``count`` figures of ``size`` random bytes each (a worker target)."""
    extraction = DocumentExtraction(path="x.pdf", doc="x.pdf", doc_sha256="0" * 64, meta=DocumentMeta())
    for page in range(count):
        unit = FigureUnit(
            unit_id=f"u{page}", doc="x.pdf", doc_sha256="0" * 64, page=page + 1, page_size=(595, 842),
            bbox=(0, 0, 100, 100), kind=FigureKind.PICTURE,
        )  # fmt: skip
        extraction.figures.append(ExtractedFigure(unit=unit, png=bytes([page]) + os.urandom(size - 1)))
    return WorkerResult(extraction, {1: "page text"})


def test_a_documents_images_come_from_the_worker_once() -> None:
    """64 MiB of images: the parent's peak of Python allocations while it receives them stays near one copy.
    Before, the value was one pickled message: the message (64 MiB) and the bytes unpickled from it (64 MiB)
    at once."""
    tracemalloc.start()
    try:
        result = run_limited(images_result, (8, 8 * MiB), ExtractLimits(seconds=60), verb="extract")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [len(f.png) for f in result.extraction.figures] == [8 * MiB] * 8
    assert [f.png[0] for f in result.extraction.figures] == list(range(8))  # each in its own figure
    assert result.page_texts == {1: "page text"}
    assert peak < 64 * MiB * 1.4, peak / MiB


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("photos")
    return [noise_pdf(folder / f"photos-{i}.pdf", seed=i) for i in range(4)]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> EncoderSet:
    return build_encoders(tiny_settings(tmp_path_factory.mktemp("enc"), TINY_A))


def test_no_extraction_starts_while_the_run_holds_its_share_of_images(
    tmp_path: Path, photos: list[Path], encoders: EncoderSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``ingest.held_images_mb`` 1, each document holds 2.8 MiB: an extraction starts only once every
    document extracted before it is written. Before, the next ones were extracted while the first waited
    for the encoder (up to ``extract.workers`` + ``ingest.queue_docs`` documents held, each up to half of
    ``extract.doc_memory_mb``)."""
    events: list[str] = []

    def extracting(spec: DocSpec, *args: Any, **kwargs: Any) -> Any:
        events.append("start")
        outcome = extract_and_prepare(spec, *args, **kwargs)
        events.append("extracted")
        return outcome

    def written(finished: int, _in_flight: list[str], _clock: StageClock) -> None:
        # (also called when a document starts: a write is a new count)
        events.extend(["written"] * (finished - events.count("written")))

    monkeypatch.setattr(runner_module, "extract_and_prepare", extracting)
    settings = tiny_settings(tmp_path / "data", TINY_A)
    settings.extract.workers, settings.ingest.queue_docs, settings.ingest.held_images_mb = 1, 2, 1
    report = ingest(settings, encoders, photos, LocalEngine(settings), on_progress=written)
    assert [d.status for d in report.documents] == [INDEXED] * 4
    assert held_at_starts(events) == [0, 0, 0, 0], events


def test_a_job_extracting_ahead_holds_no_more(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job extracts its first batch's files ahead while it opens the store, and the next batch's while one
    drains: with every document past ``ingest.held_images_mb``, an extraction still starts only once every
    document extracted before it is written, and the job ends with all stored (a run waits for room only
    while it holds images of its own: those held ahead drain only in the next run). Before, the files
    extracted ahead were not counted until the run collected them, and the run's other files started."""
    from figvault.pipeline import stages
    from figvault.pipeline.ingest_pipeline import IngestRunner

    events: list[str] = []
    extract, write = stages.extract_limited, IngestRunner._ingest_one

    def extracting(*args: Any, **kwargs: Any) -> Any:
        events.append("start")
        result = extract(*args, **kwargs)
        events.append("extracted")
        return result

    def writing(*args: Any, **kwargs: Any) -> Any:
        outcome = write(*args, **kwargs)
        events.append("written")
        return outcome

    monkeypatch.setattr(stages, "extract_limited", extracting)
    monkeypatch.setattr(IngestRunner, "_ingest_one", writing)
    settings = tiny_settings(tmp_path / "data", TINY_A)
    settings.extract.workers, settings.ingest.batch_docs, settings.ingest.held_images_mb = 2, 2, 1
    final = run_batches(settings, photos)
    assert final.state == JobState.SUCCEEDED, final.message
    assert final.result[INDEXED] == 4 and final.checkpoint["in_flight"] == []
    assert held_at_starts(events) == [0, 0, 0, 0], events


def held_at_starts(events: list[str]) -> list[int]:
    """At each extraction's start, the documents extracted and not yet written."""
    return [
        events[:at].count("extracted") - events[:at].count("written")
        for at, event in enumerate(events)
        if event == "start"
    ]


def extractions_alive() -> int:
    """Extracted documents (with images) alive in this process, counted without holding on to them. Garbage
    in reference cycles is collected first: an earlier test's (an exception's frames) is not alive, and was
    counted until the collector happened to run (a CI run saw [1, 1, 1, 1])."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is DocumentExtraction and o.figures)


def test_a_written_document_is_let_go_before_the_next_extraction(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One extraction at a time, in a job (its first file extracted ahead while the job opens the store):
    when each extraction starts, no document extracted before it is still in memory. Before, a run kept
    every document extracted ahead (the futures it adopted) until its end, and the writer kept the last
    document it wrote while the next was extracted."""
    from figvault.pipeline import stages

    alive: list[int] = []
    extract = stages.extract_limited

    def extracting(*args: Any, **kwargs: Any) -> Any:
        alive.append(extractions_alive())
        return extract(*args, **kwargs)

    monkeypatch.setattr(stages, "extract_limited", extracting)
    settings = tiny_settings(tmp_path / "data", TINY_A)
    settings.extract.workers, settings.ingest.held_images_mb = 1, 1
    final = run_batches(settings, photos)
    assert final.state == JobState.SUCCEEDED and final.result[INDEXED] == 4, final.message
    assert alive == [0, 0, 0, 0]


def test_a_document_extracted_ahead_that_fails_to_prepare_holds_nothing(
    tmp_path: Path, photos: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The file extracted ahead (held from its extraction) fails as its units are prepared: the run lets its
    images go and goes on. Before, they stayed held, and the run's next extraction waited for room that never
    came (the job hung until cancelled; here it is cancelled after 120 s)."""
    from figvault.pipeline import stages
    from figvault.pipeline.jobs import JobStore, JobType

    prepare = stages.prepare_units

    def refused(extraction: DocumentExtraction, spec: DocSpec) -> Any:
        if spec.path.name in {"photos-0.pdf", "photos-1.pdf"}:
            raise ValueError("hostile units")
        return prepare(extraction, spec)

    monkeypatch.setattr(stages, "prepare_units", refused)
    settings = tiny_settings(tmp_path / "data", TINY_A)
    settings.extract.workers, settings.ingest.batch_docs, settings.ingest.held_images_mb = 1, 3, 1
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in photos[:3]], "groups": ["eng"], "engine": "local"}
    job = jobs.create(JobType.INGEST, params, started_by="t", tenant="acme")
    ended: list[Any] = []
    runner = threading.Thread(target=lambda: ended.append(run_here(settings, job)), daemon=True)
    runner.start()
    runner.join(120)
    if runner.is_alive():  # let the stuck run go before failing
        jobs.request_cancel(job.id)
        runner.join(60)
    assert ended and ended[0].state == JobState.SUCCEEDED, ended and ended[0].message
    assert ended[0].result[INDEXED] == 1 and ended[0].result["failed"] == 2
