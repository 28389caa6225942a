"""The page cache's trim walk runs in a daemon thread (a render never waits for it): a service shut down
while one ran exited under it, cutting an object store's deletes off. The lifespan now waits for it, bounded
(``PAGE_CACHE_SHUTDOWN_WAIT_S``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient

from figvault.pipeline.page_cache import CACHE_AREA, PageCache, settle_walks
from figvault.settings import load_settings
from figvault.storage import Storage

KEY = "doc/ab/abcd/p1.png"


def test_shutdown_waits_for_a_running_trim_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.storage.page_cache_mb = 1 / 2**20  # one byte: the render below is over it
    pages = Storage.from_settings(settings).area(CACHE_AREA)
    pages.write(KEY, b"x" * 4096)
    walk = PageCache._entries

    def slow_walk(cache: PageCache) -> Any:
        time.sleep(1.5)  # a long walk (many callers' entries, a remote store)
        return walk(cache)

    monkeypatch.setattr(PageCache, "_entries", slow_walk)
    # No engine to load: its warm-up fails at once (logged, never fatal) and nothing here searches.
    with TestClient(create_app(settings, engine=SimpleNamespace())):
        cache = PageCache.from_settings(settings)
        cache.wrote(4096)  # what a render does: sets the walk off apart
        walker = cache.state.walker
        assert walker is not None and walker.is_alive()
    assert not walker.is_alive(), "the service exited while its trim walk ran"
    assert not pages.exists(KEY), "the walk's eviction was done before the exit"


def test_settle_walks_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    release = threading.Event()
    monkeypatch.setattr(PageCache, "trim", lambda cache: release.wait(30))
    cache = PageCache.from_settings(settings)
    cache.wrote(1)  # a process's first write walks
    try:
        started = time.monotonic()
        assert settle_walks(0.2) is False
        assert time.monotonic() - started < 5
    finally:
        release.set()
    assert settle_walks(10) is True
