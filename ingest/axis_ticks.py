"""Layout class "value axis set apart": a chart's tick labels are a column of numbers beside its plot, set
flush with the panel's edge rather than against the axis, so the labels nearest the axis ("100") and those
farthest ("0") stand further from the plot than LABEL_MARGIN_PT. A column of numbers level with the plot is
its value axis when its values step evenly and its lines stand evenly apart (0, 25, 50, 75, 100 at equal
heights): a scale, which a neighbouring table's column of figures is not.
"""

from __future__ import annotations

import itertools
import re
import statistics

from figvault.ingest.boxes import Box

TICK = re.compile(r"^[$€£]?(-?\d[\d,]*(?:\.\d+)?)\s?[%kKmMbB]?$")
"""A tick label: a number with a currency sign before it or a unit letter or % after it."""
TICKS_MIN = 3
"""A scale has this many ticks at least (two numbers step evenly by definition)."""
STEP_SLACK_PT = 1.5
"""Tick labels of one scale stand evenly apart within this (rounding of a generator's positions)."""
EDGE_TICK_SLACK_PT = 2.0
"""The top and bottom ticks are centred on the plot's edges (its gridlines): their middles may stand this
far past the drawing and still be level with it."""


Tick = tuple[Box, float, int]
"""A tick label's box, its value and its line's index."""


def tick_value(text: str) -> float | None:
    """The number a tick label shows, or None when ``text`` is no tick label."""
    match = TICK.match(text.strip())
    return float(match.group(1).replace(",", "")) if match else None


def is_scale(ticks: list[tuple[Box, float]]) -> bool:
    """Whether ``ticks`` (a label's box and value) is one axis's scale: TICKS_MIN or more values, each step
    the same and not 0, their lines (ordered top to bottom) the same distance apart."""
    if len(ticks) < TICKS_MIN:
        return False
    ordered = sorted(ticks, key=lambda t: t[0][1])
    steps = [b[1] - a[1] for a, b in itertools.pairwise(ordered)]
    gaps = [(b[0][1] + b[0][3] - a[0][1] - a[0][3]) / 2 for a, b in itertools.pairwise(ordered)]
    step = statistics.median(steps)
    gap = statistics.median(gaps)
    if step == 0 or gap <= 0:
        return False
    return all(abs(s - step) <= 1e-6 * max(1.0, abs(step)) for s in steps) and all(
        abs(g - gap) <= STEP_SLACK_PT for g in gaps
    )


def scale_row(core: list[Tick], row: list[Tick]) -> list[Tick]:
    """The ticks of a horizontal axis's scale (labels in a row under a plot), as (box, value, index): the
    ``core`` (the labels under the plot), when they make a scale across, with the labels of ``row`` that
    carry it on past either end at its pitch (STEP_SLACK_PT) and step ("0" and "100" centred on the axis's
    ends, which may lie past the longest bar). Empty when the core and its continuation make no scale."""
    if len(core) < TICKS_MIN - 1 or not _level([box for box, _, _ in core]):
        return []
    ticks = sorted(core, key=lambda t: t[0][0])
    middles = [(box[0] + box[2]) / 2 for box, _, _ in ticks]
    pitch, step = middles[1] - middles[0], ticks[1][1] - ticks[0][1]
    if pitch <= 0 or step == 0:
        return []
    for direction in (1, -1):
        while True:
            end = ticks[-1] if direction == 1 else ticks[0]
            want, middle = end[1] + direction * step, (end[0][0] + end[0][2]) / 2 + direction * pitch
            more = [t for t in row if t[1] == want and abs((t[0][0] + t[0][2]) / 2 - middle) <= STEP_SLACK_PT]
            if not more or more[0] in ticks:
                break
            ticks = [*ticks, more[0]] if direction == 1 else [more[0], *ticks]
    turned = [((box[1], box[0], box[3], box[2]), value) for box, value, _ in ticks]
    return ticks if _level([box for box, _, _ in ticks]) and is_scale(turned) else []


def _level(boxes: list[Box]) -> bool:
    """The labels stand in one row (their tops within STEP_SLACK_PT)."""
    return max(box[1] for box in boxes) - min(box[1] for box in boxes) <= STEP_SLACK_PT
