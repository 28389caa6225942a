"""Multi-panel vector figure grids: chart evidence, splitting a drawing into panels, and panel titles.

Survey and KPI reports, dashboards and slides set several charts side by side or in a grid, without
captions, each with its own short title. Two things glue such panels into one drawing cluster: a shared
backdrop or frame behind them (a dashboard card), and clustering by merged boxes (a wide panel under two
narrow ones). This module

- tells a chart from other drawings by what charts are made of (:func:`chart_evidence`): bars (filled
  rectangles on a common baseline with different lengths, or end to end in a stacked bar), axes (a long
  horizontal and a long vertical stroke meeting at a corner) or gridlines (three or more parallel strokes
  of the same length) with a plotted series or bars between them, or with no rows of text cells between
  them (a ruled table);
- splits a cluster into panels along whitespace gutters (:func:`split_panels`, a recursive XY cut that
  ignores the backdrop): a cut is kept only when both sides are charts, so a diagram with whitespace
  inside it stays whole;
- finds a panel's own title (:func:`ranked_panel_title`): a short line, bold or larger than the panel's other
  text, right above the panel's drawing or inside its top, lying over the panel (not a page-wide title).
"""

from __future__ import annotations

import functools
import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from figvault.ingest.boxes import Box, box_area, box_gap, box_intersection, centre_in
from figvault.ingest.ocr import ICON_GLYPHS

if TYPE_CHECKING:
    from figvault.ingest.pdf_layout import Cluster, TextLine

GUTTER_PT = 8.0
"""Whitespace at least this wide, free of drawings and text, may separate two panels."""
MAX_CUT_DEPTH = 4
"""At most 2**4 panels from one cluster; bounds the work on hostile pages too."""
MAX_GUTTERS_TRIED = 4
"""Per cut, the widest few gutters are tried (a page of scattered marks has thousands of gaps)."""
BACKDROP_SHARE = 0.25
"""A path covering this share of its cluster's box is a backdrop or frame: it never keeps panels together."""
STROKE_PT = 2.0
"""A path this thin (points) in one direction is a stroke: an axis, a gridline, a tick."""
INSIDE_MARGIN_PT = 2.0
"""A label, a fragment or a pie's centre counts as inside a region whose edge it misses by this much."""
TITLE_MAX_CHARS = 80
TITLE_MAX_WORDS = 12
TITLE_ABOVE_PT = 28.0
"""A panel title stands at most this far above the panel's drawing."""
TITLE_SIDE_SLACK = 0.1
"""... lying over the drawing, which may be widened on its left by this share of its width."""
TITLE_INSIDE_SHARE = 0.18
"""... or inside the top share of the drawing (a title inside the panel's frame)."""
TITLE_MAX_LINES = 3
"""A title wrapped over lines (a survey question) is joined over at most this many lines."""


class _Atom(Protocol):
    box: Box
    bar: bool
    path_count: int
    image_area: float
    free_paths: int
    fill: bool
    colour: tuple[float, ...] | None


def _same(values: Sequence[float], tolerance: float) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for i, v in enumerate(values):
        groups[round(v / tolerance)].append(i)
    return groups


def has_bar_series(bars: Sequence[Box]) -> bool:
    """Three or more filled rectangles on a common baseline with three or more different lengths.

    Table shading (zebra rows, a header band) shares a baseline too, but its rectangles are as long as
    each other; bars, stacked or not, measure different amounts.
    """
    if len(bars) < 3:
        return False
    for axis, base in ((1, [b[3] for b in bars]), (0, [b[0] for b in bars])):  # columns, then rows
        for members in _same(base, 2.0).values():
            lengths = {round(bars[i][axis + 2] - bars[i][axis]) for i in members}
            if len(members) >= 3 and len(lengths) >= 3:
                return True
    return False


STACK_SLACK_PT = 1.5
"""Segments of a stacked bar abut: each starts within this of where the one before it ends."""


PIE_MIN_WEDGES = 3
PIE_MAX_WEDGES = 64


def has_pie(atoms: Sequence[_Atom]) -> bool:
    """Three or more filled curved paths in different colours around one centre: a pie chart (layout class
    "pie chart": each wedge's box holds the centre of the pie's box, which is about square)."""
    wedges = _abutting([a for a in atoms if a.free_paths and a.path_count == 1 and a.colour is not None])
    if len(wedges) < PIE_MIN_WEDGES or len({a.colour for a in wedges}) < PIE_MIN_WEDGES:
        return False
    x0, y0 = min(a.box[0] for a in wedges), min(a.box[1] for a in wedges)
    x1, y1 = max(a.box[2] for a in wedges), max(a.box[3] for a in wedges)
    if not 0.8 <= (x1 - x0) / max(y1 - y0, 1e-6) <= 1.25:
        return False
    centre = ((x0 + x1) / 2, (y0 + y1) / 2)
    if all(centre_in((*centre, *centre), a.box, INSIDE_MARGIN_PT) for a in wedges):
        return True
    # A donut has a few segments; the ring test compares them pairwise.
    return len(wedges) <= PIE_MAX_WEDGES and _ring((x0, y0, x1, y1), [a.box for a in wedges])


AREA_MIN_LAYERS = 3
AREA_MIN_OVERLAP = 1 / 3
"""Two layers of a stacked area overlap in height by this share of the thinner one at least."""
AREA_LABEL_PT = 24.0
"""A stacked area's tick or category labels stand at most this far left of or below its layers."""


def has_stacked_area(atoms: Sequence[_Atom], lines: Sequence[Box] = ()) -> bool:
    """AREA_MIN_LAYERS or more filled polygons (free paths: slanted or curved edges) in different colours
    over one x-extent, each overlapping the next in height (:func:`_layered`), with a text line (tick or
    category labels) along the left or the bottom edge: the layers of a stacked area chart (layout class
    "stacked area chart", often drawn without axes or gridlines, so in 3-5 paths).

    A column of rounded boxes of one width (a flowchart) does not overlap in height; a pie's wedges have
    no one x-extent; ribbons overlapping by a few points (layout class "overlapping tag ribbons") overlap
    by too small a share; decorative waves (layout class "slide wave decoration": bands behind a title or
    bleeding off the page's bottom) carry no labels along their edges."""
    # A free path's fill shows as its colour (``fill`` is set for ruled paths only, as for pie wedges).
    layers = [a for a in atoms if a.free_paths and a.path_count == 1 and a.colour is not None]
    if len(layers) < AREA_MIN_LAYERS:
        return False
    for members in _same([a.box[0] for a in layers], 1.0).values():
        run = [layers[i] for i in members if abs(layers[i].box[2] - layers[members[0]].box[2]) <= 1.0]
        run.sort(key=lambda a: -a.box[3])  # from the bottom layer up
        if len(run) < AREA_MIN_LAYERS or len({a.colour for a in run}) < AREA_MIN_LAYERS:
            continue
        if _layered([a.box for a in run]) and _labelled(_extent_of([a.box for a in run]), lines):
            return True
    return False


def _layered(boxes: Sequence[Box]) -> bool:
    """Each layer (bottom up) shares the one under it's baseline (areas drawn from one axis) or overlaps
    it by AREA_MIN_OVERLAP of the thinner one's height (bands stacked on each other)."""
    for a, b in itertools.pairwise(boxes):
        overlap = min(a[3], b[3]) - max(a[1], b[1])
        thinner = min(a[3] - a[1], b[3] - b[1])
        if abs(a[3] - b[3]) > 1.0 and overlap < AREA_MIN_OVERLAP * thinner:
            return False
    return True


def _labelled(region: Box, lines: Sequence[Box]) -> bool:
    """Some text line stands within AREA_LABEL_PT below ``region`` (across its width) or left of it (across
    its height): where a chart's category or value labels go."""
    for line in lines:
        across = line[0] < region[2] and line[2] > region[0]
        beside = line[1] < region[3] and line[3] > region[1]
        if across and 0 <= line[1] - region[3] + INSIDE_MARGIN_PT <= AREA_LABEL_PT:
            return True
        if beside and 0 <= region[0] - line[2] + INSIDE_MARGIN_PT <= AREA_LABEL_PT:
            return True
    return False


PIE_SWATCH_CHECK_MAX = 4 * PIE_MAX_WEDGES
"""Curved filled paths of a drawing beyond this many are taken as they are (bounded pairwise work)."""


def _abutting(wedges: Sequence[_Atom]) -> list[_Atom]:
    """The candidate wedges that touch another one (within 1 pt). Layout class "pie with curved legend
    swatches": a chart library (ECharts printed by a browser) draws each legend swatch as a rounded
    rectangle in its wedge's colour, a curved filled path like the wedges but apart from them and from
    each other; a pie's wedges abut."""
    if len(wedges) > PIE_SWATCH_CHECK_MAX:
        return list(wedges)
    grown = [_grown(a.box, 1.0) for a in wedges]
    return [
        a
        for i, a in enumerate(wedges)
        if any(j != i and box_intersection(grown[i], other.box) > 0 for j, other in enumerate(wedges))
    ]


KEYED_LEGEND_REACH = 1.0
"""A chart's legend set apart stands at most this many of the plot's larger side away from it."""
KEYED_MAX = 8
"""Pages with more coloured charts or legends than this are left alone (the matching tries subsets)."""

Colour = tuple[float, ...]
Colours = frozenset[Colour]


def match_legends(
    charts: Sequence[tuple[Box, Colours]],
    legends: Sequence[tuple[Box, Colours]],
    round_plots: Sequence[bool] = (),
) -> dict[int, int]:
    """Layout class "legend set apart, keyed by colour": an office chart centres its plot in the frame and
    sets the legend at the frame's side or foot, up to a third of the frame away from the plot (past
    LABEL_MARGIN_PT), with nothing in between; its swatches repeat the plot's fill colours. Charts side by
    side in one palette each have their own, so the nearest chart is not always the owner (a legend at the
    left of its frame is nearer the chart on its left): each legend goes to one chart whose fill colours
    hold all its swatches' colours, within KEYED_LEGEND_REACH, beside it or over or under it (not off its
    corner; ``round_plots``: per chart, a pie or doughnut), matching as many as possible, then the least
    total distance. Returns chart index -> legend index; empty on pages of more than KEYED_MAX of either."""
    if not legends or len(charts) > KEYED_MAX or len(legends) > KEYED_MAX:
        return {}
    gaps = [
        [
            box_gap(legend, chart)
            if colours <= own
            and box_gap(legend, chart) <= KEYED_LEGEND_REACH * _longer_side(chart)
            and _level_or_in_column(legend, chart, k < len(round_plots) and round_plots[k])
            and not _chart_between(legend, k, charts)
            else None
            for legend, colours in legends
        ]
        for k, (chart, own) in enumerate(charts)
    ]

    @functools.cache
    def best(k: int, used: int) -> tuple[int, float, tuple[int, ...]]:
        """(-matched, total gap, legend per chart from k on, -1 for none) over legends not in ``used``."""
        if k == len(charts):
            return 0, 0.0, ()
        n, total, rest = best(k + 1, used)
        choice = (n, total, (-1, *rest))
        for j, gap in enumerate(gaps[k]):
            if gap is not None and not used >> j & 1:
                n, total, rest = best(k + 1, used | 1 << j)
                choice = min(choice, (n - 1, total + gap, (j, *rest)))
        return choice

    return {k: j for k, j in enumerate(best(0, 0)[2]) if j >= 0}


LEGEND_PAST_RIGHT_PT = 10.0
"""A legend over or under its chart ends at most this far right of the plot (it may start left of it, under
the category labels); a grid's one legend under its first column reaches on toward the next. A round
plot's legend is centred under it and may be wider."""


def _level_or_in_column(legend: Box, chart: Box, round_plot: bool = False) -> bool:
    """The legend stands beside the chart (level with it) or over or under it (in its column, not reaching
    past its right side unless it is a round plot's), not off its corner: a legend diagonally away is
    another chart's, or a grid's."""
    if min(legend[3], chart[3]) > max(legend[1], chart[1]):
        return True
    in_column = min(legend[2], chart[2]) > max(legend[0], chart[0])
    return in_column and (round_plot or legend[2] <= chart[2] + LEGEND_PAST_RIGHT_PT)


def _chart_between(legend: Box, k: int, charts: Sequence[tuple[Box, Colours]]) -> bool:
    """Another chart stands in the space between the legend and chart ``k`` (a grid's legend under its last
    row is not the legend of a chart a row higher)."""
    a, b = legend, charts[k][0]
    if min(a[2], b[2]) > max(a[0], b[0]):  # one over the other
        space = (max(a[0], b[0]), min(a[3], b[3]), min(a[2], b[2]), max(a[1], b[1]))
    elif min(a[3], b[3]) > max(a[1], b[1]):  # side by side
        space = (min(a[2], b[2]), max(a[1], b[1]), max(a[0], b[0]), min(a[3], b[3]))
    else:
        return False
    return any(j != k and box_intersection(box, space) > 0 for j, (box, _) in enumerate(charts))


def _longer_side(box: Box) -> float:
    return max(box[2] - box[0], box[3] - box[1])


def _ring(joint: Box, wedges: Sequence[Box]) -> bool:
    """Layout class "donut chart": ring segments leave the centre empty, so a short segment's box does not
    hold it; but every segment reaches the ring's outer edge (its box's far corner lies on or outside the
    circle the joint box holds), each abuts another, and together they reach all four sides."""
    cx, cy = (joint[0] + joint[2]) / 2, (joint[1] + joint[3]) / 2
    radius = min(joint[2] - joint[0], joint[3] - joint[1]) / 2
    sides = set()
    for box in wedges:
        far = max(math.hypot(x - cx, y - cy) for x in (box[0], box[2]) for y in (box[1], box[3]))
        if far < 0.95 * radius:
            return False
        sides |= {k for k in range(4) if abs(box[k] - joint[k]) <= 1.0}
    if len(sides) < 4:
        return False
    return all(
        any(other is not box and box_intersection(_grown(box, 1.0), other) > 0 for other in wedges)
        for box in wedges
    )


def _grown(box: Box, by: float) -> Box:
    return (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def has_stacked_bar(bars: Sequence[_Atom], lines: Sequence[Box] = ()) -> bool:
    """Three or more filled rectangles end to end, each coloured unlike the one before it, of one
    thickness and not all of one length: a stacked bar (layout class "100 % stacked bar": a survey answer
    split into its shares, one bar per panel).

    Shaded cells of a table row abut too, but in one colour; rows of text cells around the bar (besides
    the share labels printed inside its segments) make it a table all the same."""
    if len(bars) < 3:
        return False
    for axis in (0, 1):  # bars along x (rows), then along y (columns)
        across = 1 - axis
        bands = _same([b.box[across] + 1000 * round(b.box[across + 2]) for b in bars], 1.0)
        for members in bands.values():
            run = sorted((bars[i] for i in members), key=lambda b: b.box[axis])
            if _abutting_run(run, axis):
                outside = [ln for ln in lines if not any(centre_in(ln, b.box) for b in bars)]
                return not _text_rows(outside)
    return False


def _abutting_run(segments: Sequence[_Atom], axis: int) -> bool:
    """Three or more consecutive segments end to end along ``axis``, neighbours in different colours,
    not all of one length."""
    count, lengths = 0, set()
    for prev, seg in itertools.pairwise([None, *segments]):
        length = round(seg.box[axis + 2] - seg.box[axis])
        if prev and abs(seg.box[axis] - prev.box[axis + 2]) <= STACK_SLACK_PT and seg.colour != prev.colour:
            count, lengths = count + 1, lengths | {length}
        else:
            count, lengths = 1, {length}
        if count >= 3 and len(lengths) >= 2:
            return True
    return False


def _strokes(boxes: Sequence[Box]) -> tuple[list[Box], list[Box]]:
    horizontal = [b for b in boxes if b[3] - b[1] <= STROKE_PT < b[2] - b[0]]
    vertical = [b for b in boxes if b[2] - b[0] <= STROKE_PT < b[3] - b[1]]
    return horizontal, vertical


def axes_region(boxes: Sequence[Box], area: Box) -> Box | None:
    """The extent of an L of axes (long horizontal and vertical strokes meeting at a corner) or of 3+
    parallel gridlines of one length; None when the drawing has neither.

    A ruled table has both too: chart_evidence looks at what lies between them."""
    long_h, long_v = _long_strokes(boxes, area)
    found = [stroke for pair in _l_axes(long_h, long_v) for stroke in pair]
    found += [stroke for group in _gridline_groups(long_h, long_v) for stroke in group]
    return _extent_of(found) if found else None


def _long_strokes(boxes: Sequence[Box], area: Box) -> tuple[list[Box], list[Box]]:
    """Horizontal strokes 40 % of the area's width or longer, and vertical ones 40 % of its height."""
    horizontal, vertical = _strokes(boxes)
    width, height = area[2] - area[0], area[3] - area[1]
    long_h = [b for b in horizontal if b[2] - b[0] >= 0.4 * width]
    long_v = [b for b in vertical if b[3] - b[1] >= 0.4 * height]
    return long_h, long_v


def _gridline_groups(long_h: Sequence[Box], long_v: Sequence[Box]) -> list[list[Box]]:
    """Groups of 3+ parallel strokes of one length (same start and end within 2 pt): gridlines."""
    groups = []
    for strokes, lo, hi in ((long_h, 0, 2), (long_v, 1, 3)):
        ends = _same([b[lo] + 1000 * round(b[hi]) for b in strokes], 2.0)
        groups += [[strokes[i] for i in members] for members in ends.values() if len(members) >= 3]
    return groups


def _l_axes(long_h: Sequence[Box], long_v: Sequence[Box]) -> list[tuple[Box, Box]]:
    """(x axis, y axis) pairs: a vertical stroke standing on a horizontal one at either of its ends."""
    return [
        (h, v)
        for h in long_h
        for v in long_v
        if abs(v[3] - h[1]) <= 4 and (abs(v[0] - h[0]) <= 4 or abs(v[2] - h[2]) <= 4)
    ]


def _extent_of(boxes: Sequence[Box]) -> Box:
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def _near_any(value: float, positions: Sequence[float]) -> bool:
    return any(abs(value - p) <= 2.0 for p in positions)


def _bar_fills(region: Box, strokes: Sequence[Box], fills: Sequence[Box]) -> bool:
    """Some coloured fill between the rules is a bar, not a table cell's or row's shading.

    Shading fills a cell (each edge on a rule or on the ruled region's edge) or a whole row or column
    band (>= 95 % of the region across); a bar ends where its value does, between the rules."""
    horizontal, vertical = _strokes(strokes)
    xs = [region[0], region[2]] + [(v[0] + v[2]) / 2 for v in vertical]
    ys = [region[1], region[3]] + [(h[1] + h[3]) / 2 for h in horizontal]
    width, height = region[2] - region[0], region[3] - region[1]
    for f in fills:
        if not centre_in(f, region, INSIDE_MARGIN_PT):
            continue
        cell = _near_any(f[0], xs) and _near_any(f[2], xs) and _near_any(f[1], ys) and _near_any(f[3], ys)
        band = f[2] - f[0] >= 0.95 * width or f[3] - f[1] >= 0.95 * height
        if not (cell or band):
            return True
    return False


def is_text_grid(lines: Sequence[Box]) -> bool:
    """Text laid out as a table: at least 3 rows holding 2 or more cells that start at shared x positions."""
    rows: dict[int, list[Box]] = {}
    for box in lines:
        rows.setdefault(round((box[1] + box[3]) / 2 / 4), []).append(box)
    multi = [row for row in rows.values() if len(row) >= 2]
    if len(multi) < 3:
        return False
    starts: dict[int, int] = defaultdict(int)
    for row in multi:
        for x in {round(box[0] / 6) for box in row}:
            starts[x] += 1
    return sum(1 for count in starts.values() if count >= 3) >= 2


def chart_evidence(
    atoms: Sequence[_Atom], area: Box, lines: Sequence[Box] = (), labels: Sequence[Box] | None = None
) -> bool:
    """The drawing holds what charts are made of: a bar series, or axes or gridlines with a plotted series
    (a curved or slanted path: a line, markers) or with bars between them, or with nothing but loose
    labels between them.

    Axes and gridlines without a curved path are a chart or a ruled table: what lies between the rules
    decides (layout class "bar chart on gridlines" vs "ruled table", :func:`ruled_table`)."""
    bars = [a for a in atoms if a.bar]
    if has_bar_series([a.box for a in bars]) or has_stacked_bar(bars, lines) or has_pie(atoms):
        return True
    if has_stacked_area(atoms, lines if labels is None else labels):
        return True
    strokes = [a.box for a in atoms if a.path_count == 1]
    region = axes_region(strokes, area)
    if region is None:
        return False
    if any(a.free_paths for a in atoms):
        return True
    return not _table_between(region, strokes, atoms, lines)


CHART_MIN_PATHS = 6
"""A drawing of fewer paths is a chart only when it is a stacked bar, a pie, a few spaced bars, a stacked
area or axes with a series (:func:`is_chart`)."""


def is_chart(
    atoms: Sequence[_Atom], area: Box, lines: Sequence[Box] = (), labels: Sequence[Box] | None = None
) -> bool:
    """Chart evidence (:func:`chart_evidence`) in a drawing of CHART_MIN_PATHS paths or more; under that, a
    lone stacked bar (a 100 % bar of a survey panel: its legend and labels lie apart from it), a pie, a few
    spaced bars, a stacked area, or axes with a series (:func:`has_axes_and_series`).

    ``lines`` are the text lines on the drawing; ``labels`` those within AREA_LABEL_PT of it too, where a
    stacked area's labels are looked for (``lines`` when None)."""
    if sum(a.path_count for a in atoms) >= CHART_MIN_PATHS:
        return chart_evidence(atoms, area, lines, labels)
    bars = [a for a in atoms if a.bar]
    if has_stacked_bar(bars, lines) or has_pie(atoms) or has_spaced_bars([a.box for a in bars]):
        return True
    return has_stacked_area(atoms, lines if labels is None else labels) or has_axes_and_series(atoms, area)


SERIES_MIN_SPAN = 0.6
"""A sparse chart's series runs over this share of its plot's width at least: 3 points at category
centres span 2/3, a signature over form lines about half (two reviews)."""


def has_axes_and_series(atoms: Sequence[_Atom], area: Box) -> bool:
    """Axes with a plotted series on them, drawn in fewer paths than CHART_MIN_PATHS: layout classes
    "sparse line chart" (an L of two axis lines, one to three series, tick labels, no gridlines) and
    "line chart on a few gridlines" (3+ parallel gridlines of one length, no axis lines). The series is a
    curved or slanted path inside the plot (the L's corner to the ends of its arms, or the gridlines'
    extent) spanning SERIES_MIN_SPAN of its width.

    A free path outside the plot or short across it is page furniture (layout classes "signature box":
    a scribble over a rule or over a form's field lines of one length; "pull quote": a quote mark in
    an L of rules; "framed paragraph with a brace" beside the frame)."""
    series = [a.box for a in atoms if a.free_paths]
    if not series:
        return False
    long_h, long_v = _long_strokes([a.box for a in atoms if a.path_count == 1], area)
    plots = [(h[0], v[1], h[2], h[3]) for h, v in _l_axes(long_h, long_v)]
    plots += [_extent_of(group) for group in _gridline_groups(long_h, long_v)]
    for plot in plots:
        span = SERIES_MIN_SPAN * (plot[2] - plot[0])
        if any(_inside(b, plot) and b[2] - b[0] >= span for b in series):
            return True
    return False


def _inside(box: Box, region: Box) -> bool:
    """``box`` lies within ``region`` give or take INSIDE_MARGIN_PT on every side."""
    m = INSIDE_MARGIN_PT
    return (
        box[0] >= region[0] - m
        and box[1] >= region[1] - m
        and box[2] <= region[2] + m
        and box[3] <= region[3] + m
    )


def has_spaced_bars(bars: Sequence[Box]) -> bool:
    """Three to five bars of one thickness on a common baseline, of three or more lengths, at a regular
    pitch (layout class "short bar chart": a survey answer's few options, no axes, so fewer paths than
    CHART_MIN_PATHS). Boxes of a diagram seldom stand at one pitch with three lengths from one edge."""
    if len(bars) < 3:
        return False
    for axis, base in ((0, [b[0] for b in bars]), (1, [b[3] for b in bars])):  # rows, then columns
        across = 1 - axis
        for members in _same(base, 1.0).values():
            run = sorted((bars[i] for i in members), key=lambda b: b[across])
            thick = {round(b[across + 2] - b[across]) for b in run}
            lengths = {round(b[axis + 2] - b[axis]) for b in run}
            steps = [b[across] - a[across] for a, b in itertools.pairwise(run)]
            regular = bool(steps) and max(steps) - min(steps) <= 1.5 and min(steps) > 0
            if len(run) >= 3 and len(thick) == 1 and len(lengths) >= 3 and regular:
                return True
    return False


SPACED_BAR_GAP_SHARE = 2.0
"""Bars of one chart stand at most this many bar thicknesses apart (Excel's default gap is 1.5)."""


def spaced_bar_runs(bars: Sequence[Box]) -> list[list[int]]:
    """Runs of bars (indices into ``bars``) that make one chart without axes: three or more of one
    thickness on a common base edge (the left for bars, the bottom for columns), one after another at a
    regular pitch, the gaps at most SPACED_BAR_GAP_SHARE thicknesses, of three or more lengths (layout
    class "spaced bar chart": category names on one side, values at the bar ends, bars further apart than
    the clustering gap). A table's zebra stripes share one length and stay out. O(n log n)."""
    runs: list[list[int]] = []
    used: set[int] = set()
    for axis, base in ((0, [b[0] for b in bars]), (1, [b[3] for b in bars])):  # bars, then columns
        across = 1 - axis
        for members in _same(base, 1.0).values():
            free = [i for i in members if i not in used]
            for same_thickness in _same([bars[i][across + 2] - bars[i][across] for i in free], 1.0).values():
                ordered = sorted((free[k] for k in same_thickness), key=lambda i: bars[i][across])
                for run in _pitch_runs(ordered, bars, axis):
                    runs.append(run)
                    used.update(run)
    return runs


def _pitch_runs(run: list[int], bars: Sequence[Box], axis: int) -> list[list[int]]:
    """``run`` (bars of one base and thickness, in order across) cut where a gap exceeds
    SPACED_BAR_GAP_SHARE thicknesses; the pieces that are a bar chart (3+ bars, 3+ lengths, one pitch)."""
    across = 1 - axis
    pieces: list[list[int]] = []
    for i in run:
        thick = bars[i][across + 2] - bars[i][across]
        if pieces and bars[i][across] - bars[pieces[-1][-1]][across + 2] <= SPACED_BAR_GAP_SHARE * thick:
            pieces[-1].append(i)
        else:
            pieces.append([i])
    found = []
    for piece in pieces:
        steps = [bars[b][across] - bars[a][across] for a, b in itertools.pairwise(piece)]
        lengths = {round(bars[i][axis + 2] - bars[i][axis]) for i in piece}
        if len(piece) >= 3 and len(lengths) >= 3 and min(steps) > 0 and max(steps) - min(steps) <= 1.5:
            found.append(piece)
    return found


def ruled_table(atoms: Sequence[_Atom], area: Box, lines: Sequence[Box]) -> bool:
    """Rules (no curved path) with rows of text cells between them and no bars: a table set as text.

    ``lines``: the boxes of the text lines near the drawing."""
    if any(a.free_paths for a in atoms):
        return False
    strokes = [a.box for a in atoms if a.path_count == 1]
    region = axes_region(strokes, area)
    return region is not None and _table_between(region, strokes, atoms, lines)


def _table_between(region: Box, strokes: Sequence[Box], atoms: Sequence[_Atom], lines: Sequence[Box]) -> bool:
    """Coloured fills that are no cell or row shading are bars: no table. Otherwise rows of text cells
    between the rules make a table; nothing, or loose labels, a chart's plot area."""
    if _bar_fills(region, strokes, [a.box for a in atoms if a.fill]):
        return False
    return _text_rows([b for b in lines if centre_in(b, region, INSIDE_MARGIN_PT)])


def _text_rows(lines: Sequence[Box]) -> bool:
    """Three or more rows holding two or more text cells each (centred cell text included): the cells of
    a ruled table, where a chart's plot area holds at most a label per bar or a legend. Cell text is often
    centred (the corpus's slide tables), so the rows are counted, not shared column starts."""
    rows: dict[int, int] = defaultdict(int)
    for box in lines:
        rows[round((box[1] + box[3]) / 2 / 4)] += 1
    return sum(1 for count in rows.values() if count >= 2) >= 3


def _extent(atoms: Sequence[_Atom]) -> Box:
    return _extent_of([a.box for a in atoms])


def _is_panel(atoms: Sequence[_Atom], lines: Sequence[Box], min_pt: float) -> bool:
    box = _extent(atoms)
    if box[2] - box[0] < min_pt or box[3] - box[1] < min_pt:
        return False
    return is_chart(atoms, box, lines)


def _gutters(atoms: Sequence[_Atom], lines: Sequence[Box], axis: int) -> list[tuple[float, float]]:
    """Free bands (start, end) along one axis, widest first: no atom or text line crosses them."""
    spans = sorted([(a.box[axis], a.box[axis + 2]) for a in atoms] + [(b[axis], b[axis + 2]) for b in lines])
    found: list[tuple[float, float]] = []
    reach = spans[0][1]
    for start, end in spans[1:]:
        if start - reach >= GUTTER_PT:
            found.append((reach, start))
        reach = max(reach, end)
    found.sort(key=lambda g: g[1] - g[0], reverse=True)
    return found[:MAX_GUTTERS_TRIED]


def _cut(atoms: list[_Atom], lines: list[Box], min_pt: float, depth: int) -> list[list[_Atom]]:
    if depth >= MAX_CUT_DEPTH or len(atoms) < 12:
        return [atoms]
    for axis in (1, 0):  # rows first: a wide panel under two narrow ones
        for lo, hi in _gutters(atoms, lines, axis):
            middle = (lo + hi) / 2
            first = [a for a in atoms if a.box[axis + 2] <= middle]
            second = [a for a in atoms if a.box[axis] >= middle]
            before = [ln for ln in lines if ln[axis + 2] <= middle]
            after = [ln for ln in lines if ln[axis] >= middle]
            if _bar_pitch_gap(first, second, axis, hi - lo):
                continue
            if _is_panel_group(first, before, min_pt) and _is_panel_group(second, after, min_pt):
                return _cut(first, before, min_pt, depth + 1) + _cut(second, after, min_pt, depth + 1)
    return [atoms]


def _bar_pitch_gap(first: Sequence[_Atom], second: Sequence[_Atom], axis: int, width: float) -> bool:
    """The gutter is no wider than the gaps between the bars inside either side (layout class "bar chart
    with spaced rows": a survey chart's bars stand a bar's height apart, a cut between them would halve
    one chart; two panels stand farther apart, their titles and legends between them)."""
    inner = max(_largest_bar_gap(first, axis), _largest_bar_gap(second, axis))
    return inner > 0 and width <= BAR_PITCH_SLACK * inner


BAR_PITCH_SLACK = 1.5


def _largest_bar_gap(atoms: Sequence[_Atom], axis: int) -> float:
    """The widest gap along ``axis`` between consecutive rows (or columns) of bars; 0 with fewer than two."""
    spans = sorted({(round(a.box[axis], 1), round(a.box[axis + 2], 1)) for a in atoms if a.bar})
    largest, reach = 0.0, None
    for start, end in spans:
        if reach is not None and start > reach:
            largest = max(largest, start - reach)
        reach = end if reach is None else max(reach, end)
    return largest


def _is_panel_group(atoms: list[_Atom], lines: Sequence[Box], min_pt: float) -> bool:
    """Some chart panel lies in this group (it may be a row of several, cut further later)."""
    return bool(atoms) and _is_panel(atoms, lines, min_pt)


def split_panels(cluster: Cluster, line_boxes: Sequence[Box], min_pt: float) -> list[list[Cluster]]:
    """The atoms of a drawing cluster grouped by panel; one group when the drawing is not a chart grid.

    Backdrops (paths covering much of the cluster) are left out of the panels when the cluster splits.
    """
    atoms = cluster.atoms or [cluster]
    if len(atoms) < 12:
        return [atoms]
    whole = box_area(cluster.box)
    inner = [a for a in atoms if a.image_area > 0 or box_area(a.box) < BACKDROP_SHARE * whole]
    if not inner:
        return [atoms]
    extent = _extent(inner)
    lines = [b for b in line_boxes if box_intersection(extent, b) >= 0.8 * box_area(b)]
    parts = _cut(inner, lines, min_pt, 0)
    return parts if len(parts) > 1 else [atoms]


TITLE_SIZE_RATIO = 1.15
"""A regular-weight title is at least this much larger than the panel's labels."""


def _title_like(line: TextLine, least: float) -> bool:
    """Short, with letters, written along the page, and bold or at least ``least`` points. A turned line
    (layout class "slanted category labels": an office chart turns long category names 45 degrees under
    its axis; an axis title runs up its side) is no title."""
    if line.turned:
        return False
    words = line.text.split()
    letters = sum(ch.isalpha() for ch in line.text)
    if not words or len(words) > TITLE_MAX_WORDS or len(line.text) > TITLE_MAX_CHARS or letters < 3:
        return False
    return line.bold or line.size >= least


CENTRED_TITLE_REACH = 0.25
"""A chart's centred title may stand this share of the chart's height above it (``_centred_far_above``)."""
ROUND_TITLE_REACH = 1.0
"""A pie's or doughnut's centred title may stand this share of its height above it: in a frame taller than
wide (a column of a slide's grid) the round plot, as wide as the frame allows, is centred in the height
left under the title, any distance under it."""


def ranked_panel_title(
    graphic: Box,
    lines: Sequence[TextLine],
    held: Sequence[TextLine],
    inside: bool = True,
    framed: bool = False,
    others: Sequence[Box] = (),
    label_size: float | None = None,
    round_plot: bool = False,
) -> tuple[float, TextLine] | None:
    """The panel's own title: right above its drawing (nearest first) or inside its top, over the panel,
    with its rank (its distance above the drawing in points; a line inside the top ranks after every line
    above, a line above a frame after every line inside it).

    ``inside``: also look inside the top of the drawing (charts; in a diagram such a line is a node's
    label, not the figure's title). ``framed``: the drawing is a frame or card around the panel (layout
    class "framed chart panel"): a title inside its top is the panel's own and comes before any line
    above the frame (the page title over the first row of cards). ``others``: the page's other drawings;
    a chart's left-aligned title may reach past its right side over none of them (layout class "narrow
    chart under a long title": a pie under its survey question).

    ``lines``: candidate lines near the panel (body text, captions and the page title already left out);
    ``held``: the panel's label lines, whose usual size a title must exceed unless it is bold.
    ``label_size``: when the labels are not text (a picture's are pixels), the size a regular-weight
    title must reach instead (the document's body size; the lines over the picture are its title).
    ``round_plot``: the chart is a pie or doughnut (``has_pie``), centred in its frame under a title that
    is centred on it far above it (ROUND_TITLE_REACH) or set at the frame's left (``_left_over_round``).
    """
    least = _least_title_size(lines, held, label_size)
    height = graphic[3] - graphic[1]
    # a frame's title lies in its top: in a short frame (a landscape page's stack of panels) that is more
    # than TITLE_INSIDE_SHARE of its height
    top = max(TITLE_INSIDE_SHARE * height, TITLE_ABOVE_PT if framed else 0.0)
    best: tuple[float, TextLine] | None = None
    for line in lines:
        box = line.box
        placed = _placed(box, graphic, inside, others)
        placed = placed or (round_plot and _left_over_round(box, graphic, others))
        if not placed or not _title_like(line, least):
            continue
        if _in_label_row(line, graphic, lines):
            continue
        above = graphic[1] - box[3]
        depth = box[1] - graphic[1]
        if -4 <= above <= TITLE_ABOVE_PT:
            rank = above + (2 * TITLE_ABOVE_PT if framed else 0)
        elif inside and depth >= 0 and box[3] <= graphic[1] + top:
            rank = TITLE_ABOVE_PT + depth
        elif (bottom := base_lines_bottom(line, lines)) is not None and (
            -4 <= graphic[1] - bottom <= TITLE_ABOVE_PT
        ):
            # ranked by its own distance: a base line that is title-like itself ranks first (and gives
            # way to this title, _over_subtitle); a page title over a panel's title never ranks level
            rank = above + (2 * TITLE_ABOVE_PT if framed else 0)
        elif inside and _centred_far_above(line, graphic, lines, others, round_plot):
            rank = above
        else:
            continue
        if best is None or rank < best[0]:
            best = (rank, line)
    return (best[0], _over_subtitle(best[1], lines, least)) if best else None


def _centred_far_above(
    line: TextLine, graphic: Box, lines: Sequence[TextLine], others: Sequence[Box], round_plot: bool
) -> bool:
    """Layout class "office pie under its centred chart title": a chart tool centres the title on the chart
    and the pie (doughnut) in the space under it, so a round plot in a tall frame leaves a gap wider than
    TITLE_ABOVE_PT. Such a line is the chart's title when centred on it (``_same_middle``), at most
    CENTRED_TITLE_REACH of its height above it, with no other line or drawing in between. Above a round
    plot (``round_plot``) the line may stand ROUND_TITLE_REACH of its height above it, placed as any title
    (centred, left-aligned, or at the frame's left: a title text box at the frame's top)."""
    box = line.box
    above = graphic[1] - box[3]
    reach = ROUND_TITLE_REACH if round_plot else CENTRED_TITLE_REACH
    if not TITLE_ABOVE_PT < above <= reach * (graphic[3] - graphic[1]):
        return False
    if not round_plot and not _same_middle(box, graphic):
        return False
    band = (min(box[0], graphic[0]), box[3] + 1, max(box[2], graphic[2]), graphic[1] - 1)
    return not any(
        other is not line and box_intersection(other.box, band) > 0 for other in lines
    ) and not any(box_intersection(o, band) > 0 for o in others)


ROUND_TITLE_ACROSS = 0.25
"""A title set at a round plot's frame's left reaches at least this share across the plot."""


def _left_over_round(box: Box, graphic: Box, others: Sequence[Box]) -> bool:
    """Layout class "title at the frame's left over a round plot": an office chart centres its pie or
    doughnut in a frame wider than the plot, and a title text box set at the frame's left edge starts far
    left of the plot. Such a line is placed as the plot's title when it ends over the plot (ROUND_TITLE_ACROSS
    of its width across, not past its right side) and its part left of the plot lies over no other drawing
    (in the rows from the line down to the plot's foot: the next chart of a row)."""
    width = graphic[2] - graphic[0]
    if not graphic[0] + ROUND_TITLE_ACROSS * width <= box[2] <= graphic[2] + 4:
        return False
    return not _left_of(box, graphic, others)


def caption_title(caption: Sequence[TextLine], graphic: Box, held: Sequence[TextLine]) -> list[TextLine]:
    """Layout class "numbered chart title": a report sets "Figure 3: Share of ..." (or "Exhibit 3.") right
    over its chart as the chart's title. The caption's first line and the lines it wraps over in its style
    are the figure's title when the caption stands over the graphic and those lines read as a panel title
    (each title-like against the graphic's labels ``held``); a smaller base line under them stays out. A
    caption under its figure, or set as running text, gives none."""
    if not caption or caption[-1].box[3] > max(graphic[1] + 3, (graphic[1] + graphic[3]) / 2):
        return []  # under its figure (over it: above the graphic, or inside the top of its frame)
    title = wrapped_title(caption[0], caption)
    least = _least_title_size(caption, held, None)
    # the label's word and number ("Fig. 3") count as no words of the title: a long survey question after
    # them is still a title
    first = replace(title[0], text=" ".join(title[0].text.split()[2:]))
    if title[0] is not caption[0] or not all(_title_like(line, least) for line in (first, *title[1:])):
        return []
    return title


def _least_title_size(lines: Sequence[TextLine], held: Sequence[TextLine], label_size: float | None) -> float:
    """The size a regular-weight title must reach: TITLE_SIZE_RATIO times the labels' usual size."""
    if label_size is not None:
        return label_size
    sizes = [ln.size for ln in held] or [ln.size for ln in lines]
    return TITLE_SIZE_RATIO * (statistics.median(sizes) if sizes else 0.0)


def _placed(box: Box, graphic: Box, inside: bool, others: Sequence[Box]) -> bool:
    """A line lies over (or under) the graphic as its title does: across it, left-aligned with it, or (for
    a chart, ``inside``) centred on it."""
    width = box[2] - box[0]
    if width <= 0:
        return False
    # A left-aligned title may start a little left of the plot (at the panel's edge, where short category
    # labels leave the plot indented); it never reaches past its right side (a page title over panels).
    slack = max(4.0, TITLE_SIDE_SLACK * (graphic[2] - graphic[0]))
    over = min(box[2], graphic[2] + 4) - max(box[0], graphic[0] - 4)
    left_aligned = graphic[0] - slack <= box[0] and (
        box[2] <= graphic[2] + 4
        or (inside and box[0] <= graphic[0] + slack and not _overhangs(box, graphic, others))
    )
    indented = inside and graphic[0] - TITLE_INDENT_PT <= box[0] and box[2] <= graphic[2] + 4
    indented = indented and not _left_of(box, graphic, others)
    return over >= 0.9 * width or left_aligned or indented or (inside and _centred_over(box, graphic))


TITLE_INDENT_PT = 72.0
"""A chart's title may start this far left of its plot (an inch: layout class "indented chart")."""


def _left_of(box: Box, graphic: Box, others: Sequence[Box]) -> bool:
    """Another drawing lies left of ``graphic``, in the rows from ``box`` (a title starting left of it) down
    to its foot: a title over an indented chart is over nothing else (the chart's indent is blank)."""
    left = (box[0], box[1], graphic[0] - 4, graphic[3])
    return any(o != graphic and box_intersection(left, o) > 0 for o in others)


TITLE_BELOW_PT = 14.0
"""A chart's title under it starts at most this far below its lowest mark or label."""
NOTE_PREFIXES = ("source", "sources", "base", "note", "notes", "n=", "n =")
"""A line under a chart that starts with one of these (case ignored) is a note on its data, no title."""


def title_below(
    graphic: Box,
    lines: Sequence[TextLine],
    held: Sequence[TextLine],
    others: Sequence[Box] = (),
    swatches: Sequence[Box] = (),
) -> tuple[float, TextLine] | None:
    """Layout class "title under the chart": the first title-like line under a chart's foot (its lowest
    mark, or the axis labels and legend rows under it, each within TITLE_BELOW_PT of the last), placed
    under it as a title is over it, with its gap below the foot. A note on the data ("Source: ...",
    "Base: ...") is never the title, nor a legend entry (in a row of its style, or right of a swatch of
    ``swatches``: the last entry of a wrapped legend row stands alone). Whether the line heads the text
    under it instead (a section heading after a figure) is the caller's question: it knows the body
    text."""
    least = _least_title_size(lines, held, None)
    foot = max([graphic[3], *(ln.box[3] for ln in held)])
    across = [ln for ln in lines if min(ln.box[2], graphic[2]) > max(ln.box[0], graphic[0])]
    for line in sorted((ln for ln in across if ln.box[1] >= foot - 2), key=lambda ln: ln.box[1]):
        gap = line.box[1] - foot
        if gap > TITLE_BELOW_PT:
            return None
        note = line.text.strip().lower().startswith(NOTE_PREFIXES)
        titled = _placed(line.box, graphic, True, others) and _title_like(line, least)
        entry = _in_label_row(line, graphic, lines) or _nearer_on_left(line.box, SWATCH_GAP_PT, swatches)
        if titled and not note and not entry:
            return gap, line
        foot = max(foot, line.box[3])  # axis labels, a legend row: the chart goes on under them
    return None


def title_left(
    graphic: Box,
    lines: Sequence[TextLine],
    held: Sequence[TextLine],
    drawing: Box | None = None,
    others: Sequence[Box] = (),
    swatches: Sequence[Box] = (),
) -> tuple[float, TextLine] | None:
    """Layout class "title left of the chart": the topmost title-like line in a column left of the chart's
    ``drawing`` (its marks; ``graphic`` is it widened to its labels), at most the graphic's width left of
    it with no other drawing between, starting level with the graphic's top (at most TITLE_ABOVE_PT over
    it, at most TITLE_INSIDE_SHARE of its height and half of it under it); with how far from the top it
    starts (its rank against a title over or under the chart). A
    line with another drawing (``others``) level with it and nearer on its left, or right under it, is that
    one's, a line
    right of a legend swatch (``swatches``, within SWATCH_GAP_PT) a legend entry, and a line in a row or a
    column of lines of its style a legend entry or a category label."""
    drawing = drawing or graphic
    least = _least_title_size(lines, held, None)
    width, height, middle = graphic[2] - graphic[0], graphic[3] - graphic[1], (graphic[1] + graphic[3]) / 2
    best: tuple[float, TextLine] | None = None
    for line in lines:
        box = line.box
        gap = max(0.0, graphic[0] - box[2])
        level = graphic[1] - TITLE_ABOVE_PT <= box[1] <= min(middle, graphic[1] + TITLE_INSIDE_SHARE * height)
        if box[2] > drawing[0] + 2 or gap > width or not level:
            continue
        between = (box[2], box[1], drawing[0], box[3])
        if any(o not in (graphic, drawing) and box_intersection(between, o) > 0 for o in others):
            continue
        if over_another(box, (graphic, drawing), others):
            continue
        if _nearer_on_left(box, gap, others) or _nearer_on_left(box, SWATCH_GAP_PT, swatches):
            continue
        if not _title_like(line, least):
            continue
        if _in_label_column(line, graphic, lines) or _in_label_row(line, graphic, lines):
            continue
        if best is None or box[1] < best[1].box[1]:
            best = (abs(graphic[1] - box[1]), line)
    return best


def _in_label_column(line: TextLine, graphic: Box, lines: Sequence[TextLine]) -> bool:
    """Another line of ``line``'s style, of another text block, starts where it starts, under it and level
    with the graphic (layout class "left-aligned category labels": a bar chart's labels in a column left of
    its bars; a title's wrapped lines are of its own block)."""
    box = line.box
    return any(
        other.block != line.block
        and same_style(other, line)
        and abs(other.box[0] - box[0]) <= 2.0
        and box[3] <= other.box[1] <= graphic[3]
        for other in lines
    )


SWATCH_GAP_PT = 6.0
"""A legend entry's name starts at most this far right of its swatch."""


def over_another(box: Box, own: Sequence[Box], others: Sequence[Box]) -> bool:
    """Another drawing stands right under ``box`` (within TITLE_ABOVE_PT), across it: the line is over
    that one (its title, or a lead-in paragraph over the page's charts), not left of this one."""
    return any(
        o not in own and min(box[2], o[2]) > max(box[0], o[0]) and 0 <= o[1] - box[3] <= TITLE_ABOVE_PT
        for o in others
    )


def _nearer_on_left(box: Box, gap: float, others: Sequence[Box]) -> bool:
    """A drawing level with ``box`` ends on its left less than ``gap`` from it."""
    for mark in others:
        level = min(box[3], mark[3]) - max(box[1], mark[1]) > 0
        if level and mark[2] <= box[0] + 2 and box[0] - mark[2] < gap:
            return True
    return False


def _over_subtitle(line: TextLine, lines: Sequence[TextLine], least: float) -> TextLine:
    """The title above ``line`` when ``line`` is its subtitle (layout class "titled chart with a base line":
    "Base: all respondents (n=1,234)" or "Share of respondents, %" under a bold or larger title, in its
    text block, or a block of its own left-aligned with it: a web page's title and subtitle are two HTML
    elements): the line right above it, bold where it is not or larger, and title-like."""
    height = line.box[3] - line.box[1]
    for upper in lines:
        gap = line.box[1] - upper.box[3]
        # in a block of its own, a subtitle is set regular (a bold line there is a title itself: a
        # panel's title under the page title)
        aligned = upper.block == line.block or (
            not line.bold and abs(upper.box[0] - line.box[0]) <= ALIGNED_PT
        )
        if not aligned or not -0.3 * height <= gap <= 0.8 * height:
            continue
        stronger = (upper.bold and not line.bold) or upper.size >= 1.1 * line.size
        if stronger and _title_like(upper, least):
            return _over_subtitle(upper, lines, least)
    return line


ALIGNED_PT = 1.0
"""Two lines whose left edges lie this close are left-aligned (one column of a page's text)."""
BASE_LINES_MAX = 2
BASE_LINE_OVERLAP = 0.3
"""Lines set tight overlap: a base line's box may start this share of the line above's height inside it."""


def base_lines_bottom(line: TextLine, lines: Sequence[TextLine]) -> float | None:
    """The foot of the base lines right under ``line`` (layout class "titled chart with a base line", the
    chart set under both: a card on a web page stacks its title, a smaller "Base: ..." or subtitle line,
    then the chart, whose first mark may stand TITLE_ABOVE_PT under the base line, not under the title):
    up to BASE_LINES_MAX lines, each left-aligned with it, weaker (smaller, or regular under a bold
    title) and right under the one before. None when there is none."""
    bottom, last = None, line
    for _ in range(BASE_LINES_MAX):
        height = last.box[3] - last.box[1]
        under = [
            other
            for other in lines
            if other is not last
            and abs(other.box[0] - line.box[0]) <= ALIGNED_PT
            and other.box[1] > last.box[1]
            and -BASE_LINE_OVERLAP * height <= other.box[1] - last.box[3] <= 0.8 * height
            and (other.size < 0.95 * line.size or (line.bold and not other.bold))
        ]
        if not under:
            break
        last = min(under, key=lambda other: other.box[1])
        bottom = last.box[3]
    return bottom


def _overhangs(box: Box, graphic: Box, others: Sequence[Box]) -> bool:
    """The part of a title past the graphic's right side lies over another drawing (in the rows from the
    title down to the graphic's foot): a line over several panels, not one panel's title. (Only a line
    that starts at the graphic's left edge is asked: one starting inside it and reaching out is another
    panel's label.)"""
    past = (graphic[2] + 4, box[1], box[2], graphic[3])
    return any(o != graphic and box_intersection(past, o) > 0 for o in others)


def wrapped_title(line: TextLine, lines: Sequence[TextLine]) -> list[TextLine]:
    """``line`` (a title) with the lines it wraps over: lines of its text block in its style (bold alike,
    same size), each right above or below the last (layout class "wrapped panel title": a survey question
    set over two or three lines), at most TITLE_MAX_LINES, in reading order. A line of another block joins
    when centred on the same middle (layout class "office chart title, wrapped and centred": LibreOffice
    writes each line of a chart's wrapped title as a text block of its own)."""
    kin = [
        other
        for other in lines
        if same_style(other, line) and (other.block == line.block or _same_middle(other.box, line.box))
    ]
    kin.sort(key=lambda other: other.box[1])
    at = next(i for i, other in enumerate(kin) if other is line)
    first = last = at
    while first > 0 and _wraps(kin[first - 1], kin[first]) and last - first + 1 < TITLE_MAX_LINES:
        first -= 1
    while last + 1 < len(kin) and _wraps(kin[last], kin[last + 1]) and last - first + 1 < TITLE_MAX_LINES:
        last += 1
    return kin[first : last + 1]


CENTRE_SLACK = 0.5
"""Two lines centred alike: their middles at most this share of a line's height apart (a trailing space
kept in a line's box moves its middle by a quarter of a character)."""


def _same_middle(a: Box, b: Box) -> bool:
    return abs((a[0] + a[2]) - (b[0] + b[2])) / 2 <= CENTRE_SLACK * (a[3] - a[1])


def _wraps(upper: TextLine, lower: TextLine) -> bool:
    """``lower`` continues ``upper``: right under it (a gap under 60 % of a line), overlapping it across."""
    height = upper.box[3] - upper.box[1]
    gap = lower.box[1] - upper.box[3]
    across = min(upper.box[2], lower.box[2]) - max(upper.box[0], lower.box[0])
    return -0.5 * height <= gap <= 0.6 * height and across > 0


KPI_VALUE_SIZE = 1.6
"""A KPI tile's value is set at least this much larger than the tile's other lines (its label)."""
KPI_VALUE_MAX_CHARS = 8
KPI_VALUE_MAX_LETTERS = 2
"""... and is a short number: "33%", "2,612", "6.8x", "$1.2M"."""


def kpi_value(lines: Sequence[TextLine]) -> bool:
    """Layout class "KPI tiles": the lines inside a tinted tile hold one value, a short number set much
    larger than the others (its label, its change since last period). A card behind several tiles holds
    several."""
    return one_kpi_value([(line.text, line.size) for line in lines])


def one_kpi_value(lines: Sequence[tuple[str, float]]) -> bool:
    """:func:`kpi_value` on (text, size) pairs: a PDF tile's lines or a slide shape's paragraphs."""
    values = 0
    for k, (text, size) in enumerate(lines):
        others = [other for j, (_, other) in enumerate(lines) if j != k]
        text = text.strip()
        if others and is_number(text) and len(text) <= KPI_VALUE_MAX_CHARS:
            values += size >= KPI_VALUE_SIZE * statistics.median(others)
    return values == 1


def is_number(text: str) -> bool:
    """A figure, not words: a digit and at most KPI_VALUE_MAX_LETTERS letters ("33%", "6.8x", "$1.2M")."""
    return any(ch.isdigit() for ch in text) and _letters(text) <= KPI_VALUE_MAX_LETTERS


def kpi_row(tiles: Sequence[Box]) -> bool:
    """Two or more KPI tiles of one height, level, side by side (each gap at most a tile's width)."""
    if len(tiles) < 2:
        return False
    row = sorted(tiles)
    height = row[0][3] - row[0][1]
    for a, b in itertools.pairwise(row):
        level = abs(a[1] - b[1]) <= 2.0 and abs((b[3] - b[1]) - height) <= 0.1 * height
        if not level or not 0 <= b[0] - a[2] <= max(a[2] - a[0], b[2] - b[0]):
            return False
    return True


TITLE_CENTRE_SLACK = 0.15
"""A chart's title centred over it may be wider than the chart: its middle within this share of the
chart's width of the chart's middle, and at most twice as wide."""


def _centred_over(box: Box, graphic: Box) -> bool:
    """Layout class "centred chart title": a chart tool centres the title over a narrow plot (a pie) and
    lets it reach past the plot's sides. Charts only: over a picture, such a line is a slide's heading."""
    width = graphic[2] - graphic[0]
    middle = (box[0] + box[2]) / 2 - (graphic[0] + graphic[2]) / 2
    return abs(middle) <= TITLE_CENTRE_SLACK * width and box[2] - box[0] <= 2 * width


def same_style(a: TextLine, b: TextLine) -> bool:
    """Set alike: bold alike, sizes within 10 % (a title's wrapped lines, a row of labels, a heading)."""
    return a.bold == b.bold and abs(a.size - b.size) <= 0.1 * b.size


def _in_label_row(line: TextLine, graphic: Box, lines: Sequence[TextLine]) -> bool:
    """``line`` shares its row with another line of its style over the graphic, apart from it (layout class
    "labelled branches": a diagram's edge labels, a row of column headings): a title stands alone on its
    row (a legend beside a bold title is in another style)."""
    box = line.box
    height = box[3] - box[1]
    for other in lines:
        o = other.box
        if other is line or not same_style(other, line):
            continue
        if min(box[3], o[3]) - max(box[1], o[1]) < 0.5 * min(height, o[3] - o[1]):
            continue
        gap = max(o[0] - box[2], box[0] - o[2])
        if gap > height and min(o[2], graphic[2]) > max(o[0], graphic[0]):
            return True
    return False


PICTURE_TITLE_TOP_SHARE = 0.25
"""A heading printed inside a picture starts in this top share of it."""
PICTURE_TITLE_SIZE = 1.25
"""... and its line is this much taller than the picture's median line (a heading over labels or text)."""


def picture_title(lines: Sequence[tuple[str, Box]], height: float) -> str | None:
    """The heading printed at the top of a picture: a screenshot's page heading, an exported plot's title
    (layout class "titled picture": FastQC plots, documentation screenshots).

    ``lines``: the words read inside the picture (OCR), line by line with their boxes, in the picture's
    pixels; ``height``: the picture's height in those pixels. The picture's first line (with 3 letters or
    more) must start in its top PICTURE_TITLE_TOP_SHARE and be PICTURE_TITLE_SIZE times as tall as its
    median line (3 lines or more to tell); a site header or a diagram's first box above it means no title.
    A heading wrapped over lines of its height right below it is joined; an icon read as a leading symbol
    is dropped."""
    if len(lines) < 3 or height <= 0:
        return None
    usual = statistics.median(box[3] - box[1] for _, box in lines)
    ordered = [line for line in sorted(lines, key=lambda line: line[1][1]) if _letters(line[0]) >= 3]
    if not ordered:
        return None
    text, box = ordered[0]
    tall = box[3] - box[1]
    if box[1] > PICTURE_TITLE_TOP_SHARE * height or tall < PICTURE_TITLE_SIZE * usual:
        return None
    parts, bottom = [text], box[3]
    for more, below in ordered[1:]:
        if below[1] - bottom > 0.6 * tall or abs((below[3] - below[1]) - tall) > 0.15 * tall:
            break
        parts.append(more)
        bottom = below[3]
    title = " ".join(parts).lstrip(ICON_GLYPHS).strip()
    words = title.split()
    if not 0 < len(words) <= TITLE_MAX_WORDS or len(title) > TITLE_MAX_CHARS or _letters(title) < 3:
        return None
    return title


def _letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)
