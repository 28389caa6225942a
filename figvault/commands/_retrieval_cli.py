"""Helpers shared by the ingest/search/eval/status commands: errors as one line, hits as JSON or a table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import typer
from pydantic import ValidationError

from figvault.errors import FigvaultError
from figvault.search_models import SearchHit

T = TypeVar("T")


@contextmanager
def one_line_errors() -> Iterator[None]:
    """A FigvaultError (bad input, missing weights, version mismatch) ends the command with its reason."""
    try:
        yield
    except FigvaultError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def quiet_store_logs() -> None:
    # pymilvus and milvus_lite log connection chatter at INFO/WARNING; the CLI shows its own messages.
    for name in ("pymilvus", "milvus_lite", "httpx", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.ERROR)


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        typer.echo(f"error: {option} wants a date as YYYY-MM-DD, got {value!r}", err=True)
        raise typer.Exit(2) from None


def filter_error(exc: ValidationError) -> str:
    """A SearchFilters validation error as one line naming the option (``min_width`` -> ``--min-width``)."""
    first = exc.errors()[0]
    field = next((str(part) for part in first["loc"] if isinstance(part, str)), "")
    message = str(first["msg"]).removeprefix("Value error, ")
    option = f"--{field.replace('_', '-')}" if field else "filters"
    if option == "--kinds":
        option = "--kind"
    return f"{option}: {message}"


def also_in_note(hit: SearchHit) -> str:
    """ " (also in: deck.pptx p.5, ...)" for a collapsed hit; "" otherwise."""
    if not hit.also_in:
        return ""
    places = ", ".join(f"{ref.doc} p.{ref.page}" for ref in hit.also_in[:3])
    more = f" and {len(hit.also_in) - 3} more" if len(hit.also_in) > 3 else ""
    return f" (also in: {places}{more})"


def hit_json(hit: SearchHit, image_path: Callable[[str], str | None]) -> dict[str, Any]:
    return {
        "unit_id": hit.unit_id,
        "doc_id": hit.doc_id,
        "doc": hit.doc,
        "page": hit.page,
        "label": hit.label,
        "bbox": list(hit.bbox),
        "page_size": list(hit.page_size),
        "kind": hit.kind,
        "caption": hit.caption,
        "score": hit.score,
        "fused_score": hit.fused_score,
        "channel_scores": hit.channel_scores,
        "rerank_score": hit.rerank_score,
        "explanation": hit.explanation,
        "image": image_path(hit.image),
        "tags": hit.tags,
        "also_in": [ref.model_dump(mode="json") for ref in hit.also_in],
    }
