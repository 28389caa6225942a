"""Layout class "letter-spaced text": words set one glyph at a time with extra space after each glyph.

Design tools and report templates track chart labels, legend names and small caps out (0.15-0.35 em after
each glyph), often writing every glyph as a text object of its own. MuPDF then puts a space between most
glyphs ("S e c u r i t y", or "Obse rv a b il it y" where the tracking is near its space threshold): no
such piece is a word a searcher types. A line that looks so is closed up from its glyphs' positions: its
words are parted where the PDF itself sets a space glyph, or where a gap is clearly wider than the line's
usual gap between glyphs (the tracking plus a space), never where it is not. The spaces MuPDF puts in a
gap are marked ``synthetic``; a space the PDF sets is not, and is never closed up: a line of single letters
or digits set with spaces ("A B C D", "1 0 0 1", "J F M A M J") is as typed, and tracking and a space are
about as wide (0.15-0.35 em, a space about 0.28 em), so the gaps alone cannot tell it from a tracked word.
"""

from __future__ import annotations

import itertools
import statistics
from typing import Any

SPACED_RUN = 4
"""A line is looked at when it holds this many short pieces of letters or digits (<= 2 characters) in a
row, half of them one character: "S e c u r", "rv a b il"; running text's "it is in a" has one single
letter in four, a formula's "d = 21 + 23" its operators between."""
WORD_GAP_EM = 0.15
"""A gap this much wider (in em of its glyphs' size) than the line's median gap between glyphs parts two
words: a space is about 0.28 em of a sans-serif font, kerning and rounding far less."""
MAX_TRACKING_EM = 0.45
"""A line whose median gap between glyphs is wider than this is spread out on purpose (column letters of a
grid, "A    B    C"): never closed up."""


NUMBER_MARKS = frozenset("%'.,$€£")
"""Marks a tracked number or quarter label sets between its digits: "6 1 %", "Q 3 ' 2 4", "1 2 . 5"."""


def looks_letter_spaced(text: str) -> bool:
    """Whether ``text`` holds a run of SPACED_RUN short pieces in a row, half of them single characters, or
    is a letter-spaced number (_spaced_number)."""
    pieces = text.split()
    if _spaced_number(pieces):
        return True
    run: list[str] = []
    for piece in pieces:
        if len(piece) > 2 or not piece.isalnum():  # a formula's "d = 21 + 23" is spaced on purpose
            run = []
            continue
        run.append(piece)
        window = run[-SPACED_RUN:]
        if len(window) == SPACED_RUN and sum(len(p) == 1 for p in window) * 2 >= SPACED_RUN:
            return True
    return False


def _spaced_number(pieces: list[str]) -> bool:
    """Layout class "letter-spaced numbers": a chart's tick, value and period labels tracked out one glyph
    at a time are lines of their own, two or three glyphs long ("2 5", "1 0 0", "6 1 %", "Q 1"): too short
    for SPACED_RUN. A line of nothing but single glyphs, digits among them, and no other mark than
    NUMBER_MARKS (a formula's "x = 1" keeps its operator apart) is looked at; a space the PDF sets is still
    never closed up ("1 0 0 1" typed as bits)."""
    return (
        len(pieces) >= 2
        and all(len(p) == 1 and (p.isalnum() or p in NUMBER_MARKS) for p in pieces)
        and any(p.isdigit() for p in pieces)
    )


def close_up(raw_line: dict[str, Any], chars_line: dict[str, Any]) -> dict[str, Any]:
    """``raw_line`` (pymupdf's text dict) with its spans' texts rebuilt from ``chars_line`` (the same line
    read as rawdict): glyphs closer than the line's median gap + WORD_GAP_EM joined, a single space where
    the gap is wider. Returned unchanged when the line is not horizontal or is spread past
    MAX_TRACKING_EM."""
    if tuple(raw_line.get("dir", (1.0, 0.0))) != (1.0, 0.0):
        return raw_line
    glyphs, set_space = _glyphs(chars_line)
    gaps = [b["bbox"][0] - a["bbox"][2] for (_, a), (_, b) in itertools.pairwise(glyphs)]
    tracking = [gap for k, gap in enumerate(gaps) if not set_space[k + 1]]
    if not tracking:  # every gap holds a space the PDF sets: nothing to close up
        return raw_line
    size = statistics.median(span["size"] for span, _ in glyphs)
    median = statistics.median(tracking)
    if median > MAX_TRACKING_EM * size:
        return raw_line
    texts: dict[int, list[str]] = {id(span): [] for span in chars_line["spans"]}
    for k, (span, ch) in enumerate(glyphs):
        if k and (set_space[k] or gaps[k - 1] > median + WORD_GAP_EM * size):
            texts[id(span)].append(" ")
        texts[id(span)].append(ch["c"])
    spans = [{**span, "text": "".join(texts[id(span)])} for span in chars_line["spans"]]
    return {**raw_line, "spans": [{k: v for k, v in s.items() if k != "chars"} for s in spans]}


def _glyphs(chars_line: dict[str, Any]) -> tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[bool]]:
    """The line's glyphs other than spaces (with their spans), and for each whether a space the PDF sets
    (not one MuPDF put in a gap: ``synthetic``) stands between it and the glyph before."""
    glyphs: list[tuple[dict[str, Any], dict[str, Any]]] = []
    set_space: list[bool] = []
    after_space = False
    for span in chars_line["spans"]:
        for ch in span["chars"]:
            if ch["c"].isspace():
                after_space = after_space or not ch.get("synthetic", True)  # absent: taken as MuPDF's
                continue
            glyphs.append((span, ch))
            set_space.append(after_space and len(glyphs) > 1)
            after_space = False
    return glyphs, set_space
