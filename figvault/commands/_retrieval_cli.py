"""Helpers shared by the ingest/search/eval/status commands: errors as one line, hits as JSON or a table."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, TypeVar

import typer

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
    }
