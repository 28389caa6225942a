"""Back-pressure for searches: a bounded number run at once, a bounded number wait, the rest are told when to
come back (429 + ``Retry-After``) instead of queueing without end.

Searches run in worker threads of their own (``SearchGate.threads``), so a burst of searches never takes
the threads that other routes (units, images, documents) run in, and the event loop, which answers
``/healthz`` and authenticates, never waits for a search. A search that waited ``queue_timeout_s`` for a
turn gets 503 + ``Retry-After``: by then its caller has likely given up.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from figvault.settings import ServiceSettings

T = TypeVar("T")


class Overloaded(Exception):
    """No search slot: ``status`` 429 (queue full) or 503 (waited too long), retry after ``retry_after`` s."""

    def __init__(self, status: int, reason: str, retry_after: int) -> None:
        super().__init__(reason)
        self.status = status
        self.retry_after = retry_after


def search_concurrency(configured: int) -> int:
    """Searches that run at once: ``configured``, or with 0 two per core (4 to 32).

    More than one per core because a search spends part of its time waiting: for its question's batched
    forward pass (encoders/questions.py) and for the store. Not four per core: on a quiet 2-core machine,
    eight searches at once fought for the interpreter and the cores and answered 8 clients with a higher
    p95 than four did, at the same throughput (docs/service.md, "Under load", 2026-12-03 15:03-15:08)."""
    if configured > 0:
        return configured
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(4, min(32, 2 * cores))


class SearchGate:
    """At most ``concurrency`` searches run and ``queue`` wait; used from the event loop only."""

    def __init__(self, concurrency: int, queue: int, queue_timeout_s: float) -> None:
        self.concurrency = max(1, concurrency)
        self.queue = max(0, queue)
        self.queue_timeout_s = queue_timeout_s
        self._slots = anyio.Semaphore(self.concurrency)
        self.threads = anyio.CapacityLimiter(self.concurrency)
        self.waiting = 0
        self.running = 0
        self._mean_s = 0.1
        """Moving average of a search's duration, for ``Retry-After``."""

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SearchGate:
        return cls(
            search_concurrency(settings.search_concurrency),
            settings.search_queue,
            settings.search_queue_timeout_s,
        )

    def retry_after(self) -> int:
        """Seconds until the searches ahead of a new one have likely finished (at least 1)."""
        ahead = self.waiting + self.running
        return max(1, math.ceil(ahead / self.concurrency * self._mean_s))

    async def run(self, fn: Callable[[], T]) -> T:
        """``fn()`` in a search worker thread, once a slot is free; Overloaded when none comes."""
        if self.running >= self.concurrency and self.waiting >= self.queue:
            raise Overloaded(429, "too many searches at once: try again shortly", self.retry_after())
        self.waiting += 1
        try:
            with anyio.fail_after(self.queue_timeout_s):
                await self._slots.acquire()
        except TimeoutError:
            raise Overloaded(
                503, "the search queue is too long: try again shortly", self.retry_after()
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        started = time.perf_counter()
        try:
            return await anyio.to_thread.run_sync(fn, limiter=self.threads)
        finally:
            self.running -= 1
            self._slots.release()
            self._mean_s = 0.9 * self._mean_s + 0.1 * (time.perf_counter() - started)
