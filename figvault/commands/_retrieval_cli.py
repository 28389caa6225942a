"""Helpers shared by the ingest/search/eval/status commands: errors as one line, hits as JSON or a table."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from pydantic import ValidationError

from figvault.errors import FigvaultError
from figvault.search_models import SearchFilters, SearchHit

if TYPE_CHECKING:
    from figvault.access import Principal
    from figvault.pipeline.registry import DocumentRecord

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


FILTER_OPTIONS = {"docs": "--doc", "doc_ids": "--doc-id", "kinds": "--kind"}
"""SearchFilters fields whose ``figvault search`` option is not ``--<field>`` (as ``--min-width`` is)."""


def filter_option(field: str) -> str:
    return FILTER_OPTIONS.get(field, f"--{field.replace('_', '-')}")


def filter_error(exc: ValidationError) -> str:
    """A SearchFilters validation error as one line naming the option (``min_width`` -> ``--min-width``)."""
    first = exc.errors()[0]
    field = next((str(part) for part in first["loc"] if isinstance(part, str)), "")
    # A validator's own reason may start with its field ("pages: ..."), said once: the option names it.
    message = str(first["msg"]).removeprefix("Value error, ").removeprefix(f"{field}: ")
    if field:
        return f"{filter_option(field)}: {message}"
    # A rule over two fields ("min_width is more than max_width") says them as the options that set them.
    return re.sub(r"\b[a-z]+(?:_[a-z]+)*\b", lambda m: _option_or_word(m.group()), message)


def _option_or_word(word: str) -> str:
    return filter_option(word) if word in SearchFilters.model_fields else word


def nothing_found_line(
    principal: Principal, records: list[DocumentRecord], filtered_by: list[str], data_dir: Path | None = None
) -> str:
    """Why a search found nothing, from the registry's ``records`` (every tenant's): nothing ingested (in
    ``data_dir``, named whole: a relative or mistyped folder is a new, empty one), no document in this
    tenant (and which tenants hold some: the demo's are in ``demo``), none shared with ``--groups``, or the
    filters (``filtered_by``: option names) left nothing."""
    mine = [r for r in records if r.tenant == principal.tenant and r.units]
    if not any(r.units for r in records):
        where = f" ({data_dir.resolve()})" if data_dir is not None else ""
        return (
            f"no figures found: nothing is indexed in this data folder{where} yet;"
            " add documents with `figvault ingest FOLDER`"
        )
    if not mine:
        others = sorted({r.tenant for r in records if r.units})
        hint = " or ".join(f"--tenant {t}" for t in others[:3])
        return f"no figures found: tenant {principal.tenant!r} has no figures; they are in: {hint}"
    visible = [r for r in mine if principal.sees(r.tenant, r.groups)]
    if not visible:
        return (
            f"no figures found: --groups {','.join(principal.groups)} shares no group with the"
            f" {_documents(len(mine))} with figures in tenant {principal.tenant!r}"
        )
    if filtered_by:
        return (
            f"no figures found that pass {', '.join(filtered_by)}; without them the search covers"
            f" {_documents(len(visible))} with figures"
        )
    return "no figures found"


def _documents(count: int) -> str:
    return f"{count} document{'' if count == 1 else 's'}"


def caption_cell(caption: str, title: str, width: int) -> str:
    """A table's caption column: the caption, else the figure's own title marked as one (a slide's chart
    or a report's panel has a title and rarely a caption: a blank cell read as "nothing found"), cut to
    ``width`` characters."""
    text = caption or (f"title: {title}" if title else "")
    return text if len(text) <= width else text[: width - 3] + "..."


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
        "width": hit.width,
        "height": hit.height,
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
