"""Engines that take planned documents through extract -> encode and hand them to the writer.

The ingest runner (``pipeline/ingest_pipeline.py``) plans (skips what is stored), then iterates an
engine's ``run`` and writes each document it yields, in the calling thread. An engine decides where the
stages of ``pipeline/stages.py`` run:

- ``LocalEngine`` (the default): extraction in its limited worker processes (``extract.workers`` at
  once, largest file first), a look-ahead of ``ingest.queue_docs`` documents handed on as they finish,
  one encoder thread that batches the units of every document waiting (up to
  ``ingest.encode_batch_units``), bounded queues between them; so document N+1 is extracted while N is
  encoded and N-1 written, and the pipeline runs at the speed of its slowest stage.
- ``RayEngine`` (``pipeline/ray_engine.py``): the same stages as Ray tasks and encoder actors.
- ``SequentialEngine``: the path before issue 16 (a chunk extracted, then each document encoded and
  written in turn); kept for the benchmark's comparison (``bench/ingest.py``).

All of them yield ``(spec, PreparedDoc | reason)`` from the calling thread, which is the only one that
asks ``cancelled`` (it may read a database connection of that thread).
"""

from __future__ import annotations

import contextlib
import queue
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Self

from figvault.cores import usable_cores
from figvault.errors import FigvaultError, one_line
from figvault.ingest.soffice_profiles import SofficeProfiles
from figvault.pipeline.encode_units import EncodedUnits
from figvault.pipeline.extract_worker import CANCEL_POLL_S, ExtractCancelled, MiB, extract_many, file_size
from figvault.pipeline.look_ahead import Adopted, HeldImages, LookAhead, Slots
from figvault.pipeline.stages import (
    DocSpec,
    EncodeJob,
    Outcome,
    PreparedDoc,
    StageClock,
    encode_batch,
    encode_job,
    extract_and_prepare,
    load_encoders,
    prepare,
)
from figvault.retrieval.schema import DenseChannel
from figvault.settings import Settings

ENGINES = ("local", "ray")
"""``figvault ingest --engine`` choices (``sequential`` is the benchmark's baseline only)."""
WAIT_S = 0.05
"""How long the driving thread waits for an encoded document before it looks at the extractions again."""


class Engine(ABC):
    """Where the stages run, behind one interface for every engine (clip-retrieval style): a **reader**
    produces the work (ingest: the planned documents, extracted here; re-encode: batches of stored units),
    the **mapper** encodes it in batches, and the **writer** is the caller, which stores what comes out.
    Each step is timed per document or batch in the run's ``StageClock``; the model load is its own entry
    (``load``), never part of the encode rate."""

    name: ClassVar[str]

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release what the engine holds beyond one run (actors, a Ray it started); here: nothing."""
        return None

    def look_ahead(self, paths: Sequence[Path], worth: Callable[[Path], bool], *, now: bool = False) -> None:
        """The files of the job's next run, which the engine may extract while this one drains (those
        ``worth`` it; asked in the calling thread), or at once with ``now`` (the first run's, while the job
        opens the store and plans). Here: ignored."""
        return None

    def looking_ahead(self) -> list[str]:
        """The files extracted ahead and not yet taken by a run (in flight for the job's checkpoint)."""
        return []

    @abstractmethod
    def run(
        self,
        specs: Sequence[DocSpec],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        """Ingest: each document of ``specs`` once, extracted and encoded (or its failure), in any order."""

    def encode_stream(
        self,
        batches: Iterable[EncodeJob],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
    ) -> Iterator[tuple[EncodeJob, EncodedUnits]]:
        """Re-encode's mapper: each batch of ``batches`` encoded, in input order. Here: in this thread, one
        batch at a time (the Ray engine keeps batches in flight on its actors)."""
        load_encoders(encoders, clock)
        for job in batches:
            yield job, encode_job(encoders, channels, job, clock)


class CancelWatch:
    """Asks ``cancelled`` at most every CANCEL_POLL_S (in the thread that drives a run, see the module)."""

    def __init__(self, cancelled: Callable[[], bool] | None) -> None:
        self.cancelled = cancelled
        self.asked_at = 0.0

    def __call__(self) -> bool:
        if self.cancelled is None or time.monotonic() - self.asked_at < CANCEL_POLL_S:
            return False
        self.asked_at = time.monotonic()
        return bool(self.cancelled())

    def stop_if_cancelled(self) -> None:
        """Raise ExtractCancelled, which ends an engine's run, once ``cancelled`` says so."""
        if self():
            raise ExtractCancelled("cancelled while ingesting")


def extract_workers(settings: Settings, documents: int) -> int:
    count = settings.extract.workers or usable_cores()
    return max(1, min(count, documents))


_may_lower: ContextVar[bool] = ContextVar("figvault_encoder_may_lower_threads", default=False)
"""Whether a local run started in this context may lower torch's threads (``encoder_may_lower_threads``)."""


@contextlib.contextmanager
def encoder_may_lower_threads() -> Iterator[None]:
    """Around the runs of a process whose only torch work is its ingest (``figvault ingest``,
    ``bench/ingest.py``): their encoders may lower torch's threads. Off outside it: torch's thread count is
    process-wide, and a pool thread that first runs torch while it is lowered keeps one thread after the
    restore, so in ``figvault serve`` an upload's ingest would leave the searches of that time on one thread
    for good. A context variable, reset on the way out: nothing of it outlives the command (an in-process
    CLI call in the tests, then a run that must not lower)."""
    token = _may_lower.set(True)
    try:
        yield
    finally:
        _may_lower.reset(token)


@contextlib.contextmanager
def encoder_threads(workers: int, allowed: bool) -> Iterator[None]:
    """For one run, in its encoder thread: torch's intra-op threads lowered to the cores that ``workers``
    extraction processes leave (at least 1; never raised), then restored, where the run is ``allowed`` to
    (``encoder_may_lower_threads``, read where the run started). Oversubscribed cores stall OpenMP's
    threads, which wait for each other: corpus ingest on 2 cores at load 7-9 took 223 s with 2 threads (the
    model load alone 113 s) and 65 s with 1 (docs/jobs.md)."""
    import torch

    if not allowed:
        yield
        return
    before = torch.get_num_threads()
    wanted = min(before, max(1, usable_cores() - workers))
    if wanted != before:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if wanted != before:
            torch.set_num_threads(before)


def _tail_workers() -> int:
    """Texts the encoder runs at once once every document of a run is extracted: one per core where the
    run may take the cores (``encoder_may_lower_threads``: a process whose only work is its ingest), else
    one. Each batch of a job ends with the encoder alone; on 1 thread it left a core idle (corpus +
    distractors: 1.6 s at one batch's end, docs/jobs.md)."""
    return usable_cores() if _may_lower.get() else 1


def largest_first(specs: Sequence[DocSpec]) -> list[DocSpec]:
    """The documents in the order to start their extraction: largest file first (ties in input order), so
    that the run does not end waiting on one long document while the other workers sit idle."""
    return sorted(specs, key=lambda spec: file_size(spec.path), reverse=True)


def _offer(inbox: queue.Queue[PreparedDoc], doc: PreparedDoc) -> bool:
    """Put ``doc`` in ``inbox`` if there is room; whether it went."""
    try:
        inbox.put_nowait(doc)
    except queue.Full:
        return False
    return True


class _Extractions:
    """The extract stage of one local run: ``workers`` limited extractions at once, largest file first,
    at most ``limit`` documents held (extracting, or extracted and waiting for room in the encoder's
    queue), each handed on as it finishes: a long document holds back no other."""

    def __init__(
        self,
        settings: Settings,
        specs: Sequence[DocSpec],
        clock: StageClock,
        stop: threading.Event,
        workers: int,
        limit: int,
        slots: Slots,
        images: HeldImages,
        adopted: Sequence[Adopted] = (),
    ) -> None:
        self.settings, self.clock, self.stop, self.limit, self.slots = settings, clock, stop, limit, slots
        self.images = images
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="figvault-extract")
        # Extracted (or extracting) ahead, while the run before drained; each let go once collected (its
        # future holds the document, images and all).
        self.adopted = {a.future: a for a in adopted}
        taken = {id(a.spec) for a in adopted}
        self.todo = deque(largest_first([s for s in specs if id(s) not in taken]))
        self.running: dict[Future[Outcome], DocSpec] = {a.future: a.spec for a in adopted}
        for item in adopted:
            clock.begin(item.spec)
        self.ready: deque[PreparedDoc] = deque()
        self.profiles = SofficeProfiles()  # one LibreOffice profile per worker slot, for the run

    def pending(self) -> bool:
        return bool(self.todo or self.running or self.ready)

    def extracting(self) -> bool:
        """Whether a document is still to be extracted, or being extracted."""
        return bool(self.todo or self.running)

    def busy(self) -> int:
        """Extractions started and not done (running, or waiting for a pool thread or a slot)."""
        return sum(1 for future in self.running if not future.done())

    def _extract(self, spec: DocSpec) -> Outcome:
        if self.stop.is_set():
            raise ExtractCancelled("cancelled before extraction")
        settings, stop = self.settings.extract, self.stop
        with self.slots.held(stop.is_set):
            # Looked at with the slot held, so what the extraction before it in the slot holds counts.
            self.images.wait_for_room(stop.is_set)
            outcome = extract_and_prepare(
                spec, settings, self.clock, cancelled=stop.is_set, profiles=self.profiles
            )
            if isinstance(outcome, PreparedDoc):
                self.images.hold(str(spec.path), outcome.extraction.image_bytes())
        return outcome

    def start_more(self) -> None:
        while self.todo and len(self.running) + len(self.ready) < self.limit:
            spec = self.todo.popleft()
            self.clock.begin(spec)
            self.running[self.pool.submit(self._extract, spec)] = spec

    def collect_failed(self) -> Iterator[tuple[DocSpec, Outcome]]:
        """The finished extractions: each failure (its reason) yielded, each extracted document kept
        for the encoder."""
        for future in [f for f in self.running if f.done()]:
            spec, result = self.running.pop(future), future.result()
            self.adopted.pop(future, None)
            if isinstance(result, str):
                self.images.release(str(spec.path))  # (one extracted ahead is held before it is prepared)
                yield spec, result
            else:  # (held already: by ``_extract``, or by the look-ahead for an adopted one)
                self.ready.append(result)

    def hand_on(self, inbox: queue.Queue[PreparedDoc]) -> int:
        """Move the extracted documents into the encoder's queue while it has room; how many went."""
        moved = 0
        while self.ready and _offer(inbox, self.ready[0]):
            self.ready.popleft()
            moved += 1
        return moved

    def close(self) -> None:
        """Cancel what has not started, wait for the rest (``stop`` set: they end within CANCEL_POLL_S)."""
        for future in self.running:
            future.cancel()
        for item in self.adopted.values():
            item.halt.set()
        self.pool.shutdown(wait=True)
        wait(list(self.adopted))
        self.profiles.close()


@dataclass(frozen=True)
class _EncodeLane:
    """What the encoder thread of one local run works with: the extracted documents coming in (bounded),
    the encoded ones (or their reasons) going out, the run's stop flag, the encoders and their channels,
    and the run's clock."""

    inbox: queue.Queue[PreparedDoc]
    outbox: queue.Queue[tuple[DocSpec, Outcome]]
    stop: threading.Event
    encoders: Any
    channels: Sequence[DenseChannel]
    clock: StageClock
    drained: threading.Event = field(default_factory=threading.Event)
    """Set once no document is left to extract: the encoder then has the cores to itself."""
    tail_workers: int = 1
    """Texts encoded at once after ``drained`` (``_tail_workers``)."""


class LocalEngine(Engine):
    """Extraction processes, one encoder thread, bounded queues between them (see the module)."""

    name = "local"

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.slots_count = extract_workers(settings, sys.maxsize)
        self.slots = Slots(self.slots_count)
        self.images = HeldImages(settings.ingest.held_images_mb * MiB)
        self.ahead: LookAhead | None = None

    def look_ahead(self, paths: Sequence[Path], worth: Callable[[Path], bool], *, now: bool = False) -> None:
        self.ahead = self.ahead or LookAhead(self.settings, self.slots, self.slots_count, self.images)
        self.ahead.name(paths, worth)
        if now:
            self.ahead.start(self.slots_count - self.ahead.busy())

    def looking_ahead(self) -> list[str]:
        return self.ahead.paths() if self.ahead is not None else []

    def close(self) -> None:
        if self.ahead is not None:
            self.ahead.close()
            self.ahead = None

    def run(
        self,
        specs: Sequence[DocSpec],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        adopted = self.ahead.adopt(specs, clock) if self.ahead is not None else []
        if not specs:
            return
        workers = extract_workers(self.settings, len(specs))
        depth = max(1, self.settings.ingest.queue_docs)
        stop = threading.Event()
        inbox: queue.Queue[PreparedDoc] = queue.Queue(maxsize=depth)
        tail = _tail_workers()
        lane = _EncodeLane(inbox, queue.Queue(), stop, encoders, channels, clock, tail_workers=tail)
        encoder = threading.Thread(
            target=self._encode_loop,
            args=(lane, workers, _may_lower.get()),  # the context is this thread's, not the encoder's
            name="figvault-encode",
            daemon=True,
        )
        extractions = _Extractions(
            self.settings, specs, clock, stop, workers, workers + depth, self.slots, self.images, adopted
        )
        del adopted  # (their documents: ``_Extractions.adopted``)
        watch = CancelWatch(cancelled)
        in_encoder = 0
        encoder.start()
        try:
            while extractions.pending() or in_encoder:
                extractions.start_more()
                yield from extractions.collect_failed()
                self._start_ahead(extractions, clock)
                if not extractions.extracting() and not (self.ahead and self.ahead.extracting()):
                    lane.drained.set()  # before the last documents reach the encoder
                in_encoder += extractions.hand_on(lane.inbox)
                with contextlib.suppress(queue.Empty):
                    item = lane.outbox.get(timeout=WAIT_S)
                    in_encoder -= 1
                    yield item
                    self.images.release(str(item[0].path))  # written by the caller by now
                    del item  # (its images, when the next document waits for room)
                watch.stop_if_cancelled()
        finally:
            stop.set()  # running extractions notice within CANCEL_POLL_S and kill their workers
            extractions.close()
            encoder.join()
            for spec in specs:  # those not handed on (cancelled, an error) are let go with the run
                self.images.release(str(spec.path))

    def _start_ahead(self, extractions: _Extractions, clock: StageClock) -> None:
        """Once this run has nothing left to start, its free slots extract the next run's files
        (``look_ahead``); the job's checkpoint then names them in flight (``clock.listener``)."""
        if self.ahead is None or extractions.todo:
            return
        if not self.images.room_ahead():
            return
        free = self.slots_count - extractions.busy() - self.ahead.busy()
        if self.ahead.start(free) and clock.listener is not None:
            clock.listener()

    def _encode_loop(self, lane: _EncodeLane, workers: int, lower: bool) -> None:
        """Encode every document waiting, up to ``ingest.encode_batch_units`` units, in one call, on the
        cores the ``workers`` extraction processes leave (where the run may ``lower`` torch's threads)."""
        with encoder_threads(workers, lower):
            load_encoders(lane.encoders, lane.clock)  # while the first documents are extracted
            self._encode_waiting(lane)

    def _encode_waiting(self, lane: _EncodeLane) -> None:
        limit = max(1, self.settings.ingest.encode_batch_units)
        while not lane.stop.is_set():
            try:
                batch = [lane.inbox.get(timeout=WAIT_S)]
            except queue.Empty:
                continue
            units = len(batch[0].units)
            while units < limit:
                try:
                    batch.append(lane.inbox.get_nowait())
                except queue.Empty:
                    break
                units += len(batch[-1].units)
            workers = lane.tail_workers if lane.drained.is_set() else 1
            try:
                results = encode_batch(lane.encoders, lane.channels, batch, lane.clock, workers)
            except Exception as exc:  # a bug here must fail these documents, not hang the run
                results = [one_line(exc)] * len(batch)
            for doc, result in zip(batch, results, strict=True):
                lane.outbox.put((doc.spec, result))
            del batch, results, doc, result  # their images go once written, not when the next batch comes


class SequentialEngine(Engine):
    """Before issue 16: ``extract.workers`` documents extracted at once, then each encoded alone (and
    written by the caller) before the next chunk starts. The benchmark's baseline."""

    name = "sequential"

    def run(
        self,
        specs: Sequence[DocSpec],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        size = extract_workers(self.settings, len(specs))
        if specs:
            load_encoders(encoders, clock)
        for start in range(0, len(specs), size):
            chunk = {s.path: s for s in specs[start : start + size]}
            for spec in chunk.values():
                clock.begin(spec)
            began = time.perf_counter()
            for path, result in extract_many(list(chunk), self.settings.extract, cancelled=cancelled):
                spec = chunk[path]
                if isinstance(result, str):
                    clock.add("extract", time.perf_counter() - began, docs=1)
                    yield spec, result
                else:
                    doc = prepare(spec, result, clock)
                    seconds, pages = time.perf_counter() - began, doc.extraction.meta.pages
                    clock.add("extract", seconds, docs=1, units=len(doc.units), pages=pages)
                    yield spec, encode_batch(encoders, channels, [doc], clock)[0]
                began = time.perf_counter()


def build_engine(settings: Settings, name: str | None = None, *, ray_address: str | None = None) -> Engine:
    """The engine ``name`` (default ``ingest.engine``); ``ray`` needs the ``figvault[ray]`` extra."""
    chosen = name or settings.ingest.engine
    if chosen == "local":
        return LocalEngine(settings)
    if chosen == "sequential":
        return SequentialEngine(settings)
    if chosen == "ray":
        from figvault.pipeline.ray_engine import RayEngine

        return RayEngine(settings, address=ray_address or settings.ingest.ray_address or None)
    raise FigvaultError(f"unknown ingest engine {chosen!r}: choose one of {', '.join(ENGINES)}")
