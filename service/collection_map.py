"""The collection map's JSON (``GET /v1/admin/map``): the visible units' vectors projected to 2-D, their
documents in colour order, and their near-identical pairs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from figvault.retrieval.document_units import UnitVectors
from figvault.retrieval.unit_map import near_duplicate_pairs, project_2d
from figvault.service.api.schemas import unit_image_url


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


def map_of(data: UnitVectors) -> MapOut:
    """The map of ``data`` (at least one unit)."""
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
