"""Typed FastAPI dependencies: settings, the caller, role checks, and the app's shared objects.

Routes declare what they need (``principal: Annotated[Principal, Depends(require(Action.SEARCH))]``,
``engine: EngineDep``) and stay thin; everything here reads from ``app.state``, set up once by the
app factory.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Protocol

import anyio
from fastapi import Depends, HTTPException, Path, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator

from figvault.access import Action, Principal
from figvault.search_models import SearchFilters, SearchRequest, SearchResponse
from figvault.service.admission import SearchGate
from figvault.service.audit_writer import AuditWriter
from figvault.service.auth import Authenticator, AuthError, SlowCheckNeeded, api_key_id
from figvault.service.db import RegistryDB
from figvault.service.metrics import TENANT_STATE, ServiceMetrics
from figvault.service.throttle import RateLimits
from figvault.settings import Settings
from figvault.storage import BlobStore
from figvault.text_checks import MAX_NAME_CHARS, check_optional_text, check_text
from figvault.units import FigureUnit

log = logging.getLogger("figvault.service")

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API key from `figvault users add` (fvk_...) or a JWT signed with a configured key.",
)

UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="missing or invalid credentials",
    headers={"WWW-Authenticate": "Bearer"},
)


class Engine(Protocol):
    """What the service uses of ``figvault.retrieval.search.SearchEngine`` (access rules live inside it)."""

    def search(self, principal: Principal, request: SearchRequest) -> SearchResponse: ...

    def search_image(self, principal: Principal, image: Any, request: SearchRequest) -> SearchResponse: ...

    def get_unit(self, principal: Principal, unit_id: str) -> FigureUnit | None: ...

    def count(self, principal: Principal, filters: SearchFilters | None = None) -> int: ...

    def served(self) -> Any:
        """(collection, layout) the alias serves, or None; raises VersionMismatchError on a mismatch."""
        ...

    def warm_up(self) -> None:
        """Load the encoders and run one search end to end (``figvault serve`` does before it is ready)."""
        ...

    def encoders_loaded(self) -> bool: ...


def app_state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that returns ``app.state.<name>``, one of the objects the app factory set up.

    ``async def``: FastAPI runs every sync dependency in the thread pool, and a hop per getter per request
    is measurable latency for nothing."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"get_{name}"
    return dependency


SettingsDep = Annotated[Settings, Depends(app_state("settings"))]
EngineDep = Annotated[Engine, Depends(app_state("engine"))]
DbDep = Annotated[RegistryDB, Depends(app_state("db"))]
MetricsDep = Annotated[ServiceMetrics, Depends(app_state("metrics"))]
BlobsDep = Annotated[BlobStore, Depends(app_state("blobs"))]
SearchGateDep = Annotated[SearchGate, Depends(app_state("search_gate"))]
RenderGateDep = Annotated[SearchGate, Depends(app_state("render_gate"))]
AuditDep = Annotated[AuditWriter, Depends(app_state("audit"))]

# Path parameters: bounded, and refused (422) when they hold control characters, before any lookup.
UnitIdPath = Annotated[str, Path(max_length=64), AfterValidator(check_text)]
DocIdPath = Annotated[str, Path(max_length=MAX_NAME_CHARS), AfterValidator(check_text)]
JobIdPath = Annotated[str, Path(max_length=64), AfterValidator(check_text)]

MAX_DOCUMENTS_PAGE = 5_000
"""The most documents one page of a document listing may ask for (left out: all of them, as before)."""

# A document listing's page (``GET /v1/documents``, ``GET /v1/admin/documents``): its size and cursor.
DocumentsLimit = Annotated[
    int | None, Query(ge=1, le=MAX_DOCUMENTS_PAGE, description="At most this many (default: all).")
]
DocumentsAfter = Annotated[
    str | None,
    Query(
        max_length=MAX_NAME_CHARS,
        description="Only documents whose id sorts after this one: a page's `next_after` lists the next.",
    ),
    AfterValidator(check_optional_text),
]


def _slow_checks(request: Request) -> anyio.CapacityLimiter:
    """One scrypt check at a time per process: a flood of new or wrong keys uses one core, not all."""
    limiter = getattr(request.app.state, "slow_auth_checks", None)
    if limiter is None:
        limiter = request.app.state.slow_auth_checks = anyio.CapacityLimiter(1)
    return limiter


async def get_current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    """The authenticated caller, or 401 (429 past a rate limit: service/throttle.py).

    On the event loop: a known key costs one indexed registry read and a sha256 (a few hundred microseconds
    through SQLAlchemy on a loaded machine, docs/service.md), a JWT
    one signature check, while a thread-pool hop costs about a millisecond a request. Only the scrypt check
    of a key's first use in this process (about 50 ms) goes to a worker thread, one at a time, and only
    while the caller's address has failed-authentication budget left and has not failed against a key id
    whose budget is spent (``RateLimits.check_failures``). Every refused credential is logged (address, key
    id, reason; never a secret) and spends those budgets.
    """
    if credentials is None:
        raise UNAUTHORIZED
    authenticator: Authenticator = request.app.state.auth
    limits: RateLimits = request.app.state.rate_limits
    address = request.client.host if request.client else "unknown"
    token = credentials.credentials.strip()
    key_id = api_key_id(token)
    try:
        try:
            if key_id is None:
                limits.check_failures(None, address)
            principal = authenticator.authenticate(token, allow_slow=False)
        except SlowCheckNeeded:
            limits.check_failures(key_id, address)
            principal = await anyio.to_thread.run_sync(
                authenticator.authenticate, token, limiter=_slow_checks(request)
            )
    except AuthError as exc:
        limits.spend_failure(key_id, address)
        log.warning("authentication failed from %s: %s", address, exc)
        raise UNAUTHORIZED from None
    if principal.unrestricted:  # only the local operator is; never a network caller
        raise UNAUTHORIZED
    setattr(request.state, TENANT_STATE, principal.tenant)  # the tenant's view of /metrics counts it too
    # A token's budget is its caller's (``caller_key``): jwt:ana of two tenants must not spend, or watch
    # through its own 429s, the other's.
    limits.spend_request(key_id or principal.caller_key, address)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_current_principal)]


ACTION_WORDS: dict[Action, str] = {
    Action.INGEST: "adding or changing documents (editors and admins)",
    Action.DELETE: "deleting documents (admins)",
    Action.REENCODE: "re-encoding the store (admins)",
    Action.USERS: "managing users (admins)",
    Action.AUDIT: "reading the audit trail (admins)",
    Action.REGROUP: "changing a document's groups (admins)",
}
"""What a 403 says the caller's role does not allow: a reader's PATCH of a document's tags was answered
"your role does not allow ingest"."""


def require(action: Action, asked: str | None = None) -> Callable[..., Any]:
    """A dependency that yields the caller when one of their roles grants ``action``, else 403 saying what
    was asked: ``asked`` where the route reads what the action's words do not name (a reader's
    ``GET /v1/status`` was told "re-encoding the store")."""

    async def dependency(principal: CurrentPrincipal) -> Principal:
        if not principal.can(action):
            said = f"your role does not allow {asked or ACTION_WORDS.get(action, action.value)}"
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail=said)
        return principal

    dependency.__name__ = f"require_{action.value}"
    return dependency
