"""``GET /v1/me``: who the credential belongs to, and what it may do (the search page shows it)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from figvault.access import Action
from figvault.service.api.routes.search import AUTH_RESPONSES
from figvault.service.deps import CurrentPrincipal

router = APIRouter(prefix="/v1", tags=["auth"], responses=AUTH_RESPONSES)


class MeOut(BaseModel):
    user: str
    tenant: str
    groups: list[str]
    roles: list[str]
    actions: list[str]
    """What the roles allow (search, view, ingest, ...), so a client can show only what will work."""


@router.get("/me", summary="The caller: user, tenant, groups, roles", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        user=principal.user,
        tenant=principal.tenant,
        groups=sorted(principal.groups),
        roles=[str(role) for role in principal.roles],
        actions=[str(action) for action in Action if principal.can(action)],
    )
