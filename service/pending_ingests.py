"""At most ``service.max_pending_ingests`` ingest jobs queued or running per caller: an upload's files wait on
the server's disk until their job runs, so without a bound one editor's queued uploads could fill it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from figvault.access import Principal
from figvault.pipeline.jobs import AWAITING_RETRY, JobState, JobStore, JobType
from figvault.service.throttle import too_many_requests
from figvault.settings import Settings

PENDING_RETRY_S = 30.0
"""``Retry-After`` of an ingest refused for the caller's pending ones: about one small job's run."""


_QUEUEING: dict[tuple[str, str], tuple[threading.Lock, int]] = {}
"""(tenant, caller) -> the caller's turn and how many of their requests hold or wait for it; dropped when
none does (kept for good, it grew with every token subject that ever uploaded: a scale audit)."""
_QUEUEING_GUARD = threading.Lock()


@contextmanager
def pending_ingest_slot(settings: Settings, store: JobStore, principal: Principal) -> Iterator[None]:
    """``check_pending_ingests``, then the caller's job created inside, one request of the same caller at a
    time in this process: checked apart, 30 uploads sent at once were all counted before any job existed,
    and 15 of them passed a bound of 10 on one replica (2026-12-06). Several replicas each hold their own
    turn: across N of them a caller may get N - 1 more at the same moment."""
    key = (principal.tenant, principal.identity)
    with _QUEUEING_GUARD:
        turn, users = _QUEUEING.get(key, (threading.Lock(), 0))
        _QUEUEING[key] = (turn, users + 1)
    try:
        with turn:
            check_pending_ingests(settings, store, principal)
            yield
    finally:
        with _QUEUEING_GUARD:
            turn, users = _QUEUEING[key]
            if users == 1:
                del _QUEUEING[key]
            else:
                _QUEUEING[key] = (turn, users - 1)


def check_pending_ingests(settings: Settings, store: JobStore, principal: Principal) -> None:
    """429 when ``principal`` already has ``service.max_pending_ingests`` ingest jobs queued, running or
    kept for a retry (their files wait too): without it one editor could fill the server's disk with
    uploads waiting behind each other (``pending_ingest_slot``: checked and queued in one turn)."""
    most = settings.service.max_pending_ingests
    if most <= 0:
        return
    mine = {"tenants": [principal.tenant], "job_type": JobType.INGEST, "started_by_id": principal.identity}
    pending = store.count(states=[JobState.QUEUED, JobState.RUNNING], at_most=most, **mine)
    # An upload stopped by its lapsed credential keeps its files for a retry (pipeline/ingest_job.py).
    pending += store.count(states=[JobState.FAILED], phase=AWAITING_RETRY, at_most=most, **mine)
    if pending >= most:
        waiting = f"{pending} ingest jobs of yours are waiting, running or kept for a retry"
        raise too_many_requests(waiting, PENDING_RETRY_S)
