"""Layout class "outlined text": words drawn as vector outlines (text converted to paths).

Design tools, SVG exports and PDFs saved with "convert text to outlines" draw every glyph of a chart's
labels, ticks and legend names as a small filled path: no text layer, the words are pixels only once drawn.
Such glyph paths are told apart from a chart's own small marks by how text is set: filled, at most a type
size high, several side by side in a row with gaps under a glyph's height between them (a word), and of
different shapes ("Europe": six boxes of four sizes) with curves among them. Markers of a line chart or a
dot plot are one shape each and spaced apart; a sparkline's bars or a waffle's squares are ruled, rows of
one shape; so none of them counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

from figvault.ingest.boxes import Box, box_union

GLYPH_MAX_PT = 16.0
"""A glyph path is at most this high and wide (points): chart labels are set at 6-12 pt."""
GLYPH_MIN_PT = 0.3
"""...and at least this high or wide (a hairline is no glyph)."""
WORD_MIN_GLYPHS = 3
"""A run of this many glyph paths side by side is a word (or a number): "Q1'", "70%", "Asia"."""
ROW_SLACK = 0.3
"""Glyphs of one text line have vertical centres within this share of the taller one's height ("o" and
"l" of one word, 0.1 em apart; the lines of a label stacked under each other, one em apart)."""
OUTLINED_MAX_LINES = 500
"""A page of more runs than this is hostile or a scatter of marks: its paths stay drawings, as before this
class was read (3,000 runs beside 10,000 other paths took 39 CPU-s to lay out, 0.6 s as drawings). The
survey's pages of outlined charts have up to 39 runs, the corpus's pages up to 9; a page of outlined
body text would have a run per line or word."""
GLYPH_GAP = 1.0
"""Neighbouring glyphs of one word or label are closer than this many times the taller one's height (a
space is about 0.3 em, letters' boxes a glyph height high or less)."""


def glyph_runs(paths: Sequence[Box], curved: Sequence[bool], filled: Sequence[bool]) -> list[list[int]]:
    """The page's runs of outlined glyphs (path indices, left to right): filled, glyph-sized paths,
    WORD_MIN_GLYPHS or more side by side along a text line, of more than one shape, one of them curved;
    none past OUTLINED_MAX_LINES. ``curved``/``filled`` are per path (not ruled; filled with a colour)."""
    glyphs = [i for i, p in enumerate(paths) if filled[i] and _glyph_sized(p)]
    runs = [run for run in _runs(paths, glyphs) if _word_like(paths, curved, run)]
    return runs if len(runs) <= OUTLINED_MAX_LINES else []


def run_box(paths: Sequence[Box], run: list[int]) -> Box:
    """The box of a run of glyphs: its text line's box."""
    return reduce(box_union, (paths[i] for i in run))


def _glyph_sized(p: Box) -> bool:
    w, h = p[2] - p[0], p[3] - p[1]
    return max(w, h) <= GLYPH_MAX_PT and max(w, h) >= GLYPH_MIN_PT


def _runs(paths: Sequence[Box], glyphs: list[int]) -> list[list[int]]:
    """The glyphs cut into runs along text lines: a line is a chain of vertical centres ROW_SLACK apart,
    a run a chain of boxes along it with gaps under GLYPH_GAP glyph heights."""
    by_centre = sorted(glyphs, key=lambda i: paths[i][1] + paths[i][3])
    rows: list[list[int]] = []
    last = None
    for i in by_centre:
        centre, height = (paths[i][1] + paths[i][3]) / 2, paths[i][3] - paths[i][1]
        if last is None or centre - last[0] > ROW_SLACK * max(height, last[1]):
            rows.append([])
        rows[-1].append(i)
        last = (centre, height)
    runs: list[list[int]] = []
    for row in rows:
        row.sort(key=lambda i: paths[i][0])
        reach = -1e9
        for i in row:
            p = paths[i]
            if p[0] - reach > GLYPH_GAP * (p[3] - p[1]):
                runs.append([])
            runs[-1].append(i)
            reach = max(reach, p[2])
    return runs


def _word_like(paths: Sequence[Box], curved: Sequence[bool], run: list[int]) -> bool:
    """A run of glyphs, not of marks: WORD_MIN_GLYPHS or more, two shapes or more, a curve among them."""
    if len(run) < WORD_MIN_GLYPHS or not any(curved[i] for i in run):
        return False
    shapes = {(round(paths[i][2] - paths[i][0], 1), round(paths[i][3] - paths[i][1], 1)) for i in run}
    return len(shapes) >= 2
