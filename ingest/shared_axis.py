"""Layout class "small multiples sharing one category axis" (faceted charts, as survey reports and plotting
libraries draw them): a row of horizontal bar panels, one per facet ("All", "1-10 nodes", a region), whose
category names are printed once, left of the first panel. The other panels show bars, values and ticks but
no names, so a searcher asking "reasons X, Y by number of nodes" found the names in one panel's text only.

The rule is geometric: a bar panel with no category names of its own borrows the names of the nearest panel
on its left whose bar rows line up with its own, row for row (same count, each row's top and foot within
ROW_SLACK_PT): a plotting library draws the facets of one row on one grid. A panel of another row (other
heights), a bar chart with its own names and a column chart (no bar rows) borrow nothing. The names go into
the panel's text, not its box (they are printed left of another panel).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from figvault.ingest.axis_ticks import tick_value
from figvault.ingest.boxes import Box
from figvault.ingest.plain_legend import ALIGN_SLACK_PT, NAMES_MIN

ROW_SLACK_PT = 1.0
"""The bar rows of facets drawn on one grid stand at the same heights within this (rounding)."""


@dataclass
class BarPanel:
    """A horizontal bar chart's unit as the rule sees it."""

    bars: Box
    """The bars' box (its left edge is the value axis)."""
    rows: list[tuple[float, float]]
    """The vertical spans of its bar rows, top to bottom."""
    lines: Sequence[tuple[Box, str]]
    """Its unit's text lines (box, text)."""


def category_names(panel: BarPanel) -> list[int]:
    """Indices of ``panel``'s lines that name its categories: left of its bars, each level with a bar row,
    no number (a neighbour's value label "34%" may stand there). Empty when fewer than NAMES_MIN."""
    found = [
        i
        for i, (box, text) in enumerate(panel.lines)
        if box[2] <= panel.bars[0] + ALIGN_SLACK_PT
        and _level_with_row(box, panel.rows)
        and tick_value(text) is None
    ]
    return found if len(found) >= NAMES_MIN else []


def borrowed_names(panels: Sequence[BarPanel]) -> dict[int, tuple[int, list[int]]]:
    """Per panel without names of its own (index into ``panels``): the panel it borrows from and the indices
    of that panel's lines it borrows (category_names). Only panels whose rows line up (same_rows) and that
    stand wholly on its left lend; the nearest lends."""
    names = [category_names(p) for p in panels]
    borrowed: dict[int, tuple[int, list[int]]] = {}
    for k, panel in enumerate(panels):
        if names[k] or len(panel.rows) < NAMES_MIN:
            continue
        lenders = [
            j
            for j, other in enumerate(panels)
            if names[j] and other.bars[2] <= panel.bars[0] and same_rows(other.rows, panel.rows)
        ]
        if lenders:
            j = max(lenders, key=lambda j: panels[j].bars[2])
            borrowed[k] = (j, names[j])
    return borrowed


def same_rows(a: Sequence[tuple[float, float]], b: Sequence[tuple[float, float]]) -> bool:
    """Two charts' bar rows line up, row for row."""
    return len(a) == len(b) and all(
        abs(ra[0] - rb[0]) <= ROW_SLACK_PT and abs(ra[1] - rb[1]) <= ROW_SLACK_PT
        for ra, rb in zip(a, b, strict=True)
    )


def _level_with_row(line: Box, rows: Sequence[tuple[float, float]]) -> bool:
    """``line`` overlaps a row's span (a name wrapped on two lines sets each line part above the bar)."""
    return any(line[1] < foot and line[3] > top for top, foot in rows)
