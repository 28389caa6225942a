"""The in-process rate-limit counters (service/throttle.py): limits enforced, expired entries dropped, and no
thread started per request (``limits``' memory storage started one on nearly every hit, on the event loop)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi import HTTPException

from figvault.service import throttle
from figvault.service.throttle import RateLimits
from figvault.settings import ServiceSettings


class CountingTimer:
    """``threading.Timer`` that never runs and counts its starts (as if every earlier one had ended)."""

    started = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def start(self) -> None:
        CountingTimer.started += 1

    def is_alive(self) -> bool:
        return False


def test_no_thread_is_started_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(threading, "Timer", CountingTimer)
    settings = ServiceSettings(rate_limit_per_key="1000/second", rate_limit_per_address="1000/second")
    limits = RateLimits(settings)
    before = CountingTimer.started
    for _ in range(50):
        limits.spend_request("key-1", "127.0.0.1")
    assert CountingTimer.started - before == 0


def test_the_limit_still_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    limits = RateLimits(ServiceSettings(rate_limit_per_key="3/minute", rate_limit_per_address=""))
    for _ in range(3):
        limits.spend_request("key-1", "127.0.0.1")
    with pytest.raises(HTTPException) as refused:
        limits.spend_request("key-1", "127.0.0.1")
    assert refused.value.status_code == 429
    limits.spend_request("key-2", "127.0.0.1")  # another key has its own budget


def test_a_key_at_its_limit_does_not_spend_its_addresss_budget() -> None:
    """A key refused for its own budget spent the address's first: one key at its limit used up the budget
    every other key behind the same address (a NAT, a proxy) shares (an audit, 2026-12-07)."""
    limits = RateLimits(ServiceSettings(rate_limit_per_key="3/minute", rate_limit_per_address="5/minute"))
    refused = []
    for _ in range(10):
        try:
            limits.spend_request("key-1", "10.0.0.1")
        except HTTPException as exc:
            refused.append(exc.detail.split(";")[0])
    assert refused == ["too many requests for this key"] * 7
    for _ in range(2):  # the address's 5, less key-1's 3 answered requests
        limits.spend_request("key-2", "10.0.0.1")
    with pytest.raises(HTTPException) as spent:
        limits.spend_request("key-3", "10.0.0.1")
    assert spent.value.detail.startswith("too many requests for this address;")


def test_expired_entries_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    storage = throttle.counter_storage("memory://")
    assert isinstance(storage, throttle.InlineExpiryMemoryStorage)
    for _ in range(5):
        assert storage.acquire_entry("k", limit=10, expiry=1)
    assert len(storage.events["k"]) == 5
    clock = throttle.time.time() + 60  # a minute later: every entry has expired
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock)
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock)
    assert storage.acquire_entry("k", limit=10, expiry=1)
    assert len(storage.events["k"]) == 1


def test_keys_whose_entries_all_expired_are_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    """A caller or address whose every entry expired leaves no key behind (``limits`` kept an empty list for
    every key it ever saw: a long-running service grew with each caller and address)."""
    storage = throttle.counter_storage("memory://")
    assert isinstance(storage, throttle.InlineExpiryMemoryStorage)
    for caller in range(100):
        assert storage.acquire_entry(f"caller-{caller}", limit=10, expiry=1)
    clock = throttle.time.time() + 60  # a minute later: every entry has expired
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock)
    monkeypatch.setattr(throttle.time, "monotonic", lambda: clock)
    assert storage.acquire_entry("caller-new", limit=10, expiry=1)
    assert set(storage.events) == {"caller-new"} and set(storage.locks) <= {"caller-new"}


def test_a_hit_racing_the_drop_of_emptied_keys_is_counted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hit of another thread that waited on a key's lock while ``limits`` expired the key must not have
    its list dropped under it (a review's forced interleaving: a KeyError, or its entry lost and the limit
    passed)."""
    storage = throttle.counter_storage("memory://")
    assert isinstance(storage, throttle.InlineExpiryMemoryStorage)
    monkeypatch.setattr(storage, "_MemoryStorage__schedule_expiry", lambda: None)  # expiry by hand below
    clock = [throttle.time.time()]
    monkeypatch.setattr("limits.storage.memory.time.time", lambda: clock[0])
    assert storage.acquire_entry("k", limit=1, expiry=1)
    clock[0] += 60  # its entry has expired
    inside, go = threading.Event(), threading.Event()

    class Events(dict):  # pauses the hit between fetching the key's list and writing its entry
        def setdefault(self, key: str, default: Any = None) -> Any:
            found = super().setdefault(key, default)
            if threading.current_thread().name == "hit":
                inside.set()
                go.wait(5)
            return found

    storage.events = Events(storage.events)
    held = storage.locks["k"]
    held.acquire()  # limits' expiry holds the key's lock while the hit waits on it
    out: dict[str, Any] = {}

    def hit() -> None:
        try:
            out["hit"] = storage.acquire_entry("k", limit=1, expiry=1)
        except Exception as exc:  # the failure under test
            out["hit"] = exc

    hitter = threading.Thread(target=hit, name="hit")
    hitter.start()
    time.sleep(0.2)  # the hit now waits on the key's lock
    storage._MemoryStorage__expire_events()  # empties k and drops its lock
    held.release()
    assert inside.wait(5)
    dropper = threading.Thread(target=storage._drop_emptied)
    dropper.start()
    time.sleep(0.2)  # the drop runs now, or waits for the hit
    go.set()
    hitter.join(10)
    dropper.join(10)
    assert out["hit"] is True and len(storage.events.get("k", [])) == 1
    assert not storage.acquire_entry("k", limit=1, expiry=1)  # the limit holds
