"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (it can serve searches) and
``/metrics`` (Prometheus text)."""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from figvault.access import Action
from figvault.service.api.schemas import HealthOut, ReadyOut
from figvault.service.deps import UNAUTHORIZED, MetricsDep, bearer_scheme, get_current_principal
from figvault.service.readiness import READY_WHEN, log_failing, public_checks, readiness_checks

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut()


@router.get(
    "/readyz",
    summary="Readiness: models loaded and warm, store reachable, served version matches",
    response_model=ReadyOut,
    responses={
        503: {"model": ReadyOut, "description": "Not ready; each failing check gives a fixed reason."}
    },
)
def readyz(request: Request) -> Response:
    state = request.app.state
    checks = readiness_checks(getattr(state, "engine", None), state.settings, getattr(state, "warm_up", None))
    ready = all(checks.get(name) is True for name in READY_WHEN)
    log_failing(state, checks)
    warm_up = getattr(state, "warm_up", None)
    warming_up = warm_up is not None and not warm_up.done.is_set()
    body = ReadyOut(status="ready" if ready else "not-ready", checks=public_checks(checks, warming_up))
    return JSONResponse(body.model_dump(), status_code=200 if ready else status.HTTP_503_SERVICE_UNAVAILABLE)


async def metrics_access(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> str | None:
    """Whose metrics the caller reads: None, the service's (every tenant's requests), or a tenant's.

    The service's when ``service.metrics_require_auth`` is off or for the scrape token
    (``service.metrics_token``); with ``service.tenant_admin_metrics``, an admin's credential reads its own
    tenant's view (``ServiceMetrics.render``): the service's counts span every tenant, no HTTP role does."""
    service = request.app.state.settings.service
    if not service.metrics_require_auth:
        return None
    if credentials is None:
        raise UNAUTHORIZED
    if service.metrics_token:
        # The failed-sign-in budget is checked before the token is compared: checked only in
        # get_current_principal, after it, a guesser's 429 meant "wrong" and a 200 "right" at full speed.
        address = request.client.host if request.client else "unknown"
        request.app.state.rate_limits.check_failures(None, address)
        if scrape_token_matches(credentials.credentials, service.metrics_token):
            return None
    principal = await get_current_principal(request, credentials)
    if not (service.tenant_admin_metrics and principal.can(Action.AUDIT)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, METRICS_FORBIDDEN)
    return principal.tenant


METRICS_FORBIDDEN = "metrics span every tenant: the scraper sends service.metrics_token (docs/service.md)"


def scrape_token_matches(given: str, token: str) -> bool:
    """Constant-time comparison (of digests, so the length does not show either)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.strip().encode()).digest(), digest(token.encode()).digest())


@router.get(
    "/metrics",
    summary="Prometheus metrics (requests and latency per route, latency per search step)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}}},
)
def metrics(metrics: MetricsDep, tenant: Annotated[str | None, Depends(metrics_access)]) -> Response:
    return Response(content=metrics.render(tenant), media_type=metrics.content_type)
