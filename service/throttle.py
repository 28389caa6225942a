"""Rate limits per credential and per client address (the ``limits`` library), and the 429 answer.

Two budgets, each per API key id (a JWT: its namespaced subject within its tenant) and per client address:

- **requests** (``service.rate_limit_per_key``, ``service.rate_limit_per_address``): every authenticated
  request spends one;
- **failed authentications** (``service.auth_failures_per_key``, ``service.auth_failures_per_address``):
  every refused credential spends one. While the address's budget is spent, a credential that needs real
  work to check (a key's first scrypt check in this process, a JWT) is refused with 429 before any of that
  work. While a key id's budget is spent, only the addresses that failed against that key id within its
  window are refused: the guessers, not the key's owner, who checks its right secret from an address of its
  own (after a restart, on another replica: wherever the key is not yet verified). A guesser past the key's
  budget gets no more tries from that address, so guessing does not get faster: each further try needs an
  address that has not failed against the key yet. A key already verified in this process always passes.

Limits are strings such as ``"100/second"`` or ``"10/second;300/minute"``; an empty string turns one off.
Counters live in ``service.rate_limit_storage`` (``memory://``: per process; a shared store such as
``redis://host:6379`` gives several replicas one budget, with that backend's client installed).

Every 429 of the service (these limits, and a full search queue) has one shape: ``{"detail": "..."}``
and a ``Retry-After`` header in whole seconds (``too_many_requests``).
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any

from fastapi import HTTPException, status
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from figvault.errors import FigvaultError
from figvault.settings import ServiceSettings
from figvault.storage import url_without_password


def too_many_requests(detail: str, retry_after_s: float) -> HTTPException:
    """The service's one 429: a short reason and when to try again (whole seconds, at least 1)."""
    seconds = max(1, math.ceil(retry_after_s))
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"{detail}; try again in {seconds} s",
        headers={"Retry-After": str(seconds)},
    )


EXPIRE_EVERY_S = 1.0
"""How often the in-process counters drop their expired entries."""


class InlineExpiryMemoryStorage(MemoryStorage):
    """``limits``' in-process storage, except that expired entries are dropped by a hitting thread at most
    every ``EXPIRE_EVERY_S``. ``limits`` starts a timer thread whenever its last one has ended (10 ms after
    it began), so nearly every request started a thread, on the event loop; with search threads holding
    the interpreter, ``Thread.start`` waits for the new thread to run: tens of ms for every request in the
    service (docs/service.md, "Under load"). The counting itself is ``limits``' own."""

    def __init__(self, uri: str | None = None, **options: Any) -> None:
        super().__init__(uri, **options)
        self._next_expiry = 0.0
        self._expiring = threading.Lock()
        self._one_at_a_time = threading.RLock()
        """Hits and the drop of emptied keys, one at a time: a hit of another thread that waited on a key's
        lock while ``limits`` expired it could have its list dropped under it (a KeyError, or an entry
        lost and the limit passed: a review). The service hits from its event loop, so it never waits."""

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        with self._one_at_a_time:
            return super().acquire_entry(key, limit, expiry, amount)

    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now < self._next_expiry or not self._expiring.acquire(blocking=False):
            return
        try:
            self._next_expiry = now + EXPIRE_EVERY_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]
            self._drop_emptied()
        finally:
            self._expiring.release()

    def _drop_emptied(self) -> None:
        """Drop the keys whose entries have all expired: ``limits`` empties their lists but keeps the keys,
        so a service kept one for every caller and address it ever saw (about 6 MB per 20,000, for good)."""
        with self._one_at_a_time:
            for key in [k for k, entries in list(self.events.items()) if not entries]:
                self.events.pop(key, None)
                self.locks.pop(key, None)


INLINE_EXPIRY = all(
    hasattr(MemoryStorage, f"_MemoryStorage__{name}") for name in ("schedule_expiry", "expire_events")
)
"""The hooks the storage above overrides exist in this ``limits`` (else its own storage is used)."""


def counter_storage(uri: str) -> Storage:
    """The storage of ``uri``; ``memory://`` without a thread per request where this ``limits`` allows."""
    if uri.strip() == "memory://" and INLINE_EXPIRY:
        return InlineExpiryMemoryStorage(uri)
    try:
        return storage_from_string(uri)
    except ConfigurationError as exc:  # an unknown scheme, or its client library not installed (redis)
        shown = url_without_password(uri)
        reason = str(exc).replace(uri, shown)  # limits repeats the URI, password included
        raise FigvaultError(f"service.rate_limit_storage {shown!r}: {reason}") from None


def _items(spec: str) -> list[RateLimitItem]:
    return parse_many(spec) if spec.strip() else []


class RateLimits:
    """The four budgets of one service process (or of every replica sharing ``rate_limit_storage``)."""

    def __init__(self, settings: ServiceSettings) -> None:
        self._limiter = MovingWindowRateLimiter(counter_storage(settings.rate_limit_storage))
        self._budgets: dict[str, list[RateLimitItem]] = {
            "key": _items(settings.rate_limit_per_key),
            "address": _items(settings.rate_limit_per_address),
            "key-failures": _items(settings.auth_failures_per_key),
            "address-failures": _items(settings.auth_failures_per_address),
            "key-failures-from": _items(settings.auth_failures_per_key),
        }
        """``key-failures-from``: failures per (address, key id), counted over the key budget's windows."""

    def _wait_s(self, budget: str, who: str) -> float | None:
        """Seconds until ``who`` may spend from ``budget`` again; None when it may now."""
        waits = []
        for item in self._budgets[budget]:
            if not self._limiter.test(item, budget, who):
                waits.append(self._limiter.get_window_stats(item, budget, who).reset_time - time.time())
        return max(waits) if waits else None

    def _spend(self, budget: str, who: str) -> float | None:
        for item in self._budgets[budget]:
            if not self._limiter.hit(item, budget, who):
                return self._limiter.get_window_stats(item, budget, who).reset_time - time.time()
        return None

    def spend_request(self, key: str, address: str) -> None:
        """One authenticated request of ``key`` from ``address``; 429 when either budget is spent. A request
        the key's own budget refuses spends nothing of the address's: one key at its limit used up the
        budget every other key behind the same address (a NAT, a proxy) shares (an audit, 2026-12-07)."""
        for budget, who in (("key", key), ("address", address)):
            wait = self._wait_s(budget, who)
            if wait is not None:
                raise too_many_requests(f"too many requests for this {budget}", wait)
        for budget, who in (("address", address), ("key", key)):
            wait = self._spend(budget, who)
            if wait is not None:
                raise too_many_requests(f"too many requests for this {budget}", wait)

    def _failed_within_s(self, budget: str, who: str) -> float | None:
        """Seconds until ``who``'s failures in ``budget`` leave all its windows; None when it has none."""
        waits = []
        for item in self._budgets[budget]:
            stats = self._limiter.get_window_stats(item, budget, who)
            if stats.remaining < item.amount:
                waits.append(stats.reset_time - time.time())
        return max(waits) if waits else None

    def check_failures(self, key_id: str | None, address: str) -> None:
        """429 when this address has used up its failed-authentication budget, or when this key id has and
        this address is one that failed against it (a caller with the key's secret is never one)."""
        wait = self._wait_s("address-failures", address)
        if wait is None and key_id and self._wait_s("key-failures", key_id) is not None:
            wait = self._failed_within_s("key-failures-from", f"{address}\x00{key_id}")
        if wait is not None:
            raise too_many_requests("too many failed authentication attempts", wait)

    def spend_failure(self, key_id: str | None, address: str) -> None:
        self._spend("address-failures", address)
        if key_id:
            self._spend("key-failures", key_id)
            self._spend("key-failures-from", f"{address}\x00{key_id}")
