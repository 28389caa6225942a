"""Extraction in worker processes, one document per process, under a CPU-time and a memory limit.

A hostile or pathological file (200k path operators, 20,000 overlapping segments on a page, a deck of
150k paragraphs) must fail alone, in bounded time and memory, and never take the host process down or
its cores away: the service answers searches while uploads are extracted, and a batch goes on past a bad
file. So each document is extracted in its own short-lived process:

- forked from a ``forkserver`` that has the extractors imported already (about 40 ms a process instead of
  seconds for a fresh interpreter, and never forked from a process with torch or store threads);
- at a lower CPU priority (``extract.worker_nice``), so a search in the parent wins the cores;
- with ``RLIMIT_DATA`` at the memory limit (an allocation past it fails inside the worker) and the
  worker's resident memory, its children's (LibreOffice) included, polled by the parent (its own every
  ``POLL_S``, with its children's every ``TREE_POLL_S``);
- killed, with its children, when its process tree has used ``extract.doc_timeout_s`` CPU seconds (its
  own, threads included, and everything it started: its OCR reader, LibreOffice, alive or ended; each of
  those also has its own limit and counts against the document's optional-step deadline, but a child
  spinning past its own limit's reach must not outrun the document's), when it has run WALL_FACTOR
  (``ingest/deadline.py``) times that in wall time (a backstop for a worker that is blocked, not
  working), past ``extract.doc_memory_mb``, when it dies (a crash in a native parser), or when the caller
  cancels.

What a hostile file costs is CPU time, which a busy machine does not inflate: at load 20 on 2 cores a
large legitimate PDF took more than 120 s of wall time, and a wall-time limit lost it.

``run_limited`` is the reusable piece (any work on an untrusted file, under limits, with a cancel
check: the first render of a page image for the viewer uses it too); ``extract_limited`` extracts one
document with it, and ``extract_many`` runs several at once for a batch, largest file first, and yields
results in input order. All say why a document failed in words a person understands. The page texts (a
retrieval signal read with the same parsers) come back with the extraction, so the parent never parses an
untrusted file itself.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psutil

from figvault.cores import usable_cores
from figvault.errors import ExtractionError, FigvaultError, MachineBoundError, shown_line
from figvault.ingest import soffice_profiles
from figvault.ingest.cpu_limited import descendants, tree_cpu_seconds
from figvault.ingest.deadline import OPTIONAL_SHARE, WALL_FACTOR, Deadline, steps_until
from figvault.ingest.soffice_profiles import SofficeProfiles
from figvault.pipeline.failures import failure_reason
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction

POLL_S = 0.1
"""How often the parent looks at a worker's clock, memory and the cancel flag."""
ORPHAN_POLL_S = 0.5
"""How often a worker checks that the process that asked for it is still there."""
CANCEL_POLL_S = 0.5
"""How often the (possibly database-backed) cancel check is asked."""
TREE_POLL_S = 0.5
"""How often the memory of a worker's children (LibreOffice) is added to its own, which is read every
POLL_S: finding a process's descendants with psutil reads every process of the machine (3.4-4.9 ms with
130-150 processes, against 0.01 ms for one process's memory), which at every POLL_S cost the parent 3 % of a
core per running worker; ``descendants`` now walks the worker's own tree instead."""
MiB = 2**20
# Imported once in the fork server, so each worker starts with the parsers loaded.
_PRELOAD = [
    "figvault.pipeline.fork_server",  # first: one thread per native library; no main script run again
    "figvault.ingest.extract",
    "figvault.ingest.pdf",
    "figvault.ingest.pptx",
    "figvault.ingest.page_text",
    "figvault.pipeline.page_images",
    "figvault.ingest.ocr_preload",  # the Tesseract engine of the default languages, loaded once
    "imagehash",  # units' perceptual hashes (ingest/render.py); imagehash imports scipy.fftpack on first use:
    "scipy.fftpack",  # 0.13 CPU-s a worker otherwise, +13 MB resident each
]
_context_lock = threading.Lock()
_context: Any = None


class ExtractCancelled(FigvaultError):
    """The caller asked to stop while a document was being extracted; its worker was killed."""


@dataclass(frozen=True)
class ExtractLimits:
    """Per-document limits of one extraction worker: ``seconds`` of its CPU time (and WALL_FACTOR times
    that of wall time), ``memory_mb`` of memory, at niceness ``nice``."""

    seconds: float = 120.0
    memory_mb: int = 2048
    nice: int = 10
    seconds_setting: str = "extract.doc_timeout_s"
    """The setting ``seconds`` comes from, as the reasons name it."""

    @classmethod
    def from_settings(cls, settings: ExtractSettings) -> ExtractLimits:
        return cls(
            seconds=float(settings.doc_timeout_s),
            memory_mb=int(settings.doc_memory_mb),
            nice=int(settings.worker_nice),
        )

    @property
    def wall_seconds(self) -> float:
        """The wall-time backstop: WALL_FACTOR times the CPU budget."""
        return WALL_FACTOR * self.seconds


@dataclass
class WorkerResult:
    """What a worker hands back: the document's units and the text of each of its pages."""

    extraction: DocumentExtraction
    page_texts: dict[int, str] = field(default_factory=dict)

    def detach_images(self) -> list[bytes]:
        """The figures' PNGs, taken out of the result (each figure's ``png`` left empty), in figure order."""
        images = [figure.png for figure in self.extraction.figures]
        for figure in self.extraction.figures:
            figure.png = b""
        return images

    def attach_images(self, images: list[bytes]) -> None:
        """Put back what ``detach_images`` took."""
        for figure, png in zip(self.extraction.figures, images, strict=True):
            figure.png = png


def _mp_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(_PRELOAD)
            _context = ctx
        return _context


# ---- the worker side -------------------------------------------------------------------------------


def _started_at(pid: int) -> str | None:
    """When process ``pid`` started (Linux: clock ticks since boot, exact), or "" where that cannot be read
    (then only whether the pid exists is known); None: no such process, or one that has ended and waits to
    be reaped (a zombie keeps its /proc entry until its parent collects it, which a slow supervisor may
    never do)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        state, *rest = stat[stat.rindex(")") + 2 :].split()
        return None if state in ("Z", "X") else rest[18]
    except (OSError, ValueError, IndexError):
        return "" if psutil.pid_exists(pid) else None


def _watch_requester(pid: int) -> None:
    """End this worker (and its process group) when the process that asked for it is gone (kill -9
    included): that process enforced the time limit, and the fork server outlives it while a worker runs.
    A thread, so it acts between the extractor's Python steps."""
    born = _started_at(pid)
    if born is None:
        os._exit(1)

    def watch() -> None:
        while _started_at(pid) == born:  # the same process, not a new one under a reused pid
            time.sleep(ORPHAN_POLL_S)
        for child in descendants(os.getpid()):  # LibreOffice runs in a session of its own, not our group
            with contextlib.suppress(OSError):
                os.kill(child, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os._exit(1)

    threading.Thread(target=watch, name="figvault-orphan-watch", daemon=True).start()


def _set_limits(limits: ExtractLimits) -> None:
    import resource

    os.setpgrp()  # its own process group: the parent ends the worker and whatever it started together
    # A backstop for what the worker starts (LibreOffice): CPU seconds past the budget on every core end
    # it, should the worker and its parent be gone.
    cpu_cap = int(limits.seconds * (os.cpu_count() or 1)) + 60
    _soft, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    if cpu_hard == resource.RLIM_INFINITY or cpu_hard > cpu_cap:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_cap, cpu_hard))
    with contextlib.suppress(OSError):
        os.nice(max(0, limits.nice))
    cap = limits.memory_mb * MiB
    _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    if hard == resource.RLIM_INFINITY or hard > cap:
        # Soft only: a LibreOffice it starts inherits the cap, which is the point.
        resource.setrlimit(resource.RLIMIT_DATA, (cap, hard))


def _memory_reason(limits: ExtractLimits, verb: str = "extract") -> str:
    return (
        f"needed more than {limits.memory_mb} MiB of memory to {verb} (limit extract.doc_memory_mb);"
        " the file is too large or too complex"
    )


def _no_thread_stack(exc: Exception) -> bool:
    """A thread that could not start: under the worker's memory limit its stack could not be mapped (the limit
    counts it), which is the document's memory, not a bug."""
    return isinstance(exc, RuntimeError) and "can't start new thread" in str(exc)


def _extract_here(
    path: Path, settings: ExtractSettings, limits: ExtractLimits, profile: Path | None = None
) -> WorkerResult:
    from figvault.ingest.extract import extract_document, read_document
    from figvault.ingest.ocr import start_reader
    from figvault.ingest.page_text import PDF_MIME, page_texts

    start_reader(settings)  # forked now, small: it shares little of the memory the document will take
    data = read_document(path, settings)
    texts: dict[int, str] = {}
    # ingest/deadline.py: this process's CPU time (the parent's kill counts the same) and the wall backstop
    optional_until = Deadline.after(OPTIONAL_SHARE * limits.seconds, OPTIONAL_SHARE * limits.wall_seconds)
    try:
        with soffice_profiles.reusing(profile), steps_until(optional_until):
            extraction = extract_document(path, settings, data, texts)
    except ExtractionError as exc:
        if isinstance(exc.__cause__, MemoryError):
            raise ExtractionError(_memory_reason(limits)) from None
        raise
    figure_bytes = extraction.image_bytes()
    if figure_bytes > limits.memory_mb * MiB // 2:
        # The images travel to the parent and into the blob store: their total is held to the limit too.
        raise ExtractionError(
            f"its {len(extraction.figures)} figures take {figure_bytes // MiB} MiB of images, more than half"
            f" the {limits.memory_mb} MiB per-document limit (extract.doc_memory_mb)"
        )
    if extraction.meta.mime != PDF_MIME:  # a PDF's texts came with its extraction
        texts = page_texts(data, extraction.meta.mime, settings)
    return WorkerResult(extraction, texts)


def _run_main(
    conn: Connection,
    target: Callable[..., Any],
    args: tuple[Any, ...],
    limits: ExtractLimits,
    verb: str,
    requester: int,
) -> None:
    """The worker process: ``target(*args)`` under ``limits``; its value, or a FigvaultError's class and
    reason, or a one-line reason, goes back through ``conn``. It ends when ``requester`` is gone."""
    images: list[bytes] = []
    try:
        _set_limits(limits)
        _watch_requester(requester)
        value = target(*args)
        if isinstance(value, WorkerResult):
            images = value.detach_images()
        message: tuple[str, Any] = ("ok", (value, len(images)))
    except FigvaultError as exc:
        message = ("raise", (type(exc), str(exc)))
    except MemoryError:
        message = ("error", _memory_reason(limits, verb))
    except Exception as exc:  # a bug on hostile input fails this document with its reason
        message = (
            "error",
            _memory_reason(limits, verb) if _no_thread_stack(exc) else shown_line(exc, typed=True),
        )
    sent = False
    try:
        conn.send(message)
        sent = True
        # Each image its own message: pickled within the value, a document's images would be held twice
        # here (the objects and the pickle) and twice in the parent (the message and the unpickled bytes).
        for png in images:
            conn.send_bytes(png)
    except MemoryError:
        if not sent:  # (after the value, the parent reads the end of the pipe: a worker gone mid-answer)
            conn.send(("error", _memory_reason(limits, verb)))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the requester is gone (killed, SIGTERM): nobody to tell, and no traceback on its terminal
    finally:
        conn.close()


# ---- the parent side -------------------------------------------------------------------------------


def _tree(pid: int) -> list[psutil.Process]:
    """Process ``pid`` and its descendants (those that still exist)."""
    procs: list[psutil.Process] = []
    for one in [pid, *descendants(pid)]:
        with contextlib.suppress(psutil.Error):
            procs.append(psutil.Process(one))
    return procs


def _resident_bytes(pid: int, children: bool = True) -> int:
    """Resident memory of process ``pid`` and (``children``) of everything it started."""
    if not children:
        try:
            return int(psutil.Process(pid).memory_info().rss)
        except psutil.Error:
            return 0
    total = 0
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total


def _kill(pid: int) -> None:
    """The worker, everything it started (LibreOffice runs in a session of its own), and its group."""
    for proc in _tree(pid):
        with contextlib.suppress(psutil.Error):
            proc.kill()
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def _crash_error(exitcode: int | None) -> ExtractionError:
    """A worker that died without a word: a crash on the file (a signal it raised: the file's own), or a kill
    from outside (SIGKILL: the kernel's out-of-memory killer, most likely) or an exit without a result (the
    machine's: read again by the next ingest)."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if name == "SIGKILL":  # not ours: the kernel's out-of-memory killer, most likely
            return MachineBoundError(
                "the extractor process was killed (out of memory?) while reading this file"
            )
        return ExtractionError(f"the extractor process crashed ({name}) while reading this file")
    return MachineBoundError(f"the extractor process stopped (exit code {exitcode}) without a result")


class _Watch:
    """The parent's view of one worker: asks the cancel check at most every ``CANCEL_POLL_S``."""

    def __init__(self, cancelled: Callable[[], bool] | None) -> None:
        self.cancelled = cancelled
        self.asked_at = 0.0

    def cancel_now(self) -> bool:
        if self.cancelled is None or time.monotonic() - self.asked_at < CANCEL_POLL_S:
            return False
        self.asked_at = time.monotonic()
        return bool(self.cancelled())


def extract_limited(
    path: Path,
    settings: ExtractSettings,
    *,
    limits: ExtractLimits | None = None,
    cancelled: Callable[[], bool] | None = None,
    profiles: SofficeProfiles | None = None,
) -> WorkerResult:
    """Extract one document in a fresh worker process under ``limits`` (default: from ``settings``);
    a deck's LibreOffice conversion reuses a profile of the batch's ``profiles`` (None: a fresh one).

    Raises ExtractionError with a one-line reason (bad file, over time, over memory, crashed) and
    ExtractCancelled when ``cancelled()`` turns true; in every case the worker and its children are gone
    (and the profile it leased too).
    """
    limits = limits or ExtractLimits.from_settings(settings)
    lease = profiles.lease() if profiles is not None else contextlib.nullcontext(None)
    with lease as profile:
        args = (path, settings, limits, profile)
        return run_limited(_extract_here, args, limits, verb="extract", cancelled=cancelled)


def run_limited(
    target: Callable[..., Any],
    args: tuple[Any, ...],
    limits: ExtractLimits,
    *,
    verb: str,
    cancelled: Callable[[], bool] | None = None,
) -> Any:
    """``target(*args)`` in a fresh worker process under ``limits``: its value (picklable), or the
    FigvaultError it raised (same class and reason). ``target`` is a module-level function that handles
    an untrusted file (never one of the main script: a worker does not import it, ``fork_server``);
    ``verb`` names its work in the reasons ("took longer than 120 s to {verb} (CPU time, ...").

    Raises ExtractionError with a one-line reason when the worker ran over time or memory, crashed, or
    failed with another exception, and ExtractCancelled when ``cancelled()`` turns true; in every case the
    worker and its children are gone when it returns.
    """
    ctx = _mp_context()
    receiver, sender = ctx.Pipe(duplex=False)
    process = ctx.Process(
        target=_run_main,
        args=(sender, target, args, limits, verb, os.getpid()),
        name="figvault-worker",
        daemon=True,
    )
    watch = _Watch(cancelled)
    process.start()
    sender.close()
    started = tree_at = time.monotonic()
    clock = _CpuClock(process.pid or 0)
    try:
        while True:
            if receiver.poll(POLL_S):
                return _answer(receiver, process)
            _check_time(limits, verb, clock.seconds(), time.monotonic() - started)
            whole_tree = time.monotonic() - tree_at >= TREE_POLL_S
            tree_at = time.monotonic() if whole_tree else tree_at
            if _resident_bytes(process.pid or 0, children=whole_tree) > limits.memory_mb * MiB:
                raise ExtractionError(_memory_reason(limits, verb))
            if watch.cancel_now():
                raise ExtractCancelled("cancelled while extracting")
    finally:
        if process.pid is not None:
            _kill(process.pid)
        process.join(5)
        receiver.close()


class _CpuClock:
    """The CPU seconds (user and system, all threads) process ``pid`` and everything below it have used:
    the live descendants' (its OCR reader, LibreOffice and what that starts) and the reaped ones'. Its
    children have limits of their own, but those are theirs to keep: a child that spins where its own
    limit does not reach (a LibreOffice whose watcher is stuck, a reader the worker never stops) would
    otherwise run until the wall backstop, 10 times the budget. One walk of the tree a poll
    (``cpu_limited.descendants``: the kernel's child lists, 0.03 ms for a worker and its LibreOffice). 0
    once it cannot be read: the wall backstop still holds."""

    def __init__(self, pid: int) -> None:
        try:
            self.process: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self.process = None

    def seconds(self) -> float:
        return 0.0 if self.process is None else tree_cpu_seconds(self.process)


def _check_time(limits: ExtractLimits, verb: str, cpu_s: float, wall_s: float) -> None:
    """Raise ExtractionError when a worker used its CPU budget, or its wall backstop."""
    if cpu_s > limits.seconds:
        raise ExtractionError(
            f"took longer than {limits.seconds:g} s to {verb} (CPU time, limit {limits.seconds_setting},"
            " counting what it started: OCR reads, LibreOffice); the file is too complex or malformed"
        )
    if wall_s > limits.wall_seconds:
        raise MachineBoundError(
            f"took longer than {limits.wall_seconds:g} s to {verb} (wall time, {WALL_FACTOR} times the limit"
            f" {limits.seconds_setting}, with {cpu_s:.1f} CPU-s used); the worker was blocked or the machine"
            f" is overloaded: raise {limits.seconds_setting} to allow more"
        )


def _answer(receiver: Connection, process: Any) -> Any:
    """What the worker sent: its value, or raised as the FigvaultError or reason it sent."""
    try:
        kind, payload = receiver.recv()
        if kind == "ok":
            value, count = payload
            if isinstance(value, WorkerResult):
                value.attach_images([receiver.recv_bytes() for _ in range(count)])
            return value
    # It died without a word, before its last image, or while it wrote one (killed mid-message, the pipe
    # raises OSError "got end of file during message"): its exit code says why.
    except (EOFError, OSError):
        process.join(5)
        raise _crash_error(process.exitcode) from None
    if kind == "raise":
        cls, reason = payload
        raise cls(reason)
    raise ExtractionError(payload)


def file_size(path: Path) -> int:
    """The file's size in bytes, the one cost of a document known before it is opened; 0 when it cannot
    be read (its extraction reports why)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def extract_many(
    paths: Iterable[Path],
    settings: ExtractSettings,
    *,
    workers: int | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> Iterator[tuple[Path, WorkerResult | str]]:
    """Extract documents, up to ``workers`` at once (default ``extract.workers``, 0: one per core), each in
    its own limited process; yields (path, result or one-line failure reason) in input order.

    A cancel raises ExtractCancelled once the running workers are killed. Leaving the loop early (an
    exception in the caller) kills the running workers too.
    """
    files = [Path(p) for p in paths]
    if not files:
        return
    count = workers or settings.workers or usable_cores()
    count = max(1, min(count, len(files)))
    # Only this thread asks ``cancelled`` (it may read a database connection of this thread); the
    # extraction threads watch the event it sets.
    stop = threading.Event()
    profiles = SofficeProfiles()

    def one(path: Path) -> WorkerResult | str:
        if stop.is_set():
            raise ExtractCancelled("cancelled before extraction")
        try:
            return extract_limited(path, settings, cancelled=stop.is_set, profiles=profiles)
        except ExtractionError as exc:
            return failure_reason(exc)

    pool = ThreadPoolExecutor(max_workers=count, thread_name_prefix="figvault-extract")
    # Started largest first, as ingest starts them (runner.largest_first): a long document started last
    # would leave the other workers idle at the end. Results still come back in input order.
    started = {p: pool.submit(one, p) for p in sorted(files, key=file_size, reverse=True)}
    futures: list[Future[WorkerResult | str]] = [started[p] for p in files]
    try:
        for path, future in zip(files, futures, strict=True):
            while True:
                try:
                    result = future.result(timeout=CANCEL_POLL_S)
                    break
                except TimeoutError:
                    if cancelled is not None and cancelled():
                        stop.set()
            yield path, result
    finally:
        stop.set()  # early exit or cancel: the workers still running notice within CANCEL_POLL_S
        for future in futures:
            future.cancel()
        pool.shutdown(wait=True)
        profiles.close()
