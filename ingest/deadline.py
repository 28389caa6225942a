"""How long a document's optional steps may run: OCR's reads and the LibreOffice conversion of a deck.

Each of them has its own limit (``extract.ocr_timeout_s`` a read, ``extract.libreoffice_timeout_s`` a
conversion), but an extraction worker is killed at ``extract.doc_timeout_s`` and the document is then lost
whole. So the worker sets a deadline at OPTIONAL_SHARE of its limit (``steps_until``); past it the optional
steps are skipped or cut short (a figure without its OCR words, a deck sketched instead of rendered) and the
rest of the time is kept for the document's figures. In-process extraction (benchmarks, tests) has no
deadline.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar

OPTIONAL_SHARE = 0.6
"""The share of ``extract.doc_timeout_s`` after which OCR and LibreOffice are not started, or stopped."""
TIME_SPENT = (
    f"the document had used {OPTIONAL_SHARE:.0%} of its time (extract.doc_timeout_s), the rest is kept"
    " for its figures"
)
_DEADLINE: ContextVar[float | None] = ContextVar("figvault_optional_deadline", default=None)


@contextlib.contextmanager
def steps_until(deadline: float | None) -> Iterator[None]:
    """Documents extracted inside this block run their optional steps until ``deadline``
    (``time.monotonic()``) at most."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def current() -> float | None:
    """The deadline set by ``steps_until`` (None: none)."""
    return _DEADLINE.get()


def seconds_left(deadline: float | None) -> float | None:
    """Seconds until ``deadline`` (at most 0 once it is past); None without one."""
    return None if deadline is None else deadline - time.monotonic()
