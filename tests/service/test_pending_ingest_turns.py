"""A caller's turn to queue an ingest (``pending_ingest_slot``) lives while a request of theirs holds or
waits for it: kept for good, the table grew with every token subject that ever uploaded (a scale audit)."""

from __future__ import annotations

import threading
from pathlib import Path

from figvault.access import Principal
from figvault.service import pending_ingests
from figvault.service.pending_ingests import pending_ingest_slot
from figvault.settings import load_settings


def test_a_callers_turn_is_dropped_once_no_request_holds_it(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    settings.service.max_pending_ingests = 0  # no bound: the turn alone is under test
    for n in range(50):
        with pending_ingest_slot(settings, None, Principal(user=f"jwt:subject-{n}")):  # type: ignore[arg-type]
            assert pending_ingests._QUEUEING[("default", f"jwt:subject-{n}")][1] == 1
    assert pending_ingests._QUEUEING == {}


def test_requests_of_one_caller_still_take_turns(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    settings.service.max_pending_ingests = 0
    caller = Principal(user="jwt:editor")
    waiting, order = threading.Event(), []

    def second() -> None:
        waiting.set()
        with pending_ingest_slot(settings, None, caller):  # type: ignore[arg-type]
            order.append("second")

    with pending_ingest_slot(settings, None, caller):  # type: ignore[arg-type]
        thread = threading.Thread(target=second)
        thread.start()
        waiting.wait(5)
        thread.join(0.3)  # it waits for this request's turn
        assert thread.is_alive() and order == []
        order.append("first")
    thread.join(5)
    assert order == ["first", "second"] and pending_ingests._QUEUEING == {}
