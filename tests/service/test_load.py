"""Serving under load: back-pressure (429/503 + Retry-After), a slow search never blocks the event loop, and
/readyz is not ready until the engine's encoders are loaded and warm. No timing assertions: a search is held
open by an event, not by a clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from figvault.service.warmup import WARM_UP_USER
from figvault.settings import Settings
from tests.helpers.server import wait_app_ready
from tests.service.conftest import World

QUESTION = {"query": "figure in report", "top_k": 3}


class HeldEngine:
    """The world's real engine, except that ``search`` waits for ``release`` (a search that takes long)."""

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self.release = threading.Event()
        self.entered = threading.Semaphore(0)
        self.callers: list[str] = []
        """Who each held search was for, in the order they got a slot."""

    def search(self, principal: Any, request: Any) -> Any:
        if principal.user == WARM_UP_USER:  # the warm-up's own searches (service/warmup.py) are not held
            return self._engine.search(principal, request)
        self.callers.append(principal.user)
        self.entered.release()
        assert self.release.wait(60), "the test never released the search"
        return self._engine.search(principal, request)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


def _settings(world: World, **service: Any) -> Settings:
    settings = world.settings.model_copy(deep=True)
    for key, value in service.items():
        setattr(settings.service, key, value)
    return settings


@contextmanager
def _served(settings: Settings, engine: Any) -> Iterator[TestClient]:
    from figvault.service.app import create_app

    with TestClient(create_app(settings, engine=engine)) as client:
        wait_app_ready(client)
        yield client


def _in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    out: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: out.append(call()))
    thread.start()
    return thread, out


def _wait_until(predicate: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached within 30 s"
        time.sleep(0.01)


def test_a_slow_search_does_not_block_healthz(world: World) -> None:
    engine = HeldEngine(world.client.app.state.engine)
    with _served(world.settings, engine) as client:
        thread, out = _in_thread(
            lambda: client.post("/v1/search", json=QUESTION, headers=world.headers("reader"))
        )
        assert engine.entered.acquire(timeout=30)
        # The search holds a worker thread; the event loop still answers, and so do other routes' threads.
        assert client.get("/healthz").status_code == 200
        assert client.get("/v1/me", headers=world.headers("reader")).status_code == 200
        assert not out  # the search is still held open
        engine.release.set()
        thread.join(timeout=60)
    assert out[0].status_code == 200, out[0].text


def test_a_full_queue_answers_429_with_retry_after(world: World) -> None:
    engine = HeldEngine(world.client.app.state.engine)
    # One caller may take every place here: the gate is full, not the caller's share.
    settings = _settings(
        world, search_concurrency=1, search_queue=1, search_share_per_caller=1.0, search_share_per_tenant=1.0
    )
    with _served(settings, engine) as client:
        gate = client.app.state.search_gate
        post = lambda: client.post("/v1/search", json=QUESTION, headers=world.headers("reader"))  # noqa: E731
        running = _in_thread(post)
        assert engine.entered.acquire(timeout=30)
        waiting = _in_thread(post)
        _wait_until(lambda: gate.waiting == 1)
        refused = post()
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert "try again" in refused.json()["detail"]
        engine.release.set()
        for thread, out in (running, waiting):
            thread.join(timeout=60)
            assert out[0].status_code == 200, out[0].text
        assert post().status_code == 200  # the queue drained: served again


def test_one_caller_flooding_does_not_refuse_another(world: World) -> None:
    """A reader sends searches until refused; an editor of its tenant is still served, before the reader's
    queued one. Before, the gate was one queue: the reader filled it and the editor got 429."""
    engine = HeldEngine(world.client.app.state.engine)
    settings = _settings(
        world, search_concurrency=1, search_queue=3, search_share_per_caller=0.5, search_share_per_tenant=1.0
    )
    with _served(settings, engine) as client:
        gate = client.app.state.search_gate
        search = lambda user: client.post("/v1/search", json=QUESTION, headers=world.headers(user))  # noqa: E731
        held = [_in_thread(lambda: search("reader"))]
        try:
            assert engine.entered.acquire(timeout=30)
            refused = None
            for attempt in range(1, gate.concurrency + gate.queue + 1):  # the reader floods until refused
                held.append(_in_thread(lambda: search("reader")))
                _wait_until(lambda n=attempt: gate.waiting == n or bool(held[-1][1]))
                if held[-1][1]:
                    held[-1][0].join(timeout=60)
                    refused = held.pop()[1][0]
                    break
            assert refused is not None and refused.status_code == 429, "the reader was never refused"
            other = _in_thread(lambda: search("editor"))
            _wait_until(lambda: gate.waiting == len(held) or bool(other[1]))
            assert not other[1], other[1][0].text  # queued for a turn, not refused
            assert "your searches" in refused.json()["detail"] and int(refused.headers["retry-after"]) >= 1
        finally:
            engine.release.set()
        for thread, out in [*held, other]:
            thread.join(timeout=60)
            assert out[0].status_code == 200, out[0].text
    # The editor, who had no turn yet, went before the reader's waiting search.
    assert engine.callers == ["reader", "editor", "reader"]


def test_a_search_that_waited_too_long_gets_503_with_retry_after(world: World) -> None:
    engine = HeldEngine(world.client.app.state.engine)
    settings = _settings(
        world, search_concurrency=1, search_queue=4, search_queue_timeout_s=0.2, search_share_per_caller=1.0
    )
    with _served(settings, engine) as client:
        post = lambda: client.post("/v1/search", json=QUESTION, headers=world.headers("reader"))  # noqa: E731
        thread, out = _in_thread(post)
        assert engine.entered.acquire(timeout=30)
        late = post()
        assert late.status_code == 503 and int(late.headers["retry-after"]) >= 1
        engine.release.set()
        thread.join(timeout=60)
        assert out[0].status_code == 200


def test_not_ready_until_the_encoders_are_loaded_and_warm(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    engine = SearchEngine.from_settings(world.settings)  # its own encoders, not loaded yet
    assert not engine.encoders_loaded()
    hold = threading.Event()
    real_warm_up = engine.warm_up

    def held_warm_up() -> None:
        assert hold.wait(60)
        real_warm_up()

    monkeypatch.setattr(engine, "warm_up", held_warm_up)
    with TestClient(create_app(world.settings, engine=engine)) as client:
        assert client.get("/healthz").status_code == 200  # alive while warming
        early = client.get("/readyz")
        assert early.status_code == 503
        assert early.json()["checks"]["encoders"] != True  # noqa: E712
        assert "warming up" in early.json()["checks"]["warm_up"]
        hold.set()
        wait_app_ready(client)
        assert engine.encoders_loaded()
        # The warm-up ran a real question pass: the first search after ready finds the models in memory.
        assert sum(b.passes for _, b in engine.questions._batchers.values()) >= 1
        response = client.post("/v1/search", json=QUESTION, headers=world.headers("reader"))
        assert response.status_code == 200


def test_shutdown_waits_for_a_running_warm_up(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that exits while the warm-up thread is inside native model code aborts (exit 134)."""
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    engine = SearchEngine.from_settings(world.settings)
    started, hold = threading.Event(), threading.Event()
    real_warm_up = engine.warm_up

    def held_warm_up() -> None:
        started.set()
        assert hold.wait(60)
        real_warm_up()

    monkeypatch.setattr(engine, "warm_up", held_warm_up)
    app = create_app(world.settings, engine=engine)
    with TestClient(app):
        assert started.wait(60)
        threading.Timer(0.2, hold.set).start()  # released only after the shutdown below has begun
    assert app.state.warm_up.done.is_set(), "the shutdown returned while the warm-up was still running"


@pytest.mark.parametrize(
    ("cores", "configured", "expected"), [(2, 0, 4), (1, 0, 4), (8, 0, 16), (64, 0, 32), (2, 3, 3)]
)
def test_searches_at_once_two_per_core_unless_configured(
    monkeypatch: pytest.MonkeyPatch, cores: int, configured: int, expected: int
) -> None:
    """Two searches per core at once (at least 4, at most 32): four per core gave a higher p95 with 8 clients
    on a quiet 2-core machine (docs/service.md, "Under load"); a configured number is taken as it is."""
    from figvault.service import admission

    monkeypatch.setattr(admission, "usable_cores", lambda: cores)
    assert admission.search_concurrency(configured) == expected
