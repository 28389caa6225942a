"""Back-pressure for searches: a bounded number run at once, a bounded number wait, and each caller and each
tenant holds at most its share of them; the rest are told when to come back (429 + ``Retry-After``).

Fairness: a caller (an account within its tenant, ``Principal.caller_key``) may hold, running or waiting, at
most ``search_share_per_caller`` of the gate's places (``concurrency + queue``), a tenant at most
``search_share_per_tenant``; past its share a caller gets its own 429, whose ``Retry-After`` counts only its
own (or its tenant's) searches. A tenant always gets a place: when the gate is full, a tenant holding fewer
than its fair share (the places divided by the tenants holding any, itself included; at least one) takes
the place of the newest waiting search of the tenant holding the most, which is answered 429 as past its
tenant's share; a tenant at or past its fair share is told the same. So does a caller within its tenant: past
its tenant's places, a caller holding fewer than its fair part of them (divided by the tenant's callers
holding any) takes the place of the newest waiting search of its tenant's caller holding the most. Only
waiting searches give up their place, never a running one. A free slot goes to the waiting tenant
whose last turn is the oldest, and within it to the caller whose last turn is the oldest (one that has had
none first), so neither one caller's queued burst nor a tenant's many callers stand between another tenant
and the next free slot. The gate used to be one FIFO for all: one reader could fill it, and every other
caller got 429s that told it of that reader's load; then (2026-12-05) four callers, or two tenants, at
their shares could still fill it, and every other tenant got the gate-full 429 until they let go.

Searches run in worker threads of their own (``SearchGate.threads``), so a burst of searches never takes
the threads that other routes (units, images, documents) run in, and the event loop, which answers
``/healthz`` and authenticates, never waits for a search. A search that waited ``queue_timeout_s`` for a
turn gets 503 + ``Retry-After``: by then its caller has likely given up.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import anyio.to_thread

from figvault.cores import usable_cores
from figvault.pipeline.page_images import RENDER_SLOTS
from figvault.settings import ServiceSettings

T = TypeVar("T")


class Overloaded(Exception):
    """No search slot: ``status`` 429 (a share or the queue full) or 503 (waited too long), retry after
    ``retry_after`` s. The message has the shape of the other 429s (``throttle.too_many_requests``)."""

    def __init__(self, status: int, reason: str, retry_after: int, whose: str = "all") -> None:
        super().__init__(f"{reason}; try again in {retry_after} s")
        self.status = status
        self.retry_after = retry_after
        self.whose = whose
        """Whose holdings refused it: ``caller`` (its own share), ``tenant`` (its tenant's), or ``all`` (the
        gate full, or the wait too long): a gate whose callers see other words (the page images) maps it."""


def search_concurrency(configured: int) -> int:
    """Searches that run at once: ``configured``, or with 0 two per core (4 to 32).

    More than one per core because a search spends part of its time waiting: for its question's batched
    forward pass (encoders/questions.py) and for the store. Not four per core: on a quiet 2-core machine,
    eight searches at once fought for the interpreter and the cores and answered 8 clients with a higher
    p95 than four did, at the same throughput (docs/service.md, "Under load", 2026-12-03 15:03-15:08)."""
    if configured > 0:
        return configured
    cores = usable_cores()
    return max(4, min(32, 2 * cores))


def share_of(places: int, share: float) -> int:
    """How many of ``places`` a ``share`` (0 to 1) allows: at least one."""
    return max(1, math.floor(places * share))


TENANT_SHARE = "too many searches of your tenant at once"


@dataclass(eq=False)
class _Turn:
    """One search at the gate: whose it is, and, while it waits, the event that ends its wait."""

    caller: str
    tenant: str
    ready: anyio.Event = field(default_factory=anyio.Event)
    displaced: bool = False
    """Its place went to a tenant under its fair share (``SearchGate._displace``): answered 429."""


class SearchGate:
    """At most ``concurrency`` searches run and ``queue`` wait, at most ``per_caller`` / ``per_tenant`` of
    them one caller's / one tenant's, and every tenant can get its fair share; used from the event loop
    only."""

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
        self.places = self.concurrency + self.queue
        self.per_caller = self.places if per_caller is None else max(1, per_caller)
        self.per_tenant = self.places if per_tenant is None else max(1, per_tenant)
        self.threads = anyio.CapacityLimiter(self.concurrency)
        self.waiting = 0
        self.running = 0
        self._held: Counter[str] = Counter()
        """Searches running or waiting, per caller key and per ``tenant:`` key."""
        self._callers_of: dict[str, set[str]] = {}
        """The callers holding searches, per ``tenant:`` key."""
        self._turns: dict[str, deque[_Turn]] = {}
        """Waiting searches per caller (each caller's in arrival order)."""
        self._last_turn: dict[str, int] = {}
        """When each caller and tenant holding searches last got a slot (``_turn_count`` then); none: 0."""
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

    def fair_share(self, tenant: str) -> int:
        """The places ``tenant`` (a ``tenant:`` key) is sure to get: the places divided by the tenants holding
        any, itself included (at least one)."""
        tenants = {k for k in self._held if k.startswith("tenant:")} | {tenant}
        return max(1, self.places // len(tenants))

    def _admit(self, turn: _Turn) -> None:
        """Overloaded (429) past the caller's share. Past its tenant's places (its share; on a full gate, at
        most its fair share of the gate), a caller under its fair part of them takes the place of the newest
        waiting search of its tenant's caller holding the most, else 429; on a full gate, a tenant under its
        fair share takes one of the tenant holding the most (else 429). Each 429 names only its own."""
        mine, tenants = self._held[turn.caller], self._held[turn.tenant]
        if mine >= self.per_caller:
            raise Overloaded(429, "too many of your searches at once", self.retry_after(mine), "caller")
        full = self.running >= self.concurrency and self.waiting >= self.queue
        places = min(self.per_tenant, self.fair_share(turn.tenant)) if full else self.per_tenant
        if tenants >= places:
            callers = len(self._callers_of.get(turn.tenant, set()) | {turn.caller})
            fair = max(1, places // callers)
            own = self._newest_past(fair, lambda t: t.caller, lambda t: t.tenant == turn.tenant)
            if mine >= fair or own is None:
                raise Overloaded(429, TENANT_SHARE, self.retry_after(tenants), "tenant")
            self._displace(own)  # a place of its own tenant's: the tenant holds no more than before
            return
        if not full:
            return
        victim = self._newest_past(self.fair_share(turn.tenant), lambda t: t.tenant, lambda _t: True)
        if victim is None:  # every place is running (no queue): the wait counts every place, whoever's
            raise Overloaded(429, "too many searches at once", self.retry_after(self.places))
        self._displace(victim)

    def _newest_past(
        self, fair: int, holder: Callable[[_Turn], str], among: Callable[[_Turn], bool]
    ) -> _Turn | None:
        """The newest waiting search, of those ``among`` selects, of the ``holder`` (a search's tenant or
        caller key) holding the most places past ``fair`` (of a tenant's callers, the one holding the most);
        None when no such holder has one waiting."""
        waiting = [turns[-1] for turns in self._turns.values() if among(turns[-1])]
        over = [t for t in waiting if self._held[holder(t)] > fair]
        if not over:
            return None
        return max(over, key=lambda t: (self._held[holder(t)], self._held[t.caller]))

    def _displace(self, turn: _Turn) -> None:
        """``turn`` leaves the queue without a slot: its place is free now, and its search answers 429."""
        self._leave(turn)
        self._release(turn)
        turn.displaced = True
        turn.ready.set()

    def _hold(self, turn: _Turn) -> None:
        self._held[turn.caller] += 1
        self._held[turn.tenant] += 1
        self._callers_of.setdefault(turn.tenant, set()).add(turn.caller)

    def _release(self, turn: _Turn) -> None:
        for key in (turn.caller, turn.tenant):
            self._held[key] -= 1
            if self._held[key] <= 0:
                del self._held[key]
                self._last_turn.pop(key, None)
        if turn.caller not in self._held:
            callers = self._callers_of[turn.tenant]
            callers.discard(turn.caller)
            if not callers:
                del self._callers_of[turn.tenant]

    async def run(self, fn: Callable[[], T], caller: str = "", tenant: str = "") -> T:
        """``fn()`` in a search worker thread once ``caller`` (of ``tenant``) has a turn; else Overloaded."""
        turn = _Turn(f"caller:{caller}", f"tenant:{tenant}")
        self._admit(turn)
        self._hold(turn)
        try:
            await self._take_slot(turn)
            started = time.perf_counter()
            try:
                return await anyio.to_thread.run_sync(fn, limiter=self.threads)
            finally:
                self._mean_s = 0.9 * self._mean_s + 0.1 * (time.perf_counter() - started)
                self._hand_on()
        finally:
            if not turn.displaced:  # a displaced search's places were given back when it was displaced
                self._release(turn)

    async def _take_slot(self, turn: _Turn) -> None:
        """Return holding a slot: at once when one is free and nobody waits, else at this caller's turn."""
        if self.running < self.concurrency and not self._turns:
            self.running += 1
            self._took_turn(turn)
            return
        self._turns.setdefault(turn.caller, deque()).append(turn)
        self.waiting += 1
        try:
            with anyio.fail_after(self.queue_timeout_s):
                await turn.ready.wait()
        except BaseException as exc:
            if turn.displaced:
                raise
            if turn.ready.is_set():  # handed a slot as the wait ended: hand it on, or use it
                if not isinstance(exc, TimeoutError):
                    self._hand_on()
                    raise
                return
            self._leave(turn)
            if isinstance(exc, TimeoutError):
                raise Overloaded(
                    503, "the search queue is too long", self.retry_after(self._held[turn.caller])
                ) from None
            raise
        if turn.displaced:
            raise Overloaded(429, TENANT_SHARE, self.retry_after(self._held[turn.tenant]), "tenant")

    def _leave(self, turn: _Turn) -> None:
        """``turn`` waits no more (without a slot)."""
        turns = self._turns.get(turn.caller)
        if turns is not None and turn in turns:
            turns.remove(turn)
            self.waiting -= 1
            if not turns:
                del self._turns[turn.caller]

    def _took_turn(self, turn: _Turn) -> None:
        self._turn_count += 1
        self._last_turn[turn.caller] = self._last_turn[turn.tenant] = self._turn_count

    def _hand_on(self) -> None:
        """Give a finished search's slot to the waiting tenant whose last turn is the oldest (its caller whose
        last turn is), or free it. A minimum over the waiting callers: at most ``places`` of them."""
        if not self._turns:
            self.running -= 1
            return

        def last_turns(caller: str) -> tuple[int, int]:
            tenant = self._turns[caller][0].tenant
            return self._last_turn.get(tenant, 0), self._last_turn.get(caller, 0)

        caller = min(self._turns, key=last_turns)
        turns = self._turns[caller]
        turn = turns.popleft()
        self.waiting -= 1
        if not turns:
            del self._turns[caller]
        self._took_turn(turn)
        turn.ready.set()  # the slot passes on: ``running`` stays


RENDER_QUEUE = 6
"""First page renders that wait for one of the ``RENDER_SLOTS`` (past them: 503, retry)."""
RENDER_WAIT_S = 10.0
"""How long a first page render waits for a slot before 503: a few renders, within a reader's patience."""


def render_gate() -> SearchGate:
    """The gate in front of a process's ``RENDER_SLOTS`` first page renders: the searches' fair gate, with one
    place per caller (a reader cannot hold both slots, nor wait for one while it holds the other). A view
    past the slots waits its turn, served round-robin by tenant then caller, instead of being refused while
    another tenant's renders run (2026-12-05: a third tenant got 503 while two callers held both slots)."""
    return SearchGate(RENDER_SLOTS, RENDER_QUEUE, RENDER_WAIT_S, per_caller=1)
