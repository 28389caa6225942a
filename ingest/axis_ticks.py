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
