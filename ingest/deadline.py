"""How long a document's optional steps may run: OCR's reads and the LibreOffice conversion of a deck.

Each of them has its own limit (``extract.ocr_timeout_s`` a read, ``extract.libreoffice_timeout_s`` a
conversion), but an extraction worker is killed once it has used ``extract.doc_timeout_s`` CPU seconds (or
its wall-time backstop, ``pipeline/extract_worker.py``) and the document is then lost whole. So the worker
sets a deadline at OPTIONAL_SHARE of both (``steps_until``); past either the optional steps are skipped or
cut short (a figure without its OCR words, a deck sketched instead of rendered) and the rest is kept for the
document's figures. The share counts the worker's CPU seconds and its children's (OCR reads run in a helper
child, ``ingest/cpu_limited.py``; LibreOffice is one too, counted once it ended, and a conversion is
stopped at the CPU seconds left, its own process tree's: ``slide_render._limit``), which a busy machine does
not inflate: on 2 cores at load 20 a document's wall time is many times its CPU time, and a wall-time share
cut OCR words that the document had the time for. In-process extraction (benchmarks, tests) has no
deadline.

WALL_FACTOR is the one ratio of every wall-time backstop to the CPU limit it backs: the worker's
(``extract.doc_timeout_s``) and an OCR read's (``extract.ocr_timeout_s``).
"""

from __future__ import annotations

import contextlib
import resource
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from figvault.ingest import cpu_limited

WALL_FACTOR = 10
"""A limit on CPU time is backed by one on wall time this many times longer: work that sleeps, waits or is
stopped uses no CPU and would otherwise never end. 10: at load 12 on 2 cores a worker at nice 19 (a niced
test run's) got 0.4 CPU-s in 5 s, 8 % of a core; 10 times leaves it most of its budget, where a wall-time
limit left it a tenth."""
OPTIONAL_SHARE = 0.6
"""The share of ``extract.doc_timeout_s`` after which OCR and LibreOffice are not started, or stopped."""
TIME_SPENT = (
    f"the document had used {OPTIONAL_SHARE:.0%} of its time (extract.doc_timeout_s), the rest is kept"
    " for its figures"
)


def cpu_now() -> float:
    """CPU seconds of this process (all its threads), of its children that ended and were reaped, and of
    its OCR helper (``cpu_limited.children_cpu``)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime + cpu_limited.children_cpu()


@dataclass(frozen=True)
class Deadline:
    """When a document's optional steps end: at ``cpu`` (``cpu_now()`` of the worker) or at ``wall``
    (``time.monotonic()``), whichever comes first."""

    cpu: float
    wall: float

    @classmethod
    def after(cls, cpu_s: float, wall_s: float) -> Deadline:
        """The deadline ``cpu_s`` CPU seconds of this process and ``wall_s`` seconds from now."""
        return cls(cpu_now() + cpu_s, time.monotonic() + wall_s)

    def passed(self) -> bool:
        return self.cpu_left() <= 0 or self.wall_left() <= 0

    def cpu_left(self) -> float:
        """CPU seconds left (at most 0 once past)."""
        return self.cpu - cpu_now()

    def wall_left(self) -> float:
        """Wall seconds left (at most 0 once past)."""
        return self.wall - time.monotonic()

    def seconds_left(self) -> float:
        """Wall seconds a step started now may run (at most 0 once past): the CPU seconds left, as a step
        on one core uses at most a CPU second a second (so it cannot run the worker past its budget), and
        no more than the wall time left. (LibreOffice is held to ``cpu_left`` and ``wall_left`` apart:
        ``slide_render._limit``.)"""
        return min(self.cpu_left(), self.wall_left())


_DEADLINE: ContextVar[Deadline | None] = ContextVar("figvault_optional_deadline", default=None)


@contextlib.contextmanager
def steps_until(deadline: Deadline | None) -> Iterator[None]:
    """Documents extracted inside this block run their optional steps until ``deadline`` at most."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current() -> Deadline | None:
    """The deadline set by ``steps_until`` (None: none)."""
    return _DEADLINE.get()
