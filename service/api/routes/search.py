"""``POST /v1/search`` (a question) and ``POST /v1/search/image`` (an example image)."""

from __future__ import annotations

import io
import json
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, ValidationError

from figvault.access import Action, Principal
from figvault.pipeline import audit
from figvault.pipeline.doc_identity import with_filter_ids
from figvault.pipeline.registry import DocumentRegistry
from figvault.search_models import MAX_TOP_K, SearchFilters, SearchRequest, SearchResponse
from figvault.service.api.schemas import AUTH_RESPONSES, ErrorOut, SearchBody, SearchResponseOut
from figvault.service.audit_writer import AuditWriter
from figvault.service.db import RegistryDB
from figvault.service.deps import AuditDep, DbDep, EngineDep, MetricsDep, SearchGateDep, SettingsDep, require
from figvault.service.metrics import ServiceMetrics
from figvault.service.uploads import copy_bounded, open_query_image, query_image_limits
from figvault.service.validation_errors import refuse_unknown_form_fields
from figvault.service.visible_documents import searchable_count
from figvault.text_checks import check_text

router = APIRouter(prefix="/v1", tags=["search"], responses=AUTH_RESPONSES)
image_router = APIRouter(prefix="/v1", tags=["search"], responses=AUTH_RESPONSES)

Searcher = Annotated[Principal, Depends(require(Action.SEARCH))]


def _with_ids(db: RegistryDB, principal: Principal, request: SearchRequest) -> SearchRequest:
    """The request as searched: names in ``filters.doc_ids`` stand for the ids of documents the caller
    sees (the audit keeps what the caller sent)."""
    if not request.filters.doc_ids:  # the hot path reads nothing more
        return request
    filters = with_filter_ids(DocumentRegistry(db.conn()), principal, request.filters)
    return request.model_copy(update={"filters": filters})


def _finish(
    response: SearchResponse,
    principal: Principal,
    db: RegistryDB,
    writer: AuditWriter,
    metrics: ServiceMetrics,
    action: str,
    query: str,
    request: SearchRequest,
) -> SearchResponseOut:
    # Audited before answering: the row is queued for the audit writer (or written here when it cannot
    # take it, an error then reaching the caller instead of unaudited results; service/audit_writer.py).
    row = audit.row(
        principal,
        action,
        query=query,
        unit_ids=[hit.unit_id for hit in response.results],
        detail={
            "top_k": request.top_k,
            "filters": request.filters.model_dump(mode="json", exclude_defaults=True),
            "no_match": response.no_match,
            "reranked": response.reranked,
        },
    )
    writer.submit(row)
    metrics.observe_search(response.timings, len(response.results), principal.tenant)
    # Nothing found: say whether the caller can see any document a search can find (a first-hour trap:
    # documents ingested without groups, or only failed ones). Only the caller's own documents are counted.
    visible = None
    if not response.results:
        visible = searchable_count(db.conn(), principal)
    return SearchResponseOut.from_response(response, visible_documents=visible)


@router.post(
    "/search",
    summary="Ask a question; get the figures that answer it",
    response_model=SearchResponseOut,
)
async def search(
    body: SearchBody,
    principal: Searcher,
    engine: EngineDep,
    db: DbDep,
    metrics: MetricsDep,
    gate: SearchGateDep,
    writer: AuditDep,
    settings: SettingsDep,
) -> SearchResponseOut:
    """Only units the caller may see are searched (the access filter is part of the store query)."""
    request = body.to_request(settings.search.top_k)

    def run() -> SearchResponseOut:
        response = engine.search(principal, _with_ids(db, principal, request))
        return _finish(response, principal, db, writer, metrics, "search", body.query, request)

    # One explicit hop to a search worker thread for the search and its audit entry, once the gate gives
    # a turn (429/503 + Retry-After when it cannot). A plain `def` route costs FastAPI a second hop, to
    # validate the returned model, about a millisecond a request.
    return await gate.run(run, principal.caller_key, principal.tenant)


@image_router.post(
    "/search/image",
    summary="Find figures that look like an example image",
    response_model=SearchResponseOut,
    responses={
        413: {"model": ErrorOut, "description": "Image over the size or pixel limit."},
        415: {"model": ErrorOut, "description": "Not an image of a supported format."},
    },
)
async def search_image(
    request: Request,
    principal: Searcher,
    engine: EngineDep,
    db: DbDep,
    metrics: MetricsDep,
    settings: SettingsDep,
    gate: SearchGateDep,
    writer: AuditDep,
    image: Annotated[UploadFile, File(description="PNG, JPEG, WebP, GIF, BMP or TIFF.")],
    query: Annotated[
        str,
        Form(max_length=2000, description="Optional question, used by the reranker."),
        AfterValidator(check_text),
    ] = "",
    top_k: Annotated[int | None, Form(ge=1, le=MAX_TOP_K, description="Default: search.top_k.")] = None,
    filters: Annotated[
        str,
        Form(max_length=64_000, description='SearchFilters as JSON, e.g. {"kinds": ["chart"]}.'),
        AfterValidator(check_text),
    ] = "",
    rerank: Annotated[bool | None, Form()] = None,
) -> SearchResponseOut:
    await refuse_unknown_form_fields(request)
    wanted = SearchRequest(
        query=query,
        top_k=top_k if top_k is not None else settings.search.top_k,
        filters=_form_filters(filters),
        rerank=rerank,
        surface="form",
    )

    def run() -> SearchResponseOut:
        engine.check_image_search()  # before the image is read: a profile without CLIP decodes nothing
        buffer = io.BytesIO()
        copy_bounded(image.file, buffer, settings.service.max_query_image_mb * 2**20)
        limits = query_image_limits(settings)
        picture = open_query_image(buffer.getvalue(), settings.service.max_query_image_pixels, limits)
        response = engine.search_image(principal, picture, _with_ids(db, principal, wanted))
        return _finish(response, principal, db, writer, metrics, "search_image", query, wanted)

    return await gate.run(run, principal.caller_key, principal.tenant)


def _form_filters(text: str) -> SearchFilters:
    """The image form's ``filters`` JSON as SearchFilters; a bad one is refused as the JSON route refuses its
    ``filters`` (422, each problem with its field), not with a sentence that names neither."""
    try:
        return SearchFilters.model_validate(json.loads(text)) if text else SearchFilters()
    except ValidationError as exc:
        errors = [{**error, "loc": ("body", "filters", *error["loc"])} for error in exc.errors()]
        raise RequestValidationError(errors) from None
    except (ValueError, RecursionError) as exc:  # not JSON, or nested past the parser's depth
        error = {"loc": ("body", "filters"), "msg": f"not a JSON object: {exc}", "type": "json_invalid"}
        raise RequestValidationError([error]) from None
