"""``GET /v1/audit``: the audit trail of the caller's tenant, newest first (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from figvault.access import Action, Principal
from figvault.service import audit
from figvault.service.api.schemas import AUTH_RESPONSES
from figvault.service.deps import DbDep, require

router = APIRouter(prefix="/v1", tags=["audit"], responses=AUTH_RESPONSES)


@router.get("/audit", summary="Audit entries of your tenant, newest first", response_model=audit.AuditPage)
def list_audit(
    principal: Annotated[Principal, Depends(require(Action.AUDIT))],
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
    user: Annotated[str | None, Query(max_length=128, description="Only this user's entries.")] = None,
    action: Annotated[str | None, Query(max_length=64, description="e.g. search, ingest, delete.")] = None,
) -> audit.AuditPage:
    return audit.list_entries(
        db.conn(), principal.tenant, limit=limit, offset=offset, user=user, action=action
    )
