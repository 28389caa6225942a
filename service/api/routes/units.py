"""``GET /v1/units/{unit_id}`` and its image. A unit the caller may not see is answered exactly like a
unit that does not exist (same status, same body). Every fetch is audited, found or not (a run of misses
is what probing looks like)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Response, status

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.service.api.schemas import AUTH_RESPONSES, ErrorOut, UnitOut
from figvault.service.db import RegistryDB
from figvault.service.deps import BlobsDep, DbDep, Engine, EngineDep, UnitIdPath, require
from figvault.units import FigureUnit

router = APIRouter(
    prefix="/v1/units",
    tags=["units"],
    responses={**AUTH_RESPONSES, 404: {"model": ErrorOut, "description": "No such unit (or not yours)."}},
)

Viewer = Annotated[Principal, Depends(require(Action.VIEW))]

UNIT_NOT_FOUND = "unit not found"
# Images are content-addressed (the ETag is the blob's sha256) but access is per caller: only private
# caches may keep them, keyed by the credential.
IMAGE_CACHE_HEADERS = {"Cache-Control": "private, max-age=3600", "Vary": "Authorization"}


def visible_unit(
    engine: Engine, db: RegistryDB, principal: Principal, unit_id: str, action: str
) -> FigureUnit:
    """The unit when the caller may see it, else 404; audited as ``action`` either way."""
    unit = engine.get_unit(principal, unit_id)
    if unit is None:
        audit.record(db.conn(), principal, action, detail={"unit_id": unit_id, "found": False})
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNIT_NOT_FOUND)
    audit.record(db.conn(), principal, action, unit_ids=[unit_id])
    return unit


@router.get("/{unit_id}", summary="One figure unit", response_model=UnitOut)
def get_unit(unit_id: UnitIdPath, principal: Viewer, engine: EngineDep, db: DbDep) -> UnitOut:
    return UnitOut.from_unit(visible_unit(engine, db, principal, unit_id, "unit"))


@router.get(
    "/{unit_id}/image",
    summary="The figure's image (PNG)",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The PNG."},
        304: {"description": "Unchanged."},
    },
)
def get_unit_image(
    unit_id: UnitIdPath,
    principal: Viewer,
    engine: EngineDep,
    blobs: BlobsDep,
    db: DbDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    unit = visible_unit(engine, db, principal, unit_id, "unit_image")
    etag = f'"{unit.image}"'
    headers = {**IMAGE_CACHE_HEADERS, "ETag": etag}
    if if_none_match is not None and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    try:
        png = blobs.get(unit.image)
    except KeyError:  # a unit whose blob is gone: same answer as no unit, nothing to show
        raise HTTPException(status.HTTP_404_NOT_FOUND, UNIT_NOT_FOUND) from None
    return Response(content=png, media_type="image/png", headers=headers)
