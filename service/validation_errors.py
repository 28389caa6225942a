"""422 answers that say what is wrong without repeating what was sent.

FastAPI's default 422 body lists every error with the offending ``input``: an upload whose file part had
no file name came back with the whole file in the answer, a 90,000-item list with 90,000 errors. Here a
422 keeps FastAPI's shape (``{"detail": [{"loc", "msg", "type"}]}``) but drops ``input`` and ``ctx``,
shortens locations and messages, and keeps the first few errors.
"""

from __future__ import annotations

from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

MAX_ERRORS = 10
MAX_LOC_CHARS = 64
MAX_MSG_CHARS = 200


def _short(value: Any, limit: int) -> Any:
    if isinstance(value, str) and len(value) > limit:
        return value[:limit] + "..."
    return value


def public_errors(errors: list[Any]) -> list[dict[str, Any]]:
    """The first ``MAX_ERRORS`` errors as loc (shortened), msg (shortened) and type; no input, no ctx."""
    out = []
    for error in errors[:MAX_ERRORS]:
        out.append(
            {
                "loc": [_short(part, MAX_LOC_CHARS) for part in error.get("loc", ())][:8],
                "msg": _short(str(error.get("msg", "invalid")), MAX_MSG_CHARS),
                "type": _short(str(error.get("type", "value_error")), MAX_LOC_CHARS),
            }
        )
    if len(errors) > MAX_ERRORS:
        out.append({"loc": [], "msg": f"and {len(errors) - MAX_ERRORS} more errors", "type": "truncated"})
    return out


NOT_JSON = "the body must be a JSON object, sent with Content-Type: application/json"
"""The message of a JSON route's body that came as something else: FastAPI read a body without that header
as text and said only 'Input should be a valid dictionary or object to extract fields from'."""


def _read_as_json(content_type: str) -> bool:
    """Whether FastAPI parses a body of this content type as JSON (application/json, application/*+json)."""
    kind, _, subtype = content_type.split(";")[0].strip().partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _said_plainly(error: dict[str, Any], content_type: str) -> dict[str, Any]:
    not_an_object = error.get("type") in ("model_attributes_type", "dict_type")
    if tuple(error.get("loc", ())) == ("body",) and not_an_object and not _read_as_json(content_type):
        return {**error, "msg": NOT_JSON}
    return error


async def request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    content_type = request.headers.get("content-type", "").lower()
    errors = [_said_plainly(dict(error), content_type) for error in exc.errors()]
    return JSONResponse({"detail": public_errors(errors)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def refuse_unknown_form_fields(request: Request) -> None:
    """422 for a multipart field the route does not read (its ``File``/``Form`` parameters), each named: a
    mistyped ``tag`` or ``group`` was dropped and the upload went on without it (2026-12-06), as a JSON
    body's unknown field is refused. Called first thing in the route, so authentication answers first."""
    route = request.scope.get("route")
    known = sorted({field.alias for field in getattr(getattr(route, "dependant", None), "body_params", [])})
    form = await request.form()  # parsed already for the route's parameters: Starlette keeps it
    unknown = sorted(set(form.keys()) - set(known))
    if unknown:
        msg = f"not a field of this form (its fields: {', '.join(known)})"
        errors = [{"loc": ("body", name), "msg": msg, "type": "extra_forbidden"} for name in unknown]
        raise RequestValidationError(errors)
