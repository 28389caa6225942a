"""The staged local runner: the same units as the sequential path, stages that overlap, failures that stay
with their document, per-stage rates in the job (tiny CLIP + MiniLM + BM25: both dense channels)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.encoders.factory import EncoderSet, build_encoders
from figvault.ingest.extract import open_regular
from figvault.pipeline import runner as runner_module
from figvault.pipeline.ingest_job import _chunks
from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, IngestRunner
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.pipeline.runner import LocalEngine, SequentialEngine, largest_first
from figvault.pipeline.stages import DocSpec, StageClock, extract_and_prepare
from figvault.settings import Settings, load_settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.pipeline.engine_checks import assert_same_rows, stored_rows


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("docs")
    return [figure_pdf(folder / f"report-{i}.pdf", seed=20 + i, n_figures=1 + i % 2) for i in range(5)]


@pytest.fixture(scope="module")
def encoders(tmp_path_factory: pytest.TempPathFactory) -> EncoderSet:
    return build_encoders(tiny_settings(tmp_path_factory.mktemp("enc"), TINY_A))


def make_settings(data_dir: Path, workers: int = 1) -> Settings:
    settings = tiny_settings(data_dir, TINY_A)
    settings.extract.workers = workers
    settings.ingest.queue_docs = 2
    return settings


def ingest(settings: Settings, encoders: EncoderSet, paths: list[Path], engine: Any, **kwargs: Any):
    runner = IngestRunner(settings, encoders=encoders, engine=engine)
    try:
        # One id seed: each file gets the same document id (hence unit ids) in every run compared.
        kwargs.setdefault("id_seed", "compared-runs")
        return runner.run(paths, groups=["eng"], tenant="acme", progress=False, **kwargs)
    finally:
        runner.conn.close()


def test_local_engine_stores_what_the_sequential_path_stores(
    tmp_path: Path, docs: list[Path], encoders: EncoderSet
) -> None:
    reports, rows = {}, {}
    for engine_type in (SequentialEngine, LocalEngine):
        settings = make_settings(tmp_path / engine_type.name, workers=2)
        reports[engine_type.name] = ingest(settings, encoders, docs, engine_type(settings))
        rows[engine_type.name] = stored_rows(settings)
    local, sequential = reports["local"], reports["sequential"]
    assert [d.status for d in local.documents] == [INDEXED] * 5
    assert [(d.path, d.units, d.pages) for d in local.documents] == [
        (d.path, d.units, d.pages) for d in sequential.documents
    ]
    assert len(rows["local"]) == local.units == 7
    assert_same_rows(rows["local"], rows["sequential"])
    assert local.stages["encode"]["units"] == 7 and local.stages["extract"]["docs"] == 5
    assert local.stages["write"]["docs"] == 5 and local.engine == "local"


def test_extraction_runs_ahead_of_the_writes(tmp_path: Path, docs: list[Path], encoders: EncoderSet) -> None:
    """One extraction worker: with the staged engine, documents are already started when the first one is
    written; the sequential path starts the next only after."""
    ahead: dict[str, list[str]] = {}
    for engine_type in (SequentialEngine, LocalEngine):
        settings = make_settings(tmp_path / engine_type.name, workers=1)
        seen: list[list[str]] = []

        def record(finished: int, in_flight: list[str], _clock: StageClock, seen=seen) -> None:
            if finished == 1 and not seen:
                seen.append(in_flight)

        ingest(settings, encoders, docs, engine_type(settings), on_progress=record)
        ahead[engine_type.name] = seen[0]
    assert ahead["sequential"] == []
    assert len(ahead["local"]) >= 2  # extracted or waiting for the encoder while report-0 was written


def test_an_encoder_error_fails_only_its_document(
    tmp_path: Path, docs: list[Path], encoders: EncoderSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents encoded in one batch: the text encoder refusing one of them fails that one alone."""
    encode_documents = encoders.text.encode_documents  # what a batch job's stored texts go through

    def refuse_report_22(texts: list[str]) -> np.ndarray:
        if any("report 22" in t for t in texts):
            raise RuntimeError("refused report 22")
        return encode_documents(texts)

    monkeypatch.setattr(encoders.text, "encode_documents", refuse_report_22)
    settings = make_settings(tmp_path / "data", workers=2)
    report = ingest(settings, encoders, docs, LocalEngine(settings))
    statuses = {Path(d.path).name: (d.status, d.error) for d in report.documents}
    assert statuses.pop("report-2.pdf") == (FAILED, "refused report 22")
    assert {status for status, _ in statuses.values()} == {INDEXED}


def test_a_long_extraction_holds_back_no_other_document(
    tmp_path: Path, docs: list[Path], encoders: EncoderSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The first document started stays in extraction until another one is written (at most 60 s): the
    documents extracted beside it go on to the encoder and the writer meanwhile."""
    written, first = threading.Event(), threading.Lock()
    released: list[bool] = []

    def first_waits(spec: DocSpec, *args: Any, **kwargs: Any) -> Any:
        if first.acquire(blocking=False):  # never released: only the first extraction waits
            released.append(written.wait(60))
        return extract_and_prepare(spec, *args, **kwargs)

    def record(finished: int, _in_flight: list[str], _clock: StageClock) -> None:
        if finished:
            written.set()

    monkeypatch.setattr(runner_module, "extract_and_prepare", first_waits)
    settings = make_settings(tmp_path / "data", workers=2)
    report = ingest(settings, encoders, docs, LocalEngine(settings), on_progress=record)
    assert released == [True]  # another document was written while the first was still extracting
    assert [d.status for d in report.documents] == [INDEXED] * 5


def test_the_largest_files_are_extracted_first(tmp_path: Path) -> None:
    sizes = {"small.pdf": 10, "large.pdf": 300, "mid.pdf": 50, "mid2.pdf": 50}
    specs = []
    for i, (name, size) in enumerate(sizes.items()):
        (tmp_path / name).write_bytes(b"x" * size)
        specs.append(DocSpec(i, tmp_path / name, f"d{i}", name, "t", (), (), "v"))
    specs.append(DocSpec(9, tmp_path / "gone.pdf", "d9", "gone.pdf", "t", (), (), "v"))
    order = [s.path.name for s in largest_first(specs)]
    assert order == ["large.pdf", "mid.pdf", "mid2.pdf", "small.pdf", "gone.pdf"]


def test_the_job_reports_stage_rates_and_nothing_left_in_flight(tmp_path: Path, docs: list[Path]) -> None:
    settings = make_settings(tmp_path / "data", workers=2)
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in docs[:3]], "groups": ["eng"], "engine": "local"}
    job = jobs.create(JobType.INGEST, params, started_by="t", tenant="acme")
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED and final.result["engine"] == "local"
    stages = final.result["stages"]
    assert [stages[s]["docs"] for s in ("extract", "encode", "write")] == [3, 3, 3]
    assert stages["encode"]["units"] == final.result["units"] == 4
    assert stages["encode"]["units_per_s"] > 0 and stages["extract"]["pages_per_s"] > 0
    assert final.checkpoint["in_flight"] == []


def test_a_file_in_flight_at_a_death_goes_alone_first() -> None:
    files = [Path(f"/d/{n}.pdf") for n in "abcdef"]
    chunks = [[p.name for p in c] for c in _chunks(files, 4, {"/d/e.pdf": 1}, lambda _p: None)]
    assert chunks == [["e.pdf"], ["a.pdf", "b.pdf", "c.pdf", "d.pdf"], ["f.pdf"]]


def test_a_batch_never_holds_two_files_of_one_document() -> None:
    """Two uploads of one document: the later one starts a new batch, so it replaces the earlier."""
    files = [Path(f"/d/{n}.pdf") for n in "abcde"]
    doc = {"a": "doc_1", "b": "doc_2", "c": "doc_1", "d": None, "e": "doc_2"}
    chunks = [[p.stem for p in c] for c in _chunks(files, 4, {}, lambda p: doc[p.stem])]
    assert chunks == [["a", "b"], ["c", "d", "e"]]


def test_uploads_of_one_job_go_through_the_runner_as_one_batch(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files with names of their own (an upload job's) share runs, each under its own name."""
    runs: list[int] = []
    run = IngestRunner.run

    def counted(self: IngestRunner, paths: list[Path], **kwargs: Any) -> Any:
        runs.append(len(paths))
        return run(self, paths, **kwargs)

    monkeypatch.setattr(IngestRunner, "run", counted)
    settings = make_settings(tmp_path / "data", workers=2)
    names = {str(p): f"Upload {i}.pdf" for i, p in enumerate(docs[:3])}
    params = {"paths": list(names), "doc_ids": names, "groups": ["eng"], "engine": "local"}
    final = run_here(
        settings, JobStore.open(settings).create(JobType.INGEST, params, started_by="t", tenant="acme")
    )
    assert final.state == JobState.SUCCEEDED and runs == [3]
    assert sorted(d["name"] for d in final.result["documents"]) == sorted(names.values())
    assert {d["status"] for d in final.result["documents"]} == {INDEXED}


def test_cli_refuses_an_unknown_engine(tmp_path: Path, docs: list[Path]) -> None:
    load_commands()
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(app, [*base, "ingest", str(docs[0]), "--engine", "spark", "--quiet"])
    assert result.exit_code == 2 and "--engine spark: choose one of local" in result.output
    assert JobStore.open(load_settings("offline", data_dir=tmp_path / "data")).list() == []


def counted_threads(encoders: EncoderSet, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Torch's thread count at each stored-text encode call of ``encoders``, as the list it fills."""
    import torch

    encode_documents, seen = encoders.text.encode_documents, []

    def counting(texts: list[str], workers: int = 1) -> np.ndarray:
        seen.append(torch.get_num_threads())
        return encode_documents(texts, workers=workers)

    monkeypatch.setattr(encoders.text, "encode_documents", counting)
    monkeypatch.setattr(runner_module, "usable_cores", lambda: 2)
    return seen


@pytest.mark.parametrize(("cli", "threads"), [(True, 1), (False, 2)])
def test_the_encoder_gets_the_cores_extraction_leaves_in_the_cli_only(
    tmp_path: Path,
    docs: list[Path],
    encoders: EncoderSet,
    monkeypatch: pytest.MonkeyPatch,
    cli: bool,
    threads: int,
) -> None:
    """As many extraction workers as cores: in `figvault ingest` the encoder runs on one torch thread
    (oversubscribed, OpenMP's threads stall each other) and the process's setting is back after the run. In
    `figvault serve` (nobody allowed the lowering) an upload's ingest leaves torch's threads alone: a search
    thread that first ran torch while they were lowered would keep one thread for good."""
    import torch

    seen = counted_threads(encoders, monkeypatch)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        settings = make_settings(tmp_path / "data", workers=2)
        # What `figvault ingest` does around its run:
        with runner_module.encoder_may_lower_threads() if cli else contextlib.nullcontext():
            report = ingest(settings, encoders, docs[:2], LocalEngine(settings))
        assert {d.status for d in report.documents} == {INDEXED}
        assert seen and set(seen) == {threads}
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(("cli", "tail"), [(True, {2}), (False, {1})])
def test_once_all_is_extracted_the_encoder_runs_texts_on_every_core_in_the_cli_only(
    tmp_path: Path,
    docs: list[Path],
    encoders: EncoderSet,
    monkeypatch: pytest.MonkeyPatch,
    cli: bool,
    tail: set[int],
) -> None:
    """The end of each run (a job's batch) is the encoder's alone: in `figvault ingest` it then encodes as
    many texts at once as there are cores; before, it kept one and a core idled. In `figvault serve` an
    upload's ingest never takes the searches' cores."""
    encode_documents, seen, extracting = encoders.text.encode_documents, [], threading.Event()

    def counting(texts: list[str], workers: int = 1) -> np.ndarray:
        seen.append((extracting.is_set(), workers))
        return encode_documents(texts, workers=workers)

    def marked(spec: DocSpec, *args: Any, **kwargs: Any) -> Any:
        extracting.set()
        try:
            return extract_and_prepare(spec, *args, **kwargs)
        finally:
            extracting.clear()

    monkeypatch.setattr(encoders.text, "encode_documents", counting)
    monkeypatch.setattr(runner_module, "extract_and_prepare", marked)
    monkeypatch.setattr(runner_module, "usable_cores", lambda: 2)
    settings = make_settings(tmp_path / "data", workers=1)
    with runner_module.encoder_may_lower_threads() if cli else contextlib.nullcontext():
        report = ingest(settings, encoders, docs, LocalEngine(settings))
    assert {d.status for d in report.documents} == {INDEXED}
    assert {workers for busy, workers in seen if busy} <= {1}  # never beside an extraction
    assert seen[-1] == (False, max(tail)) and {workers for _, workers in seen} <= {1} | tail


def test_a_cli_ingest_in_this_process_leaves_later_runs_their_threads(
    tmp_path: Path, docs: list[Path], encoders: EncoderSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`figvault ingest` run in-process (as the CLI tests do) allows the lowering for its own run only: an
    ingest after it in the same process (an upload in `figvault serve`) keeps torch's threads."""
    import torch

    load_commands()
    base = ["--config", "offline", "--data-dir", str(tmp_path / "cli")]
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7\nnot a pdf body")  # a job runs, and fails
    result = CliRunner().invoke(app, [*base, "ingest", str(tmp_path / "broken.pdf"), "--quiet"])
    assert result.exit_code == 1 and "FAILED" in result.stderr, result.output
    seen = counted_threads(encoders, monkeypatch)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        settings = make_settings(tmp_path / "data", workers=2)
        report = ingest(settings, encoders, docs[:1], LocalEngine(settings))
        assert {d.status for d in report.documents} == {INDEXED}
        assert seen and set(seen) == {2}
    finally:
        torch.set_num_threads(before)


def job_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each extraction's start (``extract <file name>``) and each store flush (``flush``), in order, as
    the list it fills."""
    from figvault.pipeline import stages
    from figvault.retrieval.milvus_store import MilvusUnitStore

    events: list[str] = []
    extract, flush = stages.extract_limited, MilvusUnitStore.flush

    def extracting(path: Path, *args: Any, **kwargs: Any) -> Any:
        events.append(f"extract {Path(path).name}")
        return extract(path, *args, **kwargs)

    def flushing(self: MilvusUnitStore, collection: str) -> None:
        events.append("flush")
        flush(self, collection)

    monkeypatch.setattr(stages, "extract_limited", extracting)
    monkeypatch.setattr(MilvusUnitStore, "flush", flushing)
    return events


def run_batches(settings: Settings, paths: list[Path]) -> Any:
    params = {"paths": [str(p) for p in paths], "groups": ["eng"], "engine": "local"}
    return run_here(
        settings, JobStore.open(settings).create(JobType.INGEST, params, started_by="t", tenant="acme")
    )


def test_the_next_batch_is_extracted_while_one_drains(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job of two batches (``ingest.batch_docs`` 2, 2 workers): the second batch's extraction starts
    while the first batch's last documents are encoded and written, before its flush; each file is
    extracted once, and the job stores and reports what it did batch by batch. Before, the first batch
    drained completely (flushed) before any file of the second was extracted."""
    events = job_events(monkeypatch)
    settings = make_settings(tmp_path / "data", workers=2)
    settings.ingest.batch_docs = 2
    final = run_batches(settings, docs[:4])
    assert final.state == JobState.SUCCEEDED, final.message
    assert final.result[INDEXED] == 4 and final.result["units"] == 6
    assert final.checkpoint["in_flight"] == []
    extracted = [e for e in events if e.startswith("extract")]
    assert sorted(extracted) == sorted(f"extract {p.name}" for p in docs[:4])  # each once
    before_first_flush = events[: events.index("flush")]
    assert len([e for e in before_first_flush if e.startswith("extract")]) > 2, events
    assert events.count("flush") == 2 and events[-1] == "flush"


OPEN_REGULAR = open_regular


class ReadsCounted:
    """A file opened by ``open_regular`` that notes its name in ``read`` when it is first read."""

    def __init__(self, path: Path, read: list[str]) -> None:
        self.fh, self.name, self.noted = OPEN_REGULAR(path), Path(path).name, read
        self.first = True

    def read(self, size: int = -1) -> bytes:
        if self.first:
            self.noted.append(self.name)
            self.first = False
        return self.fh.read(size)

    def fileno(self) -> int:
        return self.fh.fileno()

    def __enter__(self) -> ReadsCounted:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.fh.close()


def test_a_job_reads_each_file_for_its_hash_once(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-ahead's ``worth`` hashes the next batch's files and the batch's plan takes those digests
    (``FileDigests``): each file is read once in the job's process (its extraction reads it in a worker
    process). Before, the plan read and hashed again every file the look-ahead had hashed."""
    from figvault.ingest import extract

    read: list[str] = []
    # The hash's opens (``open_within``); the original's copy for the page viewer is read apart (``keep``).
    monkeypatch.setattr(extract, "open_within", lambda path, bounds: ReadsCounted(path, read))
    settings = make_settings(tmp_path / "data", workers=2)
    settings.ingest.batch_docs = 2
    final = run_batches(settings, docs[:4])
    assert final.state == JobState.SUCCEEDED and final.result[INDEXED] == 4, final.message
    assert sorted(read) == sorted(p.name for p in docs[:4]), read


def test_a_rerun_over_unchanged_files_extracts_nothing_ahead(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look-ahead leaves out files whose bytes a stored document has: the plan skips those unread."""
    settings = make_settings(tmp_path / "data", workers=2)
    settings.ingest.batch_docs = 2
    assert run_batches(settings, docs[:4]).state == JobState.SUCCEEDED
    events = job_events(monkeypatch)
    changed = figure_pdf(tmp_path / "changed.pdf", seed=90)
    final = run_batches(settings, [changed, *docs[:4]])
    assert final.state == JobState.SUCCEEDED and final.result["skipped"] == 4, final.result
    assert events == ["extract changed.pdf", "flush"]


def test_the_first_batch_extracts_while_the_job_opens_the_store(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job's first extraction starts before it opens the store (Milvus Lite, the collection and its
    index) and plans; before, it came after them."""
    from figvault.retrieval.milvus_store import MilvusUnitStore

    events = job_events(monkeypatch)
    opened = MilvusUnitStore.from_settings.__func__  # type: ignore[attr-defined]

    def opening(cls: type[MilvusUnitStore], settings: Settings) -> MilvusUnitStore:
        events.append("store")
        return opened(cls, settings)

    monkeypatch.setattr(MilvusUnitStore, "from_settings", classmethod(opening))
    settings = make_settings(tmp_path / "data", workers=2)
    final = run_batches(settings, docs[:3])
    assert final.state == JobState.SUCCEEDED and final.result[INDEXED] == 3, final.message
    assert events[0].startswith("extract") and "store" in events, events
    extracted = sorted(e for e in events if e.startswith("extract"))
    assert extracted == sorted(f"extract {p.name}" for p in docs[:3])  # each once


def test_the_look_ahead_asks_only_about_documents_the_caller_may_replace(
    tmp_path: Path, docs: list[Path]
) -> None:
    """A file whose bytes a stored document holds is not extracted ahead (a re-run must extract nothing).
    It asked about every document of the tenant, so an editor's upload of a file that only a document of
    other groups holds was not extracted ahead: the job's timing told the editor those bytes are stored out
    of its sight. Only documents the caller may replace (the ones its plan could skip it as) count now."""
    from figvault.pipeline.file_digests import FileDigests
    from figvault.pipeline.ingest_job import _Inputs, _worth_extracting_ahead
    from figvault.pipeline.jobs import JobContext

    settings = make_settings(tmp_path / "data")
    stored = {"paths": [str(docs[0])], "groups": ["board"], "engine": "local"}
    store = JobStore.open(settings)
    assert run_here(settings, store.create(JobType.INGEST, stored, started_by="t", tenant="acme")).state == (
        JobState.SUCCEEDED
    )
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(docs[0].read_bytes())
    inputs = _Inputs(files=[copy], missing=[], identities={})

    def worth(params: dict[str, Any]) -> bool:
        job = store.create(JobType.INGEST, {"paths": [str(copy)], **params}, started_by="ed", tenant="acme")
        return _worth_extracting_ahead(JobContext(store, job, settings), inputs, FileDigests())(copy)

    editor = {"user": "ed", "groups": ["eng"], "roles": ["editor"]}
    assert worth({"groups": ["eng"], "principal": editor})  # as for bytes nobody stores
    assert not worth({"groups": ["eng"], "principal": {**editor, "groups": ["board"]}})
    assert not worth({"groups": ["board"]})  # the operator's job: every document of the tenant
