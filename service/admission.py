"""Back-pressure for searches: a bounded number run at once, a bounded number wait, and each caller and each
tenant holds at most its share of them; the rest are told when to come back (429 + ``Retry-After``).

Fairness: a caller (an account within its tenant, ``Principal.caller_key``) may hold, running or waiting, at
most ``search_share_per_caller`` of the gate's places (``concurrency + queue``), a tenant at most
``search_share_per_tenant``; past its share a caller gets its own 429, whose ``Retry-After`` counts only its
own (or its tenant's) searches. A free slot goes to the waiting caller whose last turn is the oldest (one
that has had none first), so one caller's queued burst does not stand between another caller and the next
free slot. The gate used to be one FIFO for all:
one reader could fill it, and every other caller got 429s that told it of that reader's load.

Searches run in worker threads of their own (``SearchGate.threads``), so a burst of searches never takes
the threads that other routes (units, images, documents) run in, and the event loop, which answers
``/healthz`` and authenticates, never waits for a search. A search that waited ``queue_timeout_s`` for a
turn gets 503 + ``Retry-After``: by then its caller has likely given up.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter, deque
from collections.abc import Callable
from typing import TypeVar

import anyio
import anyio.to_thread

from figvault.settings import ServiceSettings

T = TypeVar("T")


class Overloaded(Exception):
    """No search slot: ``status`` 429 (a share or the queue full) or 503 (waited too long), retry after
    ``retry_after`` s. The message has the shape of the other 429s (``throttle.too_many_requests``)."""

    def __init__(self, status: int, reason: str, retry_after: int) -> None:
        super().__init__(f"{reason}; try again in {retry_after} s")
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


def share_of(places: int, share: float) -> int:
    """How many of ``places`` a ``share`` (0 to 1) allows: at least one."""
    return max(1, math.floor(places * share))


class SearchGate:
    """At most ``concurrency`` searches run and ``queue`` wait, at most ``per_caller`` / ``per_tenant`` of
    them one caller's / one tenant's; used from the event loop only."""

    def __init__(
        self,
        concurrency: int,
        queue: int,
        queue_timeout_s: float,
        per_caller: int | None = None,
        per_tenant: int | None = None,
    ) -> None:
        self.concurrency = max(1, concurrency)
        self.queue = max(0, queue)
        self.queue_timeout_s = queue_timeout_s
        places = self.concurrency + self.queue
        self.per_caller = places if per_caller is None else max(1, per_caller)
        self.per_tenant = places if per_tenant is None else max(1, per_tenant)
        self.threads = anyio.CapacityLimiter(self.concurrency)
        self.waiting = 0
        self.running = 0
        self._held: Counter[str] = Counter()
        """Searches running or waiting, per caller key and per ``tenant:`` key."""
        self._turns: dict[str, deque[anyio.Event]] = {}
        """Waiting searches per caller (each caller's in arrival order)."""
        self._last_turn: dict[str, int] = {}
        """When each caller holding searches last got a slot (``_turn_count`` then); none yet: 0."""
        self._turn_count = 0
        self._mean_s = 0.1
        """Moving average of a search's duration, for ``Retry-After``."""

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> SearchGate:
        concurrency = search_concurrency(settings.search_concurrency)
        places = concurrency + settings.search_queue
        return cls(
            concurrency,
            settings.search_queue,
            settings.search_queue_timeout_s,
            share_of(places, settings.search_share_per_caller),
            share_of(places, settings.search_share_per_tenant),
        )

    def retry_after(self, ahead: int) -> int:
        """Seconds until ``ahead`` searches have likely finished (at least 1)."""
        return max(1, math.ceil(ahead / self.concurrency * self._mean_s))

    def _admit(self, caller: str, tenant: str) -> None:
        """Overloaded (429) past the caller's share, the tenant's, or a full gate; each names only its own."""
        mine, tenants = self._held[caller], self._held[tenant]
        if mine >= self.per_caller:
            raise Overloaded(429, "too many of your searches at once", self.retry_after(mine))
        if tenants >= self.per_tenant:
            raise Overloaded(429, "too many searches of your tenant at once", self.retry_after(tenants))
        if self.running >= self.concurrency and self.waiting >= self.queue:
            # Full: every place is taken, so the wait says nothing of how many others hold them.
            places = self.concurrency + self.queue
            raise Overloaded(429, "too many searches at once", self.retry_after(places))

    async def run(self, fn: Callable[[], T], caller: str = "", tenant: str = "") -> T:
        """``fn()`` in a search worker thread once ``caller`` (of ``tenant``) has a turn; else Overloaded."""
        tenant_key = f"tenant:{tenant}"
        caller_key = f"caller:{caller}"
        self._admit(caller_key, tenant_key)
        self._held[caller_key] += 1
        self._held[tenant_key] += 1
        try:
            await self._take_slot(caller_key)
            started = time.perf_counter()
            try:
                return await anyio.to_thread.run_sync(fn, limiter=self.threads)
            finally:
                self._mean_s = 0.9 * self._mean_s + 0.1 * (time.perf_counter() - started)
                self._hand_on()
        finally:
            for key in (caller_key, tenant_key):
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]
                    self._last_turn.pop(key, None)

    async def _take_slot(self, caller: str) -> None:
        """Return holding a slot: at once when one is free and nobody waits, else at this caller's turn."""
        if self.running < self.concurrency and not self._turns:
            self.running += 1
            self._took_turn(caller)
            return
        turn = anyio.Event()
        self._turns.setdefault(caller, deque()).append(turn)
        self.waiting += 1
        try:
            with anyio.fail_after(self.queue_timeout_s):
                await turn.wait()
        except BaseException as exc:
            if turn.is_set():  # handed a slot as the wait ended: hand it on, or use it
                if not isinstance(exc, TimeoutError):
                    self._hand_on()
                    raise
                return
            self._leave(caller, turn)
            if isinstance(exc, TimeoutError):
                raise Overloaded(
                    503, "the search queue is too long", self.retry_after(self._held[caller])
                ) from None
            raise
        finally:
            self.waiting -= 1

    def _leave(self, caller: str, turn: anyio.Event) -> None:
        turns = self._turns.get(caller)
        if turns is not None and turn in turns:
            turns.remove(turn)
            if not turns:
                del self._turns[caller]

    def _took_turn(self, caller: str) -> None:
        self._turn_count += 1
        self._last_turn[caller] = self._turn_count

    def _hand_on(self) -> None:
        """Give a finished search's slot to the waiting caller whose last turn is the oldest, or free it.
        A minimum over the waiting callers: at most ``concurrency + queue`` of them."""
        if not self._turns:
            self.running -= 1
            return
        caller = min(self._turns, key=lambda c: self._last_turn.get(c, 0))
        turns = self._turns[caller]
        turns.popleft().set()  # the slot passes on: ``running`` stays
        if not turns:
            del self._turns[caller]
        self._took_turn(caller)
