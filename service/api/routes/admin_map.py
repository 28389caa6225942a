"""``GET /v1/admin/map``: the collection as a 2-D scatter (PCA of unit vectors), for admins.

Only units the admin may see are read (the same access filter as a search), so the map never shows a
figure of a group the admin does not belong to.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from figvault.access import Action, Principal
from figvault.retrieval.document_units import visible_unit_vectors
from figvault.retrieval.unit_map import near_duplicate_pairs, project_2d
from figvault.service import audit
from figvault.service.api.routes.search import AUTH_RESPONSES
from figvault.service.api.schemas import unit_image_url
from figvault.service.deps import DbDep, EngineDep, require

router = APIRouter(prefix="/v1/admin", tags=["admin"], responses=AUTH_RESPONSES)

# The map shows the whole collection's structure: an inspection tool of the same standing as the audit log.
Admin = Annotated[Principal, Depends(require(Action.AUDIT))]


class MapPointOut(BaseModel):
    unit_id: str
    doc_id: str
    doc: str
    page: int
    kind: str
    label: str | None = None
    caption: str = ""
    x: float
    y: float
    image_url: str


class MapDocumentOut(BaseModel):
    doc_id: str
    doc: str
    units: int


class DuplicateOut(BaseModel):
    a: str
    b: str
    cosine: float


class MapOut(BaseModel):
    channel: str = Field(description="The vector field projected: clip (image) when present, else text.")
    total: int = Field(description="Units you can see in the collection.")
    explained: tuple[float, float] = Field(description="Share of variance on each axis.")
    documents: list[MapDocumentOut] = Field(description="Documents on the map, in colour order.")
    points: list[MapPointOut]
    duplicates: list[DuplicateOut] = Field(description="Near-identical unit pairs, most similar first.")


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
    projection = project_2d(data.vectors)
    counts: dict[str, int] = {}
    names: dict[str, str] = {}
    for unit in data.units:
        counts[unit.doc_id] = counts.get(unit.doc_id, 0) + 1
        names.setdefault(unit.doc_id, unit.doc)
    points = [
        MapPointOut(
            unit_id=unit.unit_id,
            doc_id=unit.doc_id,
            doc=unit.doc,
            page=unit.page,
            kind=str(unit.kind),
            label=unit.label,
            caption=unit.caption[:300],
            x=round(float(xy[0]), 5),
            y=round(float(xy[1]), 5),
            image_url=unit_image_url(unit.unit_id),
        )
        for unit, xy in zip(data.units, projection.points, strict=True)
    ]
    duplicates = [
        DuplicateOut(a=data.units[i].unit_id, b=data.units[j].unit_id, cosine=round(cos, 4))
        for i, j, cos in near_duplicate_pairs(data.vectors)
    ]
    return MapOut(
        channel=data.channel,
        total=data.total,
        explained=projection.explained,
        documents=[
            MapDocumentOut(doc_id=d, doc=names[d], units=n)
            for d, n in sorted(counts.items(), key=lambda kv: names[kv[0]])
        ],
        points=points,
        duplicates=duplicates,
    )
