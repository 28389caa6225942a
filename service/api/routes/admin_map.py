"""``GET /v1/admin/map``: the collection as a 2-D scatter (PCA of unit vectors), for admins.

Only units the admin may see are read (the same access filter as a search), so the map never shows a
figure of a group the admin does not belong to.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.retrieval.document_units import visible_unit_vectors
from figvault.service.api.schemas import AUTH_RESPONSES
from figvault.service.collection_map import MapOut, map_of
from figvault.service.deps import DbDep, EngineDep, require

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=AUTH_RESPONSES)

# The map shows the whole collection's structure: an inspection tool of the same standing as the audit log.
Admin = Annotated[Principal, Depends(require(Action.AUDIT, "reading the collection map (admins)"))]


@router.get("/map", summary="The collection projected to 2-D (admins)", response_model=MapOut)
def collection_map(
    principal: Admin,
    engine: EngineDep,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=20_000, description="Most units to place.")] = 5_000,
) -> MapOut:
    data = visible_unit_vectors(engine, principal, limit)
    shown = [u.unit_id for u in data.units] if data else []
    audit.record(db.conn(), principal, "map", unit_ids=shown, detail={"limit": limit, "units": len(shown)})
    if data is None or not data.units:
        channel = data.channel if data else ""
        return MapOut(channel=channel, total=0, explained=(0.0, 0.0), documents=[], points=[], duplicates=[])
    return map_of(data)
