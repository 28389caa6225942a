"""``GET /v1/audit``: the audit trail of the caller's tenant, newest first (admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AfterValidator

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.service.api.schemas import AUTH_RESPONSES
from figvault.service.deps import AuditDep, DbDep, require
from figvault.text_checks import check_optional_text

FLUSH_WAIT_S = 5.0
"""How long a read of the trail waits for the audit writer to commit the rows queued before it."""

router = APIRouter(prefix="/v1", tags=["audit"], responses=AUTH_RESPONSES)

MAX_OFFSET = 1_000_000_000
"""Paging is bounded: an offset past SQLite's integers used to be a 500."""


@router.get("/audit", summary="Audit entries of your tenant, newest first", response_model=audit.AuditPage)
def list_audit(
    principal: Annotated[Principal, Depends(require(Action.AUDIT))],
    db: DbDep,
    writer: AuditDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    before: Annotated[
        int | None,
        Query(
            ge=1,
            le=MAX_OFFSET,
            description="Only entries older than the entry of this id: the last id of a page gives the next"
            " page, which entries written meanwhile do not push down (as they do an offset).",
        ),
    ] = None,
    user: Annotated[
        str | None,
        Query(max_length=128, description="Only the entries of the account this user name holds now."),
        AfterValidator(check_optional_text),
    ] = None,
    account: Annotated[
        str | None,
        Query(max_length=128, description="Only this account's entries (an entry's `account`)."),
        AfterValidator(check_optional_text),
    ] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="e.g. search, ingest, delete."),
        AfterValidator(check_optional_text),
    ] = None,
) -> audit.AuditPage:
    writer.flush(FLUSH_WAIT_S)  # the searches already answered are on the page
    # A name given again is another account: the name filters by the account that holds it now.
    accounts = [account] if account else []
    if user:
        accounts.append(audit.account_of(db.conn(), principal.tenant, user))
    page = audit.list_entries(
        db.conn(),
        principal.tenant,
        limit=limit,
        offset=offset,
        accounts=accounts,
        action=action,
        before=before,
    )
    # Reading the trail is itself on the trail, written after the read (the page shows what was before).
    asked = {
        "limit": limit,
        "offset": offset,
        "before": before,
        "user": user,
        "account": account,
        "action": action,
        "returned": len(page.entries),
    }
    audit.record(db.conn(), principal, "audit", detail={k: v for k, v in asked.items() if v is not None})
    return page
