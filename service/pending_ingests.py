"""At most ``service.max_pending_ingests`` ingest jobs queued or running per caller: an upload's files wait on
the server's disk until their job runs, so without a bound one editor's queued uploads could fill it."""

from __future__ import annotations

from figvault.access import Principal
from figvault.pipeline.jobs import JobState, JobStore, JobType
from figvault.service.throttle import too_many_requests
from figvault.settings import Settings

PENDING_RETRY_S = 30.0
"""``Retry-After`` of an ingest refused for the caller's pending ones: about one small job's run."""


def check_pending_ingests(settings: Settings, store: JobStore, principal: Principal) -> None:
    """429 when ``principal`` already has ``service.max_pending_ingests`` ingest jobs queued or running:
    without it one editor could fill the server's disk with uploads waiting behind each other. (Two
    requests at the same moment may both pass: the bound is approximate by one or two.)"""
    most = settings.service.max_pending_ingests
    if most <= 0:
        return
    pending = store.list(
        tenants=[principal.tenant],
        states=[JobState.QUEUED, JobState.RUNNING],
        job_type=JobType.INGEST,
        limit=most,
        started_by=principal.user,
    )
    if len(pending) >= most:
        waiting = f"{len(pending)} ingest jobs of yours are waiting or running"
        raise too_many_requests(waiting, PENDING_RETRY_S)
