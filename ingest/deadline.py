"""How long a document's optional steps may run: OCR's reads and the LibreOffice conversion of a deck.

Each of them has its own limit (``extract.ocr_timeout_s`` a read, ``extract.libreoffice_timeout_s`` a
conversion), but an extraction worker is killed once it has used ``extract.doc_timeout_s`` CPU seconds (or
its wall-time backstop, ``pipeline/extract_worker.py``) and the document is then lost whole. So the worker
sets a deadline at OPTIONAL_SHARE of both (``steps_until``); past either the optional steps are skipped or
cut short (a figure without its OCR words, a deck sketched instead of rendered) and the rest is kept for the
document's figures. The share counts the worker's CPU seconds (Tesseract runs in it), which a busy machine
does not inflate: on 2 cores at load 20 a document's wall time is many times its CPU time, and a wall-time
share cut OCR words that the document had the time for. In-process extraction (benchmarks, tests) has no
deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

OPTIONAL_SHARE = 0.6
"""The share of ``extract.doc_timeout_s`` after which OCR and LibreOffice are not started, or stopped."""
TIME_SPENT = (
    f"the document had used {OPTIONAL_SHARE:.0%} of its time (extract.doc_timeout_s), the rest is kept"
    " for its figures"
)


@dataclass(frozen=True)
class Deadline:
    """When a document's optional steps end: at ``cpu`` (``time.process_time()`` of the worker) or at
    ``wall`` (``time.monotonic()``), whichever comes first."""

    cpu: float
    wall: float

    @classmethod
    def after(cls, cpu_s: float, wall_s: float) -> Deadline:
        """The deadline ``cpu_s`` CPU seconds of this process and ``wall_s`` seconds from now."""
        return cls(time.process_time() + cpu_s, time.monotonic() + wall_s)

    def passed(self) -> bool:
        return time.process_time() >= self.cpu or time.monotonic() >= self.wall

    def seconds_left(self) -> float:
        """Wall seconds a step started now may run (at most 0 once past): the CPU seconds left, as a step
        on one core uses at most a CPU second a second (so it cannot run the worker past its budget;
        LibreOffice, a child, is held to the same), and no more than the wall time left."""
        return min(self.cpu - time.process_time(), self.wall - time.monotonic())


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


def seconds_left(deadline: Deadline | None) -> float | None:
    """Wall seconds an optional step started now may run (at most 0 once past); None without a deadline."""
    return None if deadline is None else deadline.seconds_left()
