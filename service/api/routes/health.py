"""Operations endpoints: ``/healthz`` (the process answers), ``/readyz`` (it can serve searches) and
``/metrics`` (Prometheus text)."""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials

from figvault.access import Action, Principal
from figvault.errors import one_line, typed_line
from figvault.service.api.schemas import HealthOut, ReadyOut
from figvault.service.deps import UNAUTHORIZED, MetricsDep, bearer_scheme, get_current_principal
from figvault.settings import Settings

log = logging.getLogger("figvault.service")

router = APIRouter(tags=["operations"])

# Sees nothing (no groups, no roles): a count through it proves the store answers a filtered query
# without reading any data.
_PROBE = Principal(user="readyz", tenant="readyz", groups=[], roles=[])


@router.get("/healthz", summary="Liveness: the process answers", response_model=HealthOut)
async def healthz() -> HealthOut:
    return HealthOut()


READY_WHEN = ("engine", "encoders", "warm_up", "store", "version")


def readiness_checks(engine: Any, settings: Settings, warm_up: Any = None) -> dict[str, Any]:
    """Each check is ``True`` or a one-line reason it failed. ``warm_up``: the app's WarmUp, if any."""
    checks: dict[str, Any] = {}
    if engine is None:
        return {"engine": "not loaded"}
    checks["engine"] = True
    checks["encoders"] = True if engine.encoders_loaded() else "not loaded yet"
    checks["warm_up"] = True if warm_up is None else warm_up.status()
    try:
        engine.count(_PROBE)
        checks["store"] = True
    except Exception as exc:
        checks["store"] = typed_line(exc)
    try:
        served = engine.served()  # raises VersionMismatchError when the store serves another version
        checks["version"] = True
        checks["collection"] = served[0] if served else "none yet (nothing ingested)"
    except Exception as exc:  # reported, not raised: readyz answers either way
        checks["version"] = one_line(exc)
    return checks


# What an unauthenticated caller sees for a failing check: a fixed reason, never the error text (which may
# carry an internal address or a model path). The details go to the server log. ``collection`` (the served
# collection's name, which the operator chose or the embedding version's hash made) is a stable field of
# this answer that deployment scripts read after a re-encode, so it stays.
PUBLIC_REASONS = {
    "engine": "not loaded",
    "encoders": "not loaded yet",
    "warm_up": "warming up",
    "store": "store unreachable",
    "version": "served version differs from the configured one",
}


def public_checks(checks: dict[str, Any], warming_up: bool) -> dict[str, Any]:
    """``checks`` with each failure replaced by its fixed reason (READY_WHEN's checks) and ``collection``."""
    shown = {
        name: True if checks[name] is True else PUBLIC_REASONS[name] for name in READY_WHEN if name in checks
    }
    if shown.get("warm_up", True) is not True and not warming_up:
        shown["warm_up"] = "warm-up failed"
    if "collection" in checks:
        shown["collection"] = checks["collection"]
    return shown


def _log_details(app_state: Any, checks: dict[str, Any]) -> None:
    """Log the failing checks' details once each time they change (an orchestrator polls /readyz often)."""
    failing = {name: value for name, value in checks.items() if name in READY_WHEN and value is not True}
    if failing and failing != getattr(app_state, "readyz_logged", None):
        log.warning("not ready: %s", "; ".join(f"{name}: {why}" for name, why in failing.items()))
    app_state.readyz_logged = failing


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
    _log_details(state, checks)
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
    if service.metrics_token and scrape_token_matches(credentials.credentials, service.metrics_token):
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
