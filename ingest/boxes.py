"""Axis-aligned boxes and two spatial indexes over them, so that no page layout step compares every pair.

Boxes are ``(x0, y0, x1, y1)`` in points, top-left origin. Pages of hostile or just very dense documents
hold tens of thousands of drawing paths (scatter markers, hatching, 20,000 overlapping line segments):
anything quadratic in the number of boxes turns such a page into minutes.

- :class:`BoxGrid`: fixed boxes hashed into square cells; "which boxes lie within ``gap`` of this box".
- :func:`merge_touching`: groups of boxes whose (merged) boxes come within ``gap`` of each other, built
  incrementally with a grid of the live groups, so each box costs about a constant number of lookups.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence

Box = tuple[float, float, float, float]

CELL_PT = 48.0
"""Cell size of the grids: about a text line's length, a marker's many times."""
BIG_CELLS = 16
"""A group covering this many cells is checked first for containment (long lines inside a drawn area)."""
MAX_CELLS_SIDE = 64
"""The most cells across the boxes' extent: on a page far larger than a sheet (a 200-inch poster, a
hostile 14,400 pt page box) fixed 48 pt cells put one long line in thousands of cells and each merge of
groups walks millions; the cells grow with the extent instead (a letter page keeps 48 pt cells)."""


def box_union(a: Box, b: Box) -> Box:
    return (min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3]))


def box_area(a: Box) -> float:
    return max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])


def box_intersection(a: Box, b: Box) -> float:
    return box_area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def box_iou(a: Box, b: Box) -> float:
    inter = box_intersection(a, b)
    union = box_area(a) + box_area(b) - inter
    return inter / union if union > 0 else 0.0


def box_gap(a: Box, b: Box) -> float:
    """The distance between two boxes (0 when they touch or overlap)."""
    dx = max(b[0] - a[2], a[0] - b[2], 0.0)
    dy = max(b[1] - a[3], a[1] - b[3], 0.0)
    return math.hypot(dx, dy)


def boxes_near(a: Box, b: Box, gap: float) -> bool:
    return a[0] - gap <= b[2] and b[0] - gap <= a[2] and a[1] - gap <= b[3] and b[1] - gap <= a[3]


def box_contains(outer: Box, inner: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def centre_in(box: Box, region: Box, margin: float = 0.0) -> bool:
    """The box's centre lies in the region (grown by ``margin``)."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return region[0] - margin <= cx <= region[2] + margin and region[1] - margin <= cy <= region[3] + margin


def h_overlap(a: Box, b: Box) -> float:
    """Horizontal overlap as a share of the narrower box."""
    inter = min(a[2], b[2]) - max(a[0], b[0])
    narrower = min(a[2] - a[0], b[2] - b[0])
    return inter / narrower if narrower > 0 else 0.0


CellRange = tuple[int, int, int, int]


def cell_size(boxes: Sequence[Box]) -> float:
    """The grid's cell side for ``boxes``: CELL_PT, or larger where their extent is over MAX_CELLS_SIDE
    cells across."""
    if not boxes:
        return CELL_PT
    extent = max(
        max(b[2] for b in boxes) - min(b[0] for b in boxes),
        max(b[3] for b in boxes) - min(b[1] for b in boxes),
    )
    return max(CELL_PT, extent / MAX_CELLS_SIDE)


def _cell_range(box: Box, gap: float = 0.0, cell: float = CELL_PT) -> CellRange:
    return (
        int((box[0] - gap) // cell),
        int((box[1] - gap) // cell),
        int((box[2] + gap) // cell),
        int((box[3] + gap) // cell),
    )


def _cells(r: CellRange) -> Iterator[tuple[int, int]]:
    for cx in range(r[0], r[2] + 1):
        for cy in range(r[1], r[3] + 1):
            yield cx, cy


def _range_size(r: CellRange) -> int:
    return (r[2] - r[0] + 1) * (r[3] - r[1] + 1)


class BoxGrid:
    """Fixed boxes in a grid hash: the boxes near a query box, in index order, without a full scan.

    ``odd_too``: boxes no cell can hold (not finite, or inverted) are kept out of the cells and returned
    by every query, unfiltered, and a query box that is itself odd returns every box: the grid then only
    narrows down which boxes an exact test is run on, whatever the boxes (without it such a box is never
    found, or, not finite, raises)."""

    def __init__(self, boxes: Sequence[Box], odd_too: bool = False) -> None:
        self.boxes = list(boxes)
        self.odd_too = odd_too
        self._odd = [i for i, box in enumerate(self.boxes) if odd_too and not normal_box(box)]
        odd = set(self._odd)
        held = [i for i in range(len(self.boxes)) if i not in odd]
        self.cell = cell_size([self.boxes[i] for i in held])
        self._cells: dict[tuple[int, int], list[int]] = defaultdict(list)
        spans = [_cell_range(self.boxes[i], cell=self.cell) for i in held]
        for i, span in zip(held, spans, strict=True):
            for cell in _cells(span):
                self._cells[cell].append(i)
        self._bounds: CellRange | None = (
            (
                min(r[0] for r in spans),
                min(r[1] for r in spans),
                max(r[2] for r in spans),
                max(r[3] for r in spans),
            )
            if spans
            else None
        )
        self.extent: Box | None = _union_of([self.boxes[i] for i in held])
        """The union of the boxes held in cells (None when none is)."""

    def near(self, box: Box, gap: float = 0.0) -> list[int]:
        """Indexes of the boxes within ``gap`` of ``box`` (touching and overlapping ones included), with
        the odd ones when ``odd_too``."""
        if self.odd_too and not normal_box((box[0] - gap, box[1] - gap, box[2] + gap, box[3] + gap)):
            return list(range(len(self.boxes)))
        if self._bounds is None:
            return list(self._odd)
        # Only the cells that hold boxes: a query box far larger than them (a drawing over a huge page,
        # asked about a few text lines) would otherwise walk every empty cell it covers.
        q, b = _cell_range(box, gap, self.cell), self._bounds
        clipped = (max(q[0], b[0]), max(q[1], b[1]), min(q[2], b[2]), min(q[3], b[3]))
        found: set[int] = set()
        for cell in _cells(clipped):
            found.update(self._cells.get(cell, ()))
        near = [i for i in found if boxes_near(self.boxes[i], box, gap)]
        return sorted(near + self._odd) if self._odd else sorted(near)


def _union_of(boxes: Sequence[Box]) -> Box | None:
    if not boxes:
        return None
    return (
        min(b[0] for b in boxes),
        min(b[1] for b in boxes),
        max(b[2] for b in boxes),
        max(b[3] for b in boxes),
    )


def normal_box(box: Box) -> bool:
    """Finite, and neither side inverted: a box the grid's cells can hold."""
    return all(math.isfinite(v) for v in box) and box[0] <= box[2] and box[1] <= box[3]


class _Groups:
    """Live groups of boxes, pairwise farther apart than ``gap``, in a grid hash of their boxes."""

    def __init__(self, gap: float, cell: float = CELL_PT) -> None:
        self.gap, self.cell = gap, cell
        self.box: dict[int, Box] = {}
        self.members: dict[int, list[int]] = {}
        self.span: dict[int, CellRange] = {}
        self.cells: dict[tuple[int, int], set[int]] = defaultdict(set)
        self.big: set[int] = set()
        self._next = 0

    def add(self, index: int, box: Box) -> None:
        # Fast path: inside a big group's box, the box can reach nothing that group does not already.
        for gid in self.big:
            if box_contains(self.box[gid], box):
                self.members[gid].append(index)
                return
        gid = self._new(box, [index])
        while True:
            near = self._near(gid)
            if not near:
                return
            survivor = max([gid, *near], key=lambda g: _range_size(self.span[g]))
            for other in (g for g in [gid, *near] if g != survivor):
                self._absorb(survivor, other)
            gid = survivor

    def _new(self, box: Box, members: list[int]) -> int:
        gid = self._next
        self._next += 1
        self.box[gid], self.members[gid] = box, members
        self.span[gid] = _cell_range(box, cell=self.cell)
        for cell in _cells(self.span[gid]):
            self.cells[cell].add(gid)
        if _range_size(self.span[gid]) >= BIG_CELLS:
            self.big.add(gid)
        return gid

    def _near(self, gid: int) -> list[int]:
        box = self.box[gid]
        found: set[int] = set()
        for cell in _cells(_cell_range(box, self.gap, self.cell)):
            found.update(self.cells.get(cell, ()))
        found.discard(gid)
        return [g for g in found if boxes_near(self.box[g], box, self.gap)]

    def _absorb(self, survivor: int, other: int) -> None:
        for cell in _cells(self.span.pop(other)):
            self.cells[cell].discard(other)
        self.big.discard(other)
        self.members[survivor].extend(self.members.pop(other))
        grown = box_union(self.box[survivor], self.box.pop(other))
        self.box[survivor] = grown
        old, new = self.span[survivor], _cell_range(grown, cell=self.cell)
        if new != old:
            for cell in _cells(new):
                if not (old[0] <= cell[0] <= old[2] and old[1] <= cell[1] <= old[3]):
                    self.cells[cell].add(survivor)
            self.span[survivor] = new
            if _range_size(new) >= BIG_CELLS:
                self.big.add(survivor)


def merge_touching(boxes: Sequence[Box], gap: float) -> list[tuple[Box, list[int]]]:
    """Groups of boxes that touch within ``gap``, directly or through their merged boxes, until none do.

    Returns (merged box, member indexes in input order) per group, top to bottom then left to right. Big
    boxes go in first, so that the many small or thin boxes drawn over them fall inside a known group.
    """
    groups = _Groups(gap, cell_size(boxes))
    for i in sorted(range(len(boxes)), key=lambda i: -box_area(boxes[i])):
        groups.add(i, boxes[i])
    out = [(groups.box[g], sorted(groups.members[g])) for g in groups.box]
    out.sort(key=lambda bm: (bm[0][1], bm[0][0], bm[1][0]))
    return out
