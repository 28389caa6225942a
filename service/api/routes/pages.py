"""A document's pages and figures, for the page viewer: ``GET /v1/documents/{id}/pages/{n}/image`` and
``GET /v1/documents/{id}/units``.

Access is checked exactly as for units: a document the caller may not see is answered like one that does
not exist (404, same body), and its figures are read with the caller's access filter inside the store
query, never filtered afterwards.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Response, status
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.pipeline.page_images import (
    CallerRenderBusyError,
    PageImageRenderer,
    PageNotFoundError,
    PageRenderBusyError,
    document_scope,
)
from figvault.pipeline.registry import DocumentRecord
from figvault.pipeline.sources import (
    OriginalNotKeptError,
    RenderFailedError,
    SlidesUnavailableError,
    SourceUnavailableError,
)
from figvault.retrieval.document_units import MAX_DOCUMENT_UNITS, visible_units_of_document
from figvault.search_models import MAX_PAGE
from figvault.service.admission import Overloaded
from figvault.service.api.routes.search import AUTH_RESPONSES
from figvault.service.api.routes.units import IMAGE_CACHE_HEADERS
from figvault.service.api.schemas import ErrorOut, unit_image_url
from figvault.service.deps import DbDep, DocIdPath, EngineDep, RenderGateDep, SettingsDep, require
from figvault.service.throttle import too_many_requests
from figvault.service.visible_documents import DOCUMENT_NOT_FOUND, find_document, shown_version
from figvault.text_checks import check_optional_text

log = logging.getLogger(__name__)
PAGE_NOT_FOUND = "page not found: the document has no such page"
PAGE_IMAGE_BUSY = "page images are being rendered; try again in a few seconds"
PAGE_IMAGE_CALLER_BUSY = "another page image of yours is being rendered"
"""The 429's reason; ``too_many_requests`` adds when to try again, as for every 429 of the service."""
PAGE_IMAGE_TENANT_BUSY = "too many page images of your tenant are being rendered"
PAGE_IMAGE_UNAVAILABLE = "page image unavailable: this page could not be rendered"
PAGE_IMAGE_REASONS: tuple[tuple[type[SourceUnavailableError], str], ...] = (
    (OriginalNotKeptError, "page image unavailable: its original file was not kept; re-ingest the document"),
    (
        SlidesUnavailableError,
        "page image unavailable: slides cannot be shown (LibreOffice is missing or off)",
    ),
    (RenderFailedError, PAGE_IMAGE_UNAVAILABLE),
)
"""What a reader who may see the document is told, a fixed sentence per error class (never the error's
text, which may carry a worker's error or server paths: that goes to the server log)."""
PAGE_IMAGE_OTHER = "page image unavailable: the server could not read this document's file"
"""Any other reason (the server's storage or configuration)."""

router = APIRouter(
    prefix="/v1/documents",
    tags=["documents"],
    responses={**AUTH_RESPONSES, 404: {"model": ErrorOut, "description": "No such document (or not yours)."}},
)

RENDER_RETRY_AFTER_S = 5
Viewer = Annotated[Principal, Depends(require(Action.VIEW))]


class DocumentUnitOut(BaseModel):
    unit_id: str
    page: int
    page_size: tuple[float, float]
    bbox: tuple[float, float, float, float]
    kind: str
    label: str | None = None
    caption: str = ""
    image_url: str


class DocumentUnitsOut(BaseModel):
    doc_id: str
    doc: str
    units: list[DocumentUnitOut]
    """In reading order: by page, then top to bottom, then left to right."""
    offset: int = Field(description="The place of the first unit listed in the document's reading order.")
    total: int = Field(
        description="The document's figures you can see: more than listed when the document has more than"
        f" {MAX_DOCUMENT_UNITS:,} (a window around `around`, else the first).",
    )


def visible_document(db: DbDep, principal: Principal, doc_id: str, action: str) -> DocumentRecord:
    """The caller's tenant's document ``doc_id`` (an id or a name) refers to when its groups meet the
    caller's; else 404, as if it did not exist (that miss is audited as ``action``); 409 for a name that
    several such documents carry."""
    record = find_document(db.conn(), principal, doc_id)
    if record is None:
        audit.record(db.conn(), principal, action, detail={"doc_id": doc_id, "found": False})
        raise HTTPException(status.HTTP_404_NOT_FOUND, DOCUMENT_NOT_FOUND)
    return record


@router.get(
    "/{doc_id}/units",
    summary="The figures of one document you can see, in reading order",
    response_model=DocumentUnitsOut,
)
def document_units(
    doc_id: DocIdPath,
    principal: Viewer,
    db: DbDep,
    engine: EngineDep,
    around: Annotated[
        str | None,
        Query(max_length=64, description="A unit id: list the window of figures around it."),
        AfterValidator(check_optional_text),
    ] = None,
) -> DocumentUnitsOut:
    record = visible_document(db, principal, doc_id, "document_units")
    doc_id = record.doc_id
    listed = visible_units_of_document(engine, principal, doc_id, around)
    units = listed.units
    audit.record(
        db.conn(), principal, "document_units", unit_ids=[u.unit_id for u in units], detail={"doc_id": doc_id}
    )
    return DocumentUnitsOut(
        doc_id=doc_id,
        doc=record.name,
        offset=listed.offset,
        total=listed.total,
        units=[
            DocumentUnitOut(
                unit_id=u.unit_id,
                page=u.page,
                page_size=u.page_size,
                bbox=u.bbox,
                kind=str(u.kind),
                label=u.label,
                caption=u.caption,
                image_url=unit_image_url(u.unit_id),
            )
            for u in units
        ],
    )


@router.get(
    "/{doc_id}/pages/{page}/image",
    summary="One whole page or slide as a PNG (for showing a figure in place)",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The page, about 110 dpi."},
        304: {"description": "Unchanged."},
        429: {"model": ErrorOut, "description": "Your own first render is running; retry after Retry-After."},
        503: {"model": ErrorOut, "description": "Other first renders are running; retry after Retry-After."},
    },
)
async def page_image(
    doc_id: DocIdPath,
    page: Annotated[int, Path(ge=1, le=MAX_PAGE)],
    principal: Viewer,
    db: DbDep,
    engine: EngineDep,
    settings: SettingsDep,
    gate: RenderGateDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    # async, with the blocking parts in the thread pool: a first render (in a limited worker process,
    # LibreOffice for a deck) can take seconds, and a cached one should not wait behind it.
    record = await run_in_threadpool(visible_document, db, principal, doc_id, "page_image")
    detail = {"doc_id": record.doc_id, "page": page}
    await run_in_threadpool(audit.record, db.conn(), principal, "page_image", detail=detail)
    sha256 = await run_in_threadpool(shown_version, engine, principal, record)
    if sha256 is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, PAGE_NOT_FOUND)
    # One first render per caller at a time, waiting or running: a reader cannot hold every render slot
    # with one heavy document's pages while other tenants' views wait (``admission.render_gate``).
    # Renders are kept per document: a copy of the same file elsewhere never shares them (page_images).
    renderer = PageImageRenderer(
        settings,
        caller=principal.caller_key,
        scope=document_scope(record.tenant, record.doc_id),
    )
    etag = renderer.etag(sha256, page)
    headers = {**IMAGE_CACHE_HEADERS, "ETag": etag}
    if if_none_match is not None and etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    try:
        image = await run_in_threadpool(renderer.cached, sha256, page)
        if image is None:  # a first render: a fair turn at the slots (admission.render_gate)
            first_render = partial(renderer.render, sha256, page)
            image = await gate.run(first_render, principal.caller_key, principal.tenant)
    except Overloaded as exc:
        raise render_refused(exc) from None
    except PageNotFoundError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, PAGE_NOT_FOUND) from None
    except CallerRenderBusyError:
        raise too_many_requests(PAGE_IMAGE_CALLER_BUSY, RENDER_RETRY_AFTER_S) from None
    except PageRenderBusyError:  # the process's slots, held by renders outside this gate
        raise render_refused(Overloaded(503, PAGE_IMAGE_BUSY, RENDER_RETRY_AFTER_S)) from None
    except SourceUnavailableError as exc:
        # The caller may see this document; only its page image cannot be made.
        log.warning("page image unavailable: document %s page %d: %s", record.doc_id, page, exc)
        raise HTTPException(status.HTTP_404_NOT_FOUND, unavailable_reason(exc)) from None
    return Response(content=image.png, media_type="image/png", headers=headers)


def unavailable_reason(exc: SourceUnavailableError) -> str:
    """The fixed sentence for the class of ``exc`` (``PAGE_IMAGE_REASONS``)."""
    return next((text for cls, text in PAGE_IMAGE_REASONS if isinstance(exc, cls)), PAGE_IMAGE_OTHER)


def render_refused(exc: Overloaded) -> HTTPException:
    """The answer to a first render the gate refused: the caller's own (429) or its tenant's share (429),
    else 503; fixed sentences and a fixed Retry-After, never a count or a wait of other tenants' renders."""
    if exc.whose == "caller":
        return too_many_requests(PAGE_IMAGE_CALLER_BUSY, RENDER_RETRY_AFTER_S)
    if exc.whose == "tenant":
        return too_many_requests(PAGE_IMAGE_TENANT_BUSY, RENDER_RETRY_AFTER_S)
    retry = {"Retry-After": str(RENDER_RETRY_AFTER_S)}
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, PAGE_IMAGE_BUSY, headers=retry)
