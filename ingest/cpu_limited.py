"""Calls run in a helper child process, each stopped by the CPU time it uses, with a wall-time backstop.

Tesseract's layout and recognition run in C: Python cannot interrupt them, and Tesseract's own limit is a
wall-clock deadline (checked only while it recognises words, not while it lays out the page). On a busy
machine wall time is not what a read costs: at load 20 on 2 cores a read's wall time is many times its CPU
time, and a wall limit cut reads that had used a fraction of their allowance, losing the words in figures.
So the work runs in a ``Helper``, a child forked from this process (it starts with its memory: a loaded
engine), and a call is ended by killing the helper once the CPU seconds it used for that call pass
``cpu_s``, which load does not inflate, or its wall time passes ``wall_s``: a helper that gets no CPU at all
(blocked, stopped) still ends. Killing a process ends it wherever it is and leaves nothing running; the next
call forks a new helper. One helper serves the calls one after another: forking per call cost 50 ms of CPU
a read in a worker holding a document (copy-on-write faults on its heap), 20 % more CPU for the corpus'
OCR. Arguments and answers go through pipes, pickled.

The CPU the helpers use counts as this process's (``children_cpu``; ``ingest/deadline.py`` adds it to the
document's time); a helper that ended is in ``RUSAGE_CHILDREN`` once reaped, which happens at once.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import signal
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

POLL_S = 0.02
"""How often a helper's CPU time is read while it works (0.03 ms a read of its /proc entry)."""
_HEADER = 8


class OverLimit(TimeoutError):
    """A call was stopped by a limit, having used ``cpu_s`` CPU seconds in ``wall_s`` seconds."""

    def __init__(self, cpu_s: float, wall_s: float) -> None:
        super().__init__(f"stopped after {cpu_s:.2f} CPU-s, {wall_s:.2f} s")
        self.cpu_s = cpu_s
        self.wall_s = wall_s


class OverCpu(OverLimit):
    """It used more CPU seconds than it was given."""


class OverWall(OverLimit):
    """It ran for longer than the wall-time backstop."""


_LIVE: weakref.WeakSet[Helper] = weakref.WeakSet()


def process_cpu_seconds(process: psutil.Process | None) -> float:
    """CPU seconds (user and system, all its threads, not its children's) ``process`` has used; 0 where
    that cannot be read (none, gone): a wall-time backstop still holds then."""
    if process is None:
        return 0.0
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def tree_cpu_seconds(process: psutil.Process) -> float:
    """CPU seconds ``process`` and every process below it have used: the live ones', and those of the ones
    that ended and were reaped (their parents' ``children_*`` times); 0 for a part that cannot be read."""
    total, family = 0.0, [process.pid, *descendants(process.pid)]
    for pid in family:
        with contextlib.suppress(psutil.Error):
            times = process.cpu_times() if pid == process.pid else psutil.Process(pid).cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def descendants(pid: int) -> list[int]:
    """The pids of everything process ``pid`` started, read from the kernel's per-thread child lists
    (``/proc/PID/task/TID/children``: a walk of this tree only, 0.03 ms for a worker and its LibreOffice)
    where the kernel has them; else psutil's scan of every process of the machine (4.9 ms with 147
    processes, 3 CPU-ms with 150 polled 10 times a second: a core's percent per watcher)."""
    if not Path("/proc/self/task", str(threading.get_native_id()), "children").exists():
        try:  # a kernel without the children lists (CONFIG_PROC_CHILDREN)
            return [p.pid for p in psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return []
    found: list[int] = []
    todo = [Path(f"/proc/{pid}/task")]
    while todo:
        with contextlib.suppress(OSError, ValueError):  # a process that ended meanwhile has no children
            for task in todo.pop().iterdir():
                children = [int(c) for c in (task / "children").read_text().split()]
                found += children
                todo += [Path(f"/proc/{c}/task") for c in children]
    return found


def children_cpu() -> float:
    """CPU seconds used so far by this process's helpers that are still running."""
    return sum(helper.cpu_seconds() for helper in list(_LIVE) if helper.owner == os.getpid())


class Helper:
    """A child process that runs calls one at a time, each under its own limits (``call``); started at
    the first call, and again after one it was killed for or after a fork of the process that owns it."""

    def __init__(self) -> None:
        self.owner = 0
        self.process: psutil.Process | None = None
        self._to: int | None = None
        self._from: int | None = None
        self._finalizer: weakref.finalize | None = None
        self._lock = threading.Lock()  # one call at a time: the pipes carry one request and its answer
        self._state: object = None

    def call(
        self,
        work: Callable[..., Any],
        args: tuple[Any, ...],
        cpu_s: float,
        wall_s: float,
        state: object = None,
    ) -> Any:
        """``work(*args)`` in the helper (``work`` pickled by name: a module-level function): its value, or
        the exception it raised (raised here). Raises OverCpu once the call has used more than ``cpu_s``
        CPU seconds of the helper (checked every POLL_S while it runs, and when it answers), OverWall past
        ``wall_s`` seconds; the helper is killed then. ``state``: what of the caller's the helper must have
        been forked with (a loaded engine): a helper forked with another is replaced."""
        with self._lock:
            self._ready(state)
            assert self._to is not None and self._from is not None
            started, cpu_before = time.monotonic(), self.cpu_seconds()
            try:
                _send(self._to, pickle.dumps((work, args)))
                answer = _receive(self._from, lambda: self._check(cpu_before, started, cpu_s, wall_s))
                self._check(cpu_before, started, cpu_s, float("inf"))
            except BaseException:
                self.stop()
                raise
            if answer is None:
                self.stop()
                raise RuntimeError("the helper process ended without an answer")
        ok, value = pickle.loads(answer)
        if not ok:
            raise value
        return value

    def start(self, state: object = None) -> None:
        """Fork the helper now (``call`` does when none runs): while this process is small, so that the
        pages it shares with the helper are few (a resident-memory poll counts them twice, and each one
        either writes to is copied)."""
        with self._lock:
            self._ready(state)

    def _ready(self, state: object) -> None:
        if self.owner != os.getpid() or not self._alive() or self._state is not state:
            self._start()
            self._state = state

    def cpu_seconds(self) -> float:
        """CPU seconds the helper used since it started; 0 where that cannot be read."""
        return process_cpu_seconds(self.process)  # read once: ``stop`` in another thread sets it to None

    def stop(self) -> None:
        """Kill and reap the helper (a no-op when none runs); its CPU then counts in RUSAGE_CHILDREN."""
        if self._finalizer is not None:
            self._finalizer()
        self.process, self.owner, self._to, self._from, self._finalizer = None, 0, None, None, None
        _LIVE.discard(self)

    def _alive(self) -> bool:
        try:
            return self.process is not None and self.process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _check(self, cpu_before: float, started: float, cpu_s: float, wall_s: float) -> None:
        used, wall = self.cpu_seconds() - cpu_before, time.monotonic() - started
        if used > cpu_s:
            raise OverCpu(used, wall)
        if wall > wall_s:
            raise OverWall(used, wall)

    def _start(self) -> None:
        if self.owner == os.getpid():
            self.stop()  # it ended (killed from outside): reap it
        # A helper of the process this one was forked from is not ours: forget it, do not touch it.
        if self._finalizer is not None:
            self._finalizer.detach()
        self.process, self.owner, self._finalizer = None, 0, None
        requests, request_end = os.pipe()
        answer_end, answers = os.pipe()
        pid = os.fork()
        if pid == 0:  # the helper: never returns
            os.close(request_end)
            os.close(answer_end)
            _serve(requests, answers)
        os.close(requests)
        os.close(answers)
        self.owner, self._to, self._from = os.getpid(), request_end, answer_end
        self.process = psutil.Process(pid)
        self._finalizer = weakref.finalize(self, _end, self.owner, pid, request_end, answer_end)
        _LIVE.add(self)


def _end(owner: int, pid: int, *fds: int) -> None:
    """Kill and reap helper ``pid`` and close its pipes (a helper dropped unused ends the same way, and
    at exit); only in ``owner``, not in a process forked from it."""
    if os.getpid() != owner:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    for fd in fds:
        with contextlib.suppress(OSError):
            os.close(fd)


def _send(fd: int, payload: bytes) -> None:
    view = memoryview(len(payload).to_bytes(_HEADER, "little") + payload)
    while view:
        view = view[os.write(fd, view) :]


def _receive(fd: int, check: Callable[[], None] | None = None) -> bytes | None:
    """One framed message from ``fd``; None at end of file. ``check`` is called every POLL_S while none
    comes (it raises to give up)."""
    data = bytearray()
    wanted = _HEADER
    while len(data) < wanted:
        if check is not None and not _readable(fd):
            check()
            continue
        chunk = os.read(fd, max(wanted - len(data), 1 << 16))
        if not chunk:
            return None
        data += chunk
        if wanted == _HEADER and len(data) >= _HEADER:
            wanted += int.from_bytes(data[:_HEADER], "little")
    return bytes(data[_HEADER:wanted])


def _readable(fd: int) -> bool:
    """Whether ``fd`` has data (or its end) within POLL_S. poll, not select: select refuses a descriptor
    numbered 1024 or more, which a process holding many files (a service) hands out."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(POLL_S * 1000))


def _serve(requests: int, answers: int) -> None:
    """The helper's loop: a call, its answer, until the owner closes the pipe or is gone (a call under way
    then ends at its own limit: Tesseract's wall-clock one; an extraction worker's helper is killed with
    the worker's process group)."""
    try:
        while (request := _receive(requests)) is not None:
            try:
                work, args = pickle.loads(request)
                answer = pickle.dumps((True, work(*args)))
            except Exception as exc:  # raised in the owner
                try:
                    answer = pickle.dumps((False, exc))
                except Exception:  # an exception that does not pickle goes back as its words
                    answer = pickle.dumps((False, RuntimeError(f"{type(exc).__name__}: {exc}")))
            _send(answers, answer)
    finally:
        os._exit(0)
