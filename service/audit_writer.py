"""Audit rows of searches appended by one writer thread, in batches, off the request path.

A search hands its row to ``AuditWriter.submit`` and answers; the writer thread takes every row waiting
(up to ``BATCH_ROWS``) and commits them in one transaction, so a burst of searches costs one commit, not
one each, and no search waits for the registry's write lock. No row is dropped:

- **queue full** (``service.audit_queue`` rows waiting): the search waits for room, up to ``FULL_WAIT_S``,
  then writes its row itself (back-pressure: a registry slower than the searches slows the searches);
- **a batch fails**: its rows go back to the front of the queue and are retried (``RETRY_S``), and until a
  batch succeeds again every search writes its own row synchronously, so while the registry cannot take
  rows callers get an error, not unaudited results (as with ``audit_queue`` 0);
- **shutdown** (``close``, from the app's lifespan, or at interpreter exit): every waiting row is committed
  before it returns; rows that still cannot be written are logged at ERROR level, each in full.

What it does not cover: a process killed without a shutdown (SIGKILL, power loss) loses the rows still
waiting, which is the rows of the last few milliseconds under load (the writer commits as soon as rows
arrive; there is no batching window).
"""

from __future__ import annotations

import atexit
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from figvault.db import Database
from figvault.pipeline.audit import write_rows

log = logging.getLogger("figvault.service.audit")

BATCH_ROWS = 500
"""Rows committed in one transaction at most."""
FULL_WAIT_S = 5.0
"""A search that finds the queue full waits this long for room, then writes its row itself."""
RETRY_S = 1.0
"""Pause between retries of a batch that failed."""
CLOSE_WAIT_S = 30.0
"""``close`` waits this long for the writer to commit what is waiting."""


class AuditWriter:
    """A bounded queue of audit rows and the thread that commits them; ``capacity`` 0: every row is
    written by its caller, in its own transaction (as before the writer existed)."""

    def __init__(self, connect: Callable[[], Database], capacity: int) -> None:
        self._connect = connect
        self.capacity = max(0, capacity)
        self._rows: deque[dict[str, Any]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closing = False
        self._failure: Exception | None = None
        self._queued = 0
        self._settled = 0  # of the queued rows, those committed (or, at close, logged as unwritable)
        self.batches = 0
        """Transactions the writer committed."""
        self.direct = 0
        """Rows their callers wrote themselves (queue full, writer failing, stopped or off)."""

    def start(self) -> AuditWriter:
        if self.capacity and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="figvault-audit", daemon=True)
            self._thread.start()
            atexit.register(self.close)
        return self

    def _accepting(self) -> bool:
        return self._thread is not None and not self._closing and self._failure is None

    def submit(self, values: dict[str, Any]) -> None:
        """Queue one row (``audit.row``); when it cannot be queued, write it now (errors raise)."""
        with self._cond:
            self._cond.wait_for(
                lambda: len(self._rows) < self.capacity or not self._accepting(), timeout=FULL_WAIT_S
            )
            if self._accepting() and len(self._rows) < self.capacity:
                self._rows.append(values)
                self._queued += 1
                self._cond.notify_all()
                return
            self.direct += 1
        write_rows(self._connect(), [values])

    def flush(self, timeout: float = CLOSE_WAIT_S) -> bool:
        """Wait until every row queued before this call is committed (rows queued meanwhile are not waited
        for: under steady load the queue is never empty); False when not within ``timeout``."""
        with self._cond:
            target = self._queued
            return self._cond.wait_for(lambda: self._settled >= target, timeout=timeout)

    @property
    def failing(self) -> bool:
        """The last batch failed (callers write their own rows until one succeeds)."""
        with self._cond:
            return self._failure is not None

    def pending(self) -> int:
        """Rows queued and not settled yet: waiting, or in the batch being committed."""
        with self._cond:
            return self._queued - self._settled

    def _next_batch(self) -> list[dict[str, Any]]:
        """The rows to commit next; empty once closing with nothing left."""
        with self._cond:
            self._cond.wait_for(lambda: self._rows or self._closing)
            return [self._rows.popleft() for _ in range(min(BATCH_ROWS, len(self._rows)))]

    def _run(self) -> None:
        while batch := self._next_batch():
            try:
                write_rows(self._connect(), batch)
            except Exception as exc:
                log.exception("audit: %d rows not written yet, retrying in %.0f s", len(batch), RETRY_S)
                if self._put_back(batch, exc):
                    self._last_attempt(self._take_all())  # closing: no more retries
                    return
                continue
            with self._cond:
                self._failure = None
                self.batches += 1
                self._settle(len(batch))

    def _put_back(self, batch: list[dict[str, Any]], exc: Exception) -> bool:
        """Return a failed batch to the front of the queue and wait ``RETRY_S``; True when closing."""
        with self._cond:
            self._rows.extendleft(reversed(batch))
            self._failure = exc
            self._cond.notify_all()
            return self._cond.wait_for(lambda: self._closing, timeout=RETRY_S)

    def close(self) -> None:
        """Commit every waiting row and stop the writer; later rows are written by their callers.

        The writer commits (or, failing, logs) what is waiting and stops; when it has not within
        ``CLOSE_WAIT_S`` (a write that hangs), the rows still waiting are written here, and the batch it holds
        stays its own to commit or log."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        thread = self._thread
        if thread is not None:
            thread.join(CLOSE_WAIT_S)
            atexit.unregister(self.close)
        self._last_attempt(self._take_all())

    def _take_all(self) -> list[dict[str, Any]]:
        with self._cond:
            left = list(self._rows)
            self._rows.clear()
            return left

    def _last_attempt(self, left: list[dict[str, Any]]) -> None:
        """Write ``left`` now, or log each row in full at ERROR level."""
        if not left:
            return
        try:
            write_rows(self._connect(), left)
        except Exception:
            log.exception("audit: %d rows could NOT be written; here they are in full", len(left))
            for values in left:
                log.error("audit row not written: %s", json.dumps(values))
        self._settle(len(left))

    def _settle(self, rows: int) -> None:
        with self._cond:  # a reentrant lock: callers may hold it
            self._settled += rows
            self._cond.notify_all()
