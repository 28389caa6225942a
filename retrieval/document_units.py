"""Reading units straight from the served collection under a caller's access filter (no vector search).

The page viewer walks a document figure by figure; the admin map needs every visible unit with its
vector. Both read rows with the same filter expression a search would use (``engine.filter_for``), so a
unit the caller may not see is never read (but for the rows of a large document's window, read by id
among ids that filter listed), and each row is checked once more in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from figvault.access import Principal
from figvault.retrieval.acl import in_list
from figvault.retrieval.schema import (
    F_CAPTION,
    F_DOC,
    F_DOC_ID,
    F_GEOMETRY,
    F_GROUPS,
    F_ID,
    F_KIND,
    F_LABEL,
    F_PAGE,
    F_SHA,
    F_TENANT,
    OUTPUT_FIELDS,
    row_to_unit,
)
from figvault.search_models import SearchFilters
from figvault.units import FigureUnit

MAX_DOCUMENT_UNITS = 5_000
"""A document with more figures than this is shown a window of this many, in reading order, around the
figure asked for (a viewer cannot use more)."""

DOCUMENT_UNIT_FIELDS = [
    F_ID,
    F_DOC_ID,
    F_DOC,
    F_SHA,
    F_PAGE,
    F_GEOMETRY,
    F_KIND,
    F_LABEL,
    F_CAPTION,
    F_TENANT,
    F_GROUPS,
]
"""What a document's figure list shows (and access is checked on): not the texts or vectors a search reads."""

ORDER_FIELDS = [F_ID, F_PAGE, F_GEOMETRY, F_TENANT, F_GROUPS]
"""What reading order and access need of a row: read for every unit of a document too large to list."""

ID_CHUNK = 1_000
"""Unit ids per read of a window's rows (an ``in`` list of 5,000 ids is a 250 KB filter)."""


def reading_order(unit: FigureUnit) -> tuple[int, float, float, str]:
    return _order(unit.page, unit.bbox, unit.unit_id)


def _order(page: int, bbox: Any, unit_id: str) -> tuple[int, float, float, str]:
    return (page, round(bbox[1], 1), round(bbox[0], 1), unit_id)


def _row_order(row: dict[str, Any]) -> tuple[int, float, float, str]:
    bbox = (row.get(F_GEOMETRY) or {}).get("bbox") or (0.0, 0.0, 0.0, 0.0)
    return _order(row[F_PAGE], bbox, row[F_ID])


def _served_collection(engine: Any) -> str | None:
    return engine.store.served_collection()


@dataclass
class DocumentUnits:
    units: list[FigureUnit]
    """A window of the visible units, in reading order (all of them when they fit)."""
    offset: int
    """The place of ``units[0]`` in the document's reading order."""
    total: int
    """The units of the document the caller may see."""


def visible_units_of_document(
    engine: Any, principal: Principal, doc_id: str, around: str | None = None
) -> DocumentUnits:
    """The units of ``doc_id`` that ``principal`` may see, in reading order: at most ``MAX_DOCUMENT_UNITS``,
    from the first, or centred on the unit ``around`` when the caller may see it. A document with more:
    every row's place and access are read (``ORDER_FIELDS``, small), then the window's rows, so the window
    is the reading order's, not whichever rows the store returns first."""
    collection = _served_collection(engine)
    expr = None if collection is None else engine.filter_for(principal, SearchFilters(doc_ids=[doc_id]))
    if expr is None:
        return DocumentUnits([], 0, 0)
    size = MAX_DOCUMENT_UNITS
    rows = engine.store.query_rows(collection, expr, DOCUMENT_UNIT_FIELDS, limit=size + 1)
    if len(rows) <= size:  # the usual document: one read
        units = _visible_in_order(principal, rows)
        return DocumentUnits(units, 0, len(units))
    del rows
    placed = engine.store.query_rows(collection, expr, ORDER_FIELDS)
    ids = [r[F_ID] for r in sorted(placed, key=_row_order) if principal.sees(r[F_TENANT], r[F_GROUPS])]
    del placed
    start = _window_start(ids, around, size)
    window = ids[start : start + size]
    # By primary key alone (Lite looks keys up; any other clause scans the collection), at the strong
    # consistency the order was read at, and not through the search's row cache (which would read and keep
    # every field and vector of thousands of rows no search asked for).
    read = [
        row
        for i in range(0, len(window), ID_CHUNK)
        for row in engine.store.get_rows(
            collection, in_list(F_ID, window[i : i + ID_CHUNK]), fields=DOCUMENT_UNIT_FIELDS, limit=ID_CHUNK
        )
    ]
    return DocumentUnits(_visible_in_order(principal, read), start, len(ids))


def _visible_in_order(principal: Principal, rows: list[dict[str, Any]]) -> list[FigureUnit]:
    units = (row_to_unit(row) for row in rows)
    return sorted((u for u in units if principal.sees(u.tenant, u.groups)), key=reading_order)


def _window_start(unit_ids: list[str], around: str | None, size: int) -> int:
    """Where a window of ``size`` ids starts: 0, or with ``around`` (when listed) in its middle."""
    if len(unit_ids) <= size or around not in unit_ids:
        return 0
    return max(0, min(unit_ids.index(around) - size // 2, len(unit_ids) - size))


@dataclass
class UnitVectors:
    channel: str
    units: list[FigureUnit]
    vectors: np.ndarray
    """float32 [n, dim], row i belongs to units[i]."""
    total: int
    """Visible units in the collection (more than ``len(units)`` when capped)."""


def map_channel(layout: Any) -> str | None:
    """The vector field the map projects: the CLIP image vector when the collection has one, else text."""
    names = [channel.name for channel in layout.dense]
    for preferred in ("clip", "text"):
        if preferred in names:
            return preferred
    return names[0] if names else None


def visible_unit_vectors(engine: Any, principal: Principal, limit: int) -> UnitVectors | None:
    """Up to ``limit`` visible units with their vectors; None when nothing is served or has vectors."""
    collection = _served_collection(engine)
    if collection is None:
        return None
    channel = map_channel(engine.store.layout_of(collection))
    if channel is None:
        return None
    expr = engine.filter_for(principal, None)
    if expr is None:
        return UnitVectors(channel, [], np.zeros((0, 0), np.float32), 0)
    total = engine.store.count(collection, expr)
    rows = engine.store.query_rows(collection, expr, [*OUTPUT_FIELDS, channel], limit=limit)
    kept = [(row_to_unit(row), row[channel]) for row in rows]
    kept = [(u, v) for u, v in kept if principal.sees(u.tenant, u.groups)]
    kept.sort(key=lambda pair: (pair[0].doc, *reading_order(pair[0])))
    vectors = np.asarray([v for _, v in kept], dtype=np.float32)
    return UnitVectors(channel, [u for u, _ in kept], vectors, total)
