"""A native chart's categories and series values, read in one pass over its points.

python-pptx looks each value up by an XPath over all of the series' points (``series.values``: quadratic; a
chart of 5,000 points took 20 CPU-s, one of 300,000 points in an 8 MB deck did not finish in 240 s), and it
sizes both lists by the point count the file declares (``<c:ptCount val="100000000"/>`` over no points at
all). Here each list is built from the points present, in one pass, and holds at most MAX_CHART_POINTS.
"""

from __future__ import annotations

import itertools
from typing import Any

from pptx.chart.series import _SeriesFactory
from pptx.oxml.ns import qn

from figvault.ingest.xml_numbers import xml_int

MAX_CHART_POINTS = 100_000
"""The most categories or values of one series read (a chart's text shows the first few dozen, a sketch
cannot draw more bars than it has pixels)."""
_PT, _V = qn("c:pt"), qn("c:v")


def _points(element: Any, declared: int) -> dict[int, str]:
    """idx -> text of the ``c:pt`` elements under ``element`` with an index below the declared count and
    MAX_CHART_POINTS (python-pptx's ``range(ptCount)``, bounded)."""
    found: dict[int, str] = {}
    # At most that many elements are looked at: the points of a chart come in order, and 300,000 of them
    # took 23 CPU-s here to find the first 100,000 (load 25).
    limit = min(declared, MAX_CHART_POINTS)
    for pt in itertools.islice(element.iter(_PT), limit):
        idx = xml_int(pt.get("idx"))
        v = pt.find(_V)
        if idx is not None and 0 <= idx < limit and idx not in found and v is not None:
            found[idx] = v.text or ""
    return found


def _declared(element: Any) -> int:
    counts = element.xpath(".//c:ptCount/@val")
    return max((xml_int(counts[0]) if counts else None) or 0, 0)  # a negative count: none (islice raised)


def _in_order(found: dict[int, str], declared: int) -> list[str | None]:
    """The points by index up to the last one present (None where one is missing)."""
    length = min(declared, max(found, default=-1) + 1)
    return [found.get(idx) for idx in range(length)]


def category_labels(plot: Any) -> list[str]:
    """The labels of ``plot``'s categories (the first series' ``c:cat``, the first level of a multi-level
    one), "" for a missing one: python-pptx's ``[str(c) for c in plot.categories]``."""
    cats = plot._element.xpath("./c:ser[1]/c:cat")
    if not cats:
        return []
    levels = cats[0].xpath(".//c:lvl[1]")
    source = levels[0] if levels else cats[0]
    declared = _declared(cats[0])
    return [label or "" for label in _in_order(_points(source, declared), declared)]


def series_values(series: Any) -> list[float | None]:
    """``series.values`` of python-pptx: each point's number, None where a point is missing or is no
    number."""
    val = series._element.val
    if val is None:
        return []
    declared = _declared(val)
    return [_number(text) for text in _in_order(_points(val, declared), declared)]


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


_TX = qn("c:tx")


def series_name(series: Any) -> str:
    """``series.name`` of python-pptx (the first point text under the series' ``c:tx``), without its XPath
    ``./c:tx//c:pt/c:v/text()``, which libxml2 evaluated over the whole series: 3.3 CPU-s a call on a
    series of 300,000 points (load 25), called for every series."""
    for tx in series._element.iterchildren(_TX):
        for pt in tx.iter(_PT):
            for v in pt.iterchildren(_V):
                if v.text is not None:
                    return v.text
    return ""


def plot_series(plot: Any) -> list[Any]:
    """The plot's series in their ``c:order`` sequence, sorted once. python-pptx's ``plot.series`` sorts all
    of them again at each index, so ``for s in plot.series`` is quadratic: 500 series spent 2.2 of 2.9 CPU-s
    sorting, 5,000 ran past 200 s."""
    return [_SeriesFactory(ser) for ser in plot._element.sers]
