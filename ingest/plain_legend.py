"""Layout class "plain legend beside a round plot": a pie's or doughnut's series names listed beside it in the
labels' ink, no swatch and no colour (a report set in one colour, a chart tool's "legend: text only"). No
swatch or colour ties the list to the chart, so the rule is geometric: a column of short lines starting
together a legend's gap right of the plot, level with it, one under the other at one pitch. Category labels
(a bar chart's) are level with their own bars, which a round plot has none of; a paragraph's lines are no
short names; a table's column stands on rules and is not the nearest thing to a pie.
"""

from __future__ import annotations

import itertools
import statistics

from figvault.ingest.axis_ticks import STEP_SLACK_PT
from figvault.ingest.boxes import Box

NAMES_MIN = 2
"""A legend lists two series at least (one name beside a pie is a callout)."""
ALIGN_SLACK_PT = 1.0
"""The names of one column start this close to each other (left-aligned)."""


def name_column(lines: list[Box]) -> list[int]:
    """Indices of the largest left-aligned column among ``lines`` (boxes of short lines beside a plot) when it
    is a legend's: NAMES_MIN or more lines starting together, one under the other without overlap, their
    middles the same distance apart (within STEP_SLACK_PT). Empty when there is none."""
    best: list[int] = []
    for start in sorted(range(len(lines)), key=lambda i: lines[i][0]):
        column = [i for i in range(len(lines)) if abs(lines[i][0] - lines[start][0]) <= ALIGN_SLACK_PT]
        if len(column) > len(best) and _one_pitch([lines[i] for i in column]):
            best = column
    return best if len(best) >= NAMES_MIN else []


def _one_pitch(boxes: list[Box]) -> bool:
    ordered = sorted(boxes, key=lambda b: b[1])
    if any(b[1] < a[3] - STEP_SLACK_PT for a, b in itertools.pairwise(ordered)):
        return False  # lines that overlap are no list
    gaps = [(b[1] + b[3] - a[1] - a[3]) / 2 for a, b in itertools.pairwise(ordered)]
    if not gaps:
        return True
    pitch = statistics.median(gaps)
    return all(abs(g - pitch) <= STEP_SLACK_PT for g in gaps)
