"""Differential tests of the page layout steps that look boxes up in grids (pdf_layout's cluster, barrier
and caption indexes, BoxGrid odd_too) against the pairwise scans they replaced, kept here verbatim as the
reference. Random layouts on a coarse lattice, so that boxes touch, tie and stand at equal distances."""

from __future__ import annotations

import math
import random

import pytest

from figvault.ingest import pdf_layout as pl
from figvault.ingest.boxes import Box, BoxGrid, box_area, box_intersection, box_union, boxes_near, h_overlap
from figvault.ingest.captions import CaptionKind, CaptionMatch

SEEDS = range(60)
ODD = [(5.0, 5.0, 1.0, 9.0), (math.nan, 0.0, 4.0, 4.0), (0.0, -math.inf, 3.0, math.inf), (2.0, 9.0, 4.0, 1.0)]
"""Boxes no grid cell holds: inverted, not finite."""


# --- the pairwise versions, as they were -------------------------------------------------------------


def old_caption_column(layout: pl.PageLayout, caption: pl.Caption) -> Box:
    cap = caption.block.box
    x0, x1 = cap[0], cap[2]
    for index in layout.body_blocks:
        box = layout.content.blocks[index].box
        if box[0] - 6 <= cap[0] <= box[0] + 6 or (box[0] - 6 <= cap[0] and cap[2] <= box[2] + 6):
            x0, x1 = min(x0, box[0]), max(x1, box[2])
    for other in layout.captions:
        box = other.block.box
        if other is caption or min(box[3], cap[3]) - max(box[1], cap[1]) <= 0:
            continue
        if box[0] >= cap[2]:
            x1 = min(x1, box[0])
        elif box[2] <= cap[0]:
            x0 = max(x0, box[2])
    return (x0, cap[1], x1, cap[3])


def old_blocked(layout: pl.PageLayout, a: Box, b: Box, caption_box: Box | None = None) -> bool:
    return any(pl._between(a, b, bar) for bar in layout.barriers if bar != caption_box)


def old_nearest_on_side(
    layout: pl.PageLayout, caption: pl.Caption, taken: set[int], above: bool
) -> list[tuple[float, int]]:
    cap = caption.block.box
    column = old_caption_column(layout, caption)
    found: list[tuple[float, int]] = []
    for i, cl in enumerate(layout.clusters):
        if i in taken or (h_overlap(cl.box, column) < 0.3 and h_overlap(column, cl.box) < 0.3):
            continue
        if above and cl.box[3] <= cap[1] + 3:
            found.append((cap[1] - cl.box[3], i))
        elif not above and cl.box[1] >= cap[3] - 3:
            found.append((cl.box[1] - cap[3], i))
        elif pl._framed_caption(cap, cl.box, above):
            found.append((0.0, i))
    found.sort()
    if not found:
        return []
    gap, first = found[0]
    if gap > 0.25 * layout.content.size[1] or old_blocked(layout, cap, layout.clusters[first].box, cap):
        return []
    return found


def old_claim_for_caption(
    layout: pl.PageLayout, caption: pl.Caption, taken: set[int], figure_above: bool
) -> list[int]:
    cap = caption.block.box
    usual_above = figure_above if caption.match.kind is CaptionKind.FIGURE else False
    page_height = layout.content.size[1]
    for above in (usual_above, not usual_above):
        ordered = old_nearest_on_side(layout, caption, taken, above)
        if not ordered:
            continue
        first = ordered[0][1]
        region = layout.clusters[first].box
        chosen = [first]
        for _, i in ordered[1:]:
            box = layout.clusters[i].box
            if old_blocked(layout, region, box) or old_blocked(layout, cap, box, cap):
                continue
            if any(pl._framed_caption(c.block.box, box, side) for c in layout.captions for side in pl.SIDES):
                continue
            near_gap = (region[1] - box[3]) if above else (box[1] - region[3])
            if near_gap > 0.08 * page_height:
                continue
            chosen.append(i)
            region = box_union(region, box)
        return chosen
    return []


def old_separated(layout: pl.PageLayout, a: Box, b: Box) -> bool:
    hull = box_union(a, b)
    return any(
        box_intersection(bar, hull) > 0.5 * box_area(bar)
        and box_intersection(bar, a) < 0.5 * box_area(bar)
        and box_intersection(bar, b) < 0.5 * box_area(bar)
        for bar in layout.barriers
    )


def old_merge_loose(layout: pl.PageLayout, loose: list[pl.FigureRegion]) -> list[pl.FigureRegion]:
    gap = pl.LOOSE_MERGE_SHARE * layout.content.size[0]
    merged = True
    while merged:
        merged = False
        for i in range(len(loose)):
            if loose[i] is None:
                continue
            for j in range(i + 1, len(loose)):
                a, b = loose[i], loose[j]
                if b is None or (a.panel and b.panel) or not boxes_near(a.box, b.box, gap):
                    continue
                if old_separated(layout, a.box, b.box):
                    continue
                held = a.text_lines + [ln for ln in b.text_lines if ln not in a.text_lines]
                loose[i] = pl.FigureRegion(
                    box_union(a.box, b.box), a.image_area + b.image_area, a.path_count + b.path_count,
                    text_lines=held, ink=a.ink + b.ink, title=a.title or b.title, panel=a.panel or b.panel,
                )  # fmt: skip
                loose[j] = None
                merged = True
        loose = [r for r in loose if r is not None]
    return loose


# --- random layouts ----------------------------------------------------------------------------------


def _box(rng: random.Random, step: float, extent: int, flat: bool = False) -> Box:
    """A box on a lattice of ``step`` (sides of 0 steps too when ``flat``: ties, touching, no area)."""
    x0, y0 = rng.randrange(extent) * step, rng.randrange(extent) * step
    low = 0 if flat else 1
    return (x0, y0, x0 + rng.randrange(low, 5) * step, y0 + rng.randrange(low, 4) * step)


def _line(box: Box, text: str, block: int) -> pl.TextLine:
    return pl.TextLine(box=box, text=text, size=9.0, bold=False, block=block)


def random_layout(seed: int) -> pl.PageLayout:
    """Clusters, captions (figures and tables) and body paragraphs at random on a 300 x 300 pt page."""
    rng = random.Random(seed)
    step = rng.choice([0.5, 1.0, 3.0, 5.0, 10.0])  # fine steps: boxes 1 pt apart, the tests' slack
    extent = min(int(280 // step), 60)
    clusters = [pl.Cluster(box=_box(rng, step, extent, flat=True)) for _ in range(rng.randrange(1, 40))]
    blocks: list[pl.TextBlock] = []
    captions: list[pl.Caption] = []
    for k in range(rng.randrange(0, 14)):
        box = _box(rng, step, extent, flat=k % 5 == 0)
        block = pl.TextBlock(index=k, box=box, lines=[_line(box, f"Figure {k}: x", k)])
        blocks.append(block)
        kind = CaptionKind.TABLE if rng.random() < 0.25 else CaptionKind.FIGURE
        captions.append(pl.Caption(block=block, match=CaptionMatch(kind, f"Figure {k}", str(k)), text="x"))
    body = set()
    for k in range(len(blocks), len(blocks) + rng.randrange(0, 8)):
        box = _box(rng, step, extent)
        blocks.append(pl.TextBlock(index=k, box=box, lines=[_line(box, "body text " * 12, k)]))
        body.add(k)
    if captions and rng.random() < 0.3:  # a caption inside a frame: _framed_caption's case
        cap = captions[0].block.box
        clusters.append(pl.Cluster(box=(cap[0] - step, cap[1] - 4 * step, cap[2] + 1, cap[3] + step)))
    content = pl.PageContent(number=1, size=(300.0, 300.0), blocks=blocks, images=[], paths=[])
    barriers = [b.box for b in blocks if b.index in body] + [c.block.box for c in captions]
    lines = content.lines
    return pl.PageLayout(content, clusters, captions, body, barriers, lines, [])


@pytest.mark.parametrize("seed", SEEDS)
def test_caption_claims_match_the_pairwise_scan(seed: int) -> None:
    layout = random_layout(seed)
    rng = random.Random(seed)
    for caption in layout.captions:
        assert pl._caption_column(layout, caption) == old_caption_column(layout, caption)
        taken = {i for i in range(len(layout.clusters)) if rng.random() < 0.2}
        for above in pl.SIDES:
            got = pl._nearest_on_side(layout, caption, taken, above)
            assert got == old_nearest_on_side(layout, caption, taken, above)
            assert pl._claim_for_caption(layout, caption, taken, above) == old_claim_for_caption(
                layout, caption, taken, above
            )
    boxes = [cl.box for cl in layout.clusters] + [c.block.box for c in layout.captions]
    for a in boxes:
        for b in boxes:
            for caption_box in (None, *(c.block.box for c in layout.captions[:2])):
                assert pl._blocked(layout, a, b, caption_box) == old_blocked(layout, a, b, caption_box)
        for above in pl.SIDES:
            want = any(pl._framed_caption(c.block.box, a, above) for c in layout.captions)
            assert pl._frames_caption(layout, a, above) == want


def test_random_layouts_reach_every_case() -> None:
    """The layouts above are no trivial ones: captions claim clusters, some blocked, some framed."""
    claimed = blocked = framed = 0
    for seed in SEEDS:
        layout = random_layout(seed)
        for caption in layout.captions:
            claimed += bool(old_claim_for_caption(layout, caption, set(), True))
            for cl in layout.clusters:
                blocked += old_blocked(layout, caption.block.box, cl.box, caption.block.box)
                framed += pl._framed_caption(caption.block.box, cl.box, True)
    assert min(claimed, blocked, framed) > 0


def _regions(rng: random.Random, layout: pl.PageLayout) -> list[pl.FigureRegion]:
    step = rng.choice([5.0, 10.0])
    return [
        pl.FigureRegion(_box(rng, step, 28, flat=True), 1.0, 1, title=str(k), panel=rng.random() < 0.3)
        for k in range(rng.randrange(1, 30))
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_loose_merges_match_the_pairwise_scan(seed: int) -> None:
    layout = random_layout(seed)
    rng = random.Random(seed)
    # Page widths that make the merge gap 0, a fraction of the lattice step, and many steps.
    layout.content.size = (rng.choice([0.0, 10.0, 300.0, 1000.0]), 300.0)
    pieces = _regions(rng, layout)
    if seed % 4 == 0:  # an odd piece: the grid offers it to every piece, the exact test decides
        pieces.insert(rng.randrange(len(pieces)), pl.FigureRegion(ODD[seed % 3], 0.0, 0, title="odd"))
    got = pl._merge_loose(layout, list(pieces))
    want = old_merge_loose(layout, list(pieces))
    assert [(r.box, r.title, r.panel, r.path_count) for r in got] == [
        (r.box, r.title, r.panel, r.path_count) for r in want
    ]
    hull_pairs = [(a.box, b.box) for a in pieces for b in pieces]
    assert [pl._separated(layout, a, b) for a, b in hull_pairs] == [
        old_separated(layout, a, b) for a, b in hull_pairs
    ]


@pytest.mark.parametrize("seed", SEEDS)
def test_containment_tests_match_the_pairwise_scan(seed: int) -> None:
    rng = random.Random(seed)
    boxes = [_box(rng, 5.0, 20, flat=True) for _ in range(rng.randrange(0, 30))]
    clusters = [pl.Cluster(box=b) for b in boxes]
    index = BoxGrid(boxes, odd_too=True)
    kept = {i for i in range(len(boxes)) if rng.random() < 0.5}
    for _ in range(40):
        box = _box(rng, 5.0, 20, flat=True)
        want = any(box_intersection(box, cl.box) >= 0.6 * box_area(box) for cl in clusters)
        assert pl._inside_graphic(box, clusters, index) == want
        want = any(box_intersection(box, boxes[i]) > 0.5 * box_area(box) for i in kept)
        assert pl._mostly_in(box, index, kept) == want


def test_odd_boxes_are_always_candidates() -> None:
    """Boxes no cell holds (inverted, not finite) come back from every query, and an odd query box returns
    every box: an exact test then decides, as when every box was tried."""
    boxes = [(0.0, 0.0, 10.0, 10.0), *ODD, (100.0, 100.0, 110.0, 110.0)]
    grid = BoxGrid(boxes, odd_too=True)
    assert grid.near((0.0, 0.0, 1.0, 1.0)) == [0, 1, 2, 3, 4]
    assert grid.near((200.0, 200.0, 201.0, 201.0)) == [1, 2, 3, 4]
    assert grid.near((math.nan, 0.0, 1.0, 1.0)) == list(range(len(boxes)))
    assert grid.near((5.0, 5.0, 1.0, 1.0)) == list(range(len(boxes)))
    assert BoxGrid(ODD, odd_too=True).near((0.0, 0.0, 1.0, 1.0)) == [0, 1, 2, 3]
    assert grid.extent == (0.0, 0.0, 110.0, 110.0)


def test_a_caption_within_the_frames_slack_is_found() -> None:
    """_framed_caption lets a caption stand up to 1 pt outside its frame across: a caption of no width
    half a point left of the frame is in it, and found through the caption grid."""
    layout = random_layout(0)
    cap = (10.0, 20.0, 10.0, 25.0)
    block = pl.TextBlock(index=99, box=cap, lines=[_line(cap, "Figure 9: x", 99)])
    match = CaptionMatch(CaptionKind.FIGURE, "Figure 9", "9")
    layout.captions = [pl.Caption(block=block, match=match, text="x")]
    layout.__post_init__()
    frame = (10.5, 15.0, 40.0, 60.0)
    assert pl._framed_caption(cap, frame, False)
    assert pl._frames_caption(layout, frame, False)
