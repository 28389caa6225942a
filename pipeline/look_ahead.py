"""The next run's extractions, started while the current run drains (the local engine's batch ends).

A job hands the local engine its documents ``ingest.batch_docs`` at a time, and each run ends with its
last documents encoded, written and flushed while one or no extraction runs: on 2 cores about 3.4 s of
wall time on corpus + distractors (3 runs; docs/jobs.md). The job names the next run's files
(``LocalEngine.look_ahead``); once the current run has nothing left to start, a free extraction slot
takes the largest of them, and the next run adopts what was extracted for its documents instead of
extracting them again. What a run boundary guarantees stays:

- **nothing is written ahead**: an extraction is a worker process's read of the file; the next run plans
  (skips stored documents), writes and commits as before, and a file it does not plan is dropped;
- **no file that the plan will skip**: ``worth`` (the job's) refuses a file whose bytes a stored document
  of the tenant has, so a re-run over unchanged files extracts nothing;
- **the same limits**: each extraction in its own limited worker (``extract.doc_timeout_s``,
  ``doc_memory_mb``), and at most ``extract.workers`` worker processes at once over both runs
  (``Slots``);
- **bounded memory**: at most one extracted document per slot is held ahead, and none starts while the
  run's documents and those held ahead have ``ingest.held_images_mb`` of images (``HeldImages``);
- **in flight**: the files extracted ahead are listed (``paths``) in the job's checkpoint, so a process
  death charges them as it charges the run's own; **cancel**: ``close`` (the job's end, whatever ends it)
  stops them within ``CANCEL_POLL_S``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from figvault.ingest.soffice_profiles import SofficeProfiles
from figvault.pipeline.extract_worker import CANCEL_POLL_S, ExtractCancelled, WorkerResult, file_size
from figvault.pipeline.stages import DocSpec, Outcome, StageClock, extract_raw, prepared_outcome
from figvault.settings import Settings


class Slots:
    """At most ``count`` extraction worker processes at once, over a run and the look-ahead beside it."""

    def __init__(self, count: int) -> None:
        self._semaphore = threading.BoundedSemaphore(count)

    @contextlib.contextmanager
    def held(self, cancelled: Callable[[], bool]) -> Iterator[None]:
        """One slot while the block runs; ExtractCancelled when ``cancelled`` turns true while waiting."""
        while not self._semaphore.acquire(timeout=CANCEL_POLL_S):
            if cancelled():
                raise ExtractCancelled("cancelled before extraction")
        try:
            yield
        finally:
            self._semaphore.release()


class HeldImages:
    """The figure images extracted documents hold in this process (in ``serve``: the service's) until
    their run hands each on (written, or failed), against ``ingest.held_images_mb``: an extraction waits
    for room in its slot (each adds at most its own cap, half of ``extract.doc_memory_mb``), and nothing
    starts ahead for the next run without room. A run's extraction starts whenever the run holds none,
    whatever is held ahead: the run's own documents always drain, those held ahead only once it has ended."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: dict[str, tuple[int, bool]] = {}  # file -> (bytes, held ahead of its run)
        self._adopted: set[str] = set()  # files a run took while they were extracted ahead
        self._changed = threading.Condition()

    def hold(
        self, key: str, size: int, *, ahead: bool = False, dropped: Callable[[], bool] | None = None
    ) -> None:
        """``key``'s document holds ``size`` bytes (``ahead``: for the next run), unless ``dropped`` says its
        extraction ahead was dropped meanwhile (asked under the lock ``release`` takes)."""
        with self._changed:
            if dropped is None or not dropped():
                self._held[key] = (size, ahead and key not in self._adopted)

    def adopt(self, key: str) -> None:
        """``key``'s document, extracted ahead, belongs to the run now."""
        with self._changed:
            self._adopted.add(key)
            if key in self._held:
                self._held[key] = (self._held[key][0], False)

    def release(self, key: str) -> None:
        with self._changed:
            self._adopted.discard(key)
            if self._held.pop(key, None) is not None:
                self._changed.notify_all()

    def room(self) -> bool:
        """Whether a run's extraction may start."""
        with self._changed:
            run = sum(size for size, ahead in self._held.values() if not ahead)
            return run == 0 or sum(size for size, _ in self._held.values()) < self.limit

    def room_ahead(self) -> bool:
        """Whether an extraction for the next run may start."""
        with self._changed:
            return sum(size for size, _ in self._held.values()) < self.limit

    def wait_for_room(self, cancelled: Callable[[], bool]) -> None:
        """Until ``room``; ExtractCancelled when ``cancelled`` turns true meanwhile."""
        with self._changed:
            while not self._changed.wait_for(self.room, timeout=CANCEL_POLL_S):
                if cancelled():
                    raise ExtractCancelled("cancelled before extraction")


Raw = tuple[WorkerResult | str, float]
"""An extraction done ahead: the worker's result (or the reason it failed) and when it started
(``time.perf_counter``), so its busy time counts in the run that adopts it."""


@dataclass
class _Started:
    future: Future[Raw]
    halt: threading.Event = field(default_factory=threading.Event)
    """Set to stop this one extraction (dropped, or its run ended)."""


class LookAhead:
    """The next run's files and their extractions started ahead (see the module)."""

    def __init__(self, settings: Settings, slots: Slots, count: int, images: HeldImages) -> None:
        self.settings, self.slots, self.count, self.images = settings, slots, count, images
        self.stop = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="figvault-ahead")
        self.profiles = SofficeProfiles()  # kept across runs: a deck's conversion reuses a built profile
        self.todo: deque[Path] = deque()
        self.worth: Callable[[Path], bool] = lambda _path: True
        self.started: dict[str, _Started] = {}

    def name(self, paths: Sequence[Path], worth: Callable[[Path], bool]) -> None:
        """The next run's files (those ``worth`` extracting ahead: asked in the caller's thread, when one
        would start), largest first as the run would start them."""
        self.todo = deque(sorted(paths, key=file_size, reverse=True))
        self.worth = worth

    def paths(self) -> list[str]:
        """The files extracted ahead and not yet adopted by a run: in flight."""
        return sorted(self.started)

    def busy(self) -> int:
        """Extractions ahead still running."""
        return sum(1 for s in self.started.values() if not s.future.done())

    def extracting(self) -> bool:
        """Whether a file is being extracted ahead, or may still start."""
        return self.busy() > 0 or (bool(self.todo) and len(self.started) < self.count)

    def start(self, free: int) -> bool:
        """Start up to ``free`` of the named files (at most ``count`` held ahead); whether one started."""
        began = False
        while self.todo and free > 0 and len(self.started) < self.count:
            path = self.todo.popleft()
            if str(path) in self.started or not self.worth(path):
                continue
            item = _Started(Future())
            item.future = self.pool.submit(self._extract, path, item.halt)
            self.started[str(path)] = item
            free -= 1
            began = True
        return began

    def _extract(self, path: Path, halt: threading.Event) -> Raw:
        def cancelled() -> bool:
            return self.stop.is_set() or halt.is_set()

        with self.slots.held(cancelled):
            started = time.perf_counter()
            settings = self.settings.extract
            result = extract_raw(path, settings, cancelled=cancelled, profiles=self.profiles)
            if isinstance(result, WorkerResult):  # before the slot is free: the next extraction counts it
                self.images.hold(str(path), result.extraction.image_bytes(), ahead=True, dropped=halt.is_set)
            return result, started

    def adopt(self, specs: Sequence[DocSpec], clock: StageClock) -> list[Adopted]:
        """The run of ``specs`` takes the extractions started ahead for its files (each a future of the
        prepared document, counted in ``clock``); the others are stopped and dropped (the plan skipped
        or refused their files)."""
        adopted = []
        for spec in specs:
            item = self.started.pop(str(spec.path), None)
            if item is not None:
                self.images.adopt(str(spec.path))
                adopted.append(Adopted(_prepared(item, spec, clock), spec, item.halt))
        self.drop()  # (the job has named the next run's files before this run: ``todo`` is theirs)
        return adopted

    def drop(self) -> None:
        for path, item in self.started.items():
            item.halt.set()  # (before the release: an extraction ending now holds nothing, ``hold``)
            self.images.release(path)
        self.started.clear()

    def close(self) -> None:
        """Stop every extraction ahead and wait for its worker to be gone."""
        self.stop.set()
        self.todo.clear()
        self.drop()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.profiles.close()


@dataclass(frozen=True)
class Adopted:
    """An extraction started ahead, taken by the run of its document."""

    future: Future[Outcome]
    spec: DocSpec
    halt: threading.Event
    """Set by the run when it ends first (cancelled, or failed)."""


def _prepared(item: _Started, spec: DocSpec, clock: StageClock) -> Future[Outcome]:
    """A future of ``item``'s extraction prepared as ``spec`` (in the thread that ends it)."""
    out: Future[Outcome] = Future()
    out.set_running_or_notify_cancel()  # so that a run's close cannot cancel it under the callback

    def done(raw: Future[Raw]) -> None:
        try:
            result, started = raw.result()
            out.set_result(prepared_outcome(spec, result, clock, started))
        except BaseException as exc:  # ExtractCancelled, a cancelled future: the run sees it
            out.set_exception(exc)

    item.future.add_done_callback(done)
    return out
