"""Generated survey and KPI report pages with their ground truth, and how extraction does on them (issue 13).

    python bench/survey_pages.py [--part tune|report|both] [--layouts base|all|NAME,...] [--show-errors]
        [--json] [--out DIR]

Layout class: "a survey report page with clearly titled charts under one page title": a page title or a
running header, 2-4 uncaptioned vector charts a page (stacked, grouped and horizontal bars with long
category labels, pies and donuts, lines) in a 1- or 2-column grid, each under its own short title (bold or
larger; sometimes a numbered question "Q12. Which ...", wrapped; sometimes a second line such as "Base: all
respondents (n=1,234)"), legends above, below or right, a "Source: ..." note under the chart, panels framed,
on a card or on white. Every choice is drawn from ``random.Random(seed)``; the generator knows each panel's
box (its frame or card; on white, title to legend, the source note left out) and title: the ground truth.

Seeds: the **tune** part (:data:`TUNE_SEEDS`) is for developing rules; the **report** part
(:data:`REPORT_SEEDS`) is for reporting only: do not look at its pages or errors while tuning.

Measured per panel: one unit matches it (IoU >= 0.5, one to one), none merged (a unit holding half of two or
more panels), none lost (no unit holding half of it); box IoU of the matched; title exact (the printed
title, whitespace normalised) and normalised (``scoring.title_matches``: words, case and punctuation
ignored, or the first 4 words of a longer title); ``legend_names``: of the panels with a legend of their own
drawn as text (not the shared legend under a grid, not a chart exported as a picture), how many have every
legend name in the figure_text of their best-overlapping unit (issue 13 item 2: the words a chart shows
belong to its unit); ``chart_words``: of the words each chart draws (category, tick and value labels,
legend names; not its title), how many its best-overlapping unit's title and figure_text hold, compared as a
searcher types them (letters and digits, case ignored). A chart exported as a picture records none (OCR is
off); the ``outlined_text`` class is extracted with OCR on (its words are outlines).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import statistics
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

from figvault.ingest.boxes import Box, box_area, box_intersection, box_iou
from figvault.ingest.extract import extract_document
from figvault.ingest.scoring import GoldFigure, title_matches
from figvault.settings import ExtractSettings

TUNE_SEEDS = tuple(range(1000, 1020))
"""20 reports of 2 pages to develop rules on."""
REPORT_SEEDS = tuple(range(9000, 9020))
"""20 reports of 2 pages for reporting only."""
IOU_MATCH = 0.5

COLOURS = (
    (0.16, 0.38, 0.71),
    (0.93, 0.49, 0.19),
    (0.6, 0.6, 0.6),
    (0.98, 0.75, 0.2),
    (0.27, 0.62, 0.36),
    (0.55, 0.35, 0.64),
)
CATEGORIES = (
    "Security and compliance tooling",
    "Cost visibility across teams",
    "Developer self-service platforms",
    "Multi-cluster networking",
    "Observability and tracing",
    "Backup and disaster recovery",
    "Policy as code",
    "Managed databases",
    "Internal developer portals",
    "Release automation",
    "Identity federation",
    "Edge deployments",
)
SHORT_TITLES = (
    "Clusters in production",
    "Deployment frequency",
    "Top challenges",
    "Budget change next year",
    "Primary cloud provider",
    "Team size",
    "Incidents per quarter",
    "Adoption by company size",
    "Tools evaluated",
    "Satisfaction with support",
    "Mean time to recovery",
    "Revenue by segment",
    "Net promoter score",
    "Workloads migrated",
)
QUESTIONS = (
    "Which of the following best describes your role?",
    "How many clusters does your organisation run in production?",
    "Which challenges slowed your adoption of containers the most?",
    "How do you expect your infrastructure budget to change next year?",
    "Which practices has your team adopted in the last 12 months?",
    "How satisfied are you with your current monitoring tools?",
    "Where do you run your stateful workloads today?",
)
SECOND_LINES = (
    "Base: all respondents (n={n:,})",
    "Share of respondents, %",
    "Base: respondents running containers (n={n:,})",
    "Percentage of organisations, 2026",
)
SUBTITLES = ("% of respondents", "Share of organisations, 2026", "Mean score on a 1-5 scale", "Median, USD")
PREFIXES = ("Figure {n}:", "Figure {n}.", "Exhibit {n}:", "Chart {n} -", "Fig. {n}")
SECTIONS = ("Adoption", "Operations", "Spending", "People and skills", "Outlook")
NOTES = (
    "Note: respondents could choose more than one answer.",
    "Base: all respondents (n=1,204). Figures may not add to 100 due to rounding.",
    "n = 812; excludes respondents who answered 'don't know'.",
)
ANSWERS = ("Strongly agree", "Agree", "Neutral", "Disagree", "Strongly disagree", "Not sure")
PAGE_TITLES = (
    "Production readiness at a glance",
    "How teams operate their platforms",
    "Key performance indicators, Q3",
    "Adoption and maturity",
    "Spending and priorities",
)
HEADERS = ("2026 Cloud Operations Survey", "State of Platform Engineering | Findings", "Quarterly KPI Report")


@dataclass
class GoldPanel:
    page: int
    box: Box
    title: str
    kind: str
    names: tuple[str, ...] = ()
    """The names its own legend shows (drawn as text): its unit's figure_text should hold them."""
    words: tuple[str, ...] = ()
    """The words drawn inside the chart (category and tick labels, values, legend names): its unit's."""


@dataclass
class Style:
    """What one page's panels share (a report sets all its charts alike)."""

    title_font: str
    title_size: float
    question: bool
    second_line: bool
    legend: str
    source: bool
    frame: str  # none, stroke, card
    label_size: float
    layout: str = "base"  # one of LAYOUTS
    prefix: str = ""  # numbered_titles: "Figure {n}:" and the like, numbered through the report
    numbered: int = 0  # numbered_titles: the last number given
    indent: float = 0.0  # indented_chart: how far right of its title the chart starts
    tracking: float = 0.0  # letter_spaced: the extra space after each glyph of the chart's words (pt)


class Pen:
    """Draws on a page and remembers the extent of what it drew (the panel's ground-truth box)."""

    def __init__(self, page: pymupdf.Page) -> None:
        self.page = page
        self.extent: list[float] | None = None
        self.names: list[str] = []  # the legend names drawn
        self.words: list[str] = []  # the texts drawn while ``in_chart`` (the chart's own words)
        self.in_chart = False
        self.tracking = 0.0  # letter_spaced: the chart's words set one glyph at a time, this far apart

    def _grow(self, box: Box) -> None:
        if self.extent is None:
            self.extent = list(box)
        else:
            e = self.extent
            self.extent = [min(e[0], box[0]), min(e[1], box[1]), max(e[2], box[2]), max(e[3], box[3])]

    def text(self, x: float, y: float, text: str, size: float, font: str = "helv", grey: float = 0.0) -> Box:
        """Text with its baseline at ``y``; returns its box."""
        if self.in_chart:
            self.words.append(text)
        colour = (grey, grey, grey)
        if self.in_chart and self.tracking:  # layout class "letter-spaced labels": one glyph per span
            right = x
            for glyph in text:
                self.page.insert_text((right, y), glyph, fontsize=size, fontname=font, color=colour)
                right += pymupdf.get_text_length(glyph, fontname=font, fontsize=size) + self.tracking
        else:
            self.page.insert_text((x, y), text, fontsize=size, fontname=font, color=colour)
            right = x + pymupdf.get_text_length(text, fontname=font, fontsize=size)
        box = (x, y - 0.8 * size, right, y + 0.2 * size)
        self._grow(box)
        return box

    def rect(self, box: Box, colour: tuple[float, ...]) -> None:
        self.page.draw_rect(box, color=None, fill=colour)
        self._grow(box)

    def line(self, a: tuple[float, float], b: tuple[float, float], grey: float, width: float = 0.6) -> None:
        self.page.draw_line(a, b, color=(grey, grey, grey), width=width)
        self._grow((min(a[0], b[0]), min(a[1], b[1]), max(a[0], b[0]), max(a[1], b[1])))

    def polygon(self, points: list[tuple[float, float]], colour: tuple[float, ...]) -> None:
        shape = self.page.new_shape()
        shape.draw_polyline([pymupdf.Point(p) for p in points])
        shape.finish(color=None, fill=colour, closePath=True)
        shape.commit()
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        self._grow((min(xs), min(ys), max(xs), max(ys)))


def _wrap(text: str, font: str, size: float, width: float) -> list[str]:
    lines, current = [], ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if current and pymupdf.get_text_length(trial, fontname=font, fontsize=size) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    return [*lines, current]


def _title_text(rng: random.Random, style: Style, width: float) -> tuple[list[str], str]:
    """A panel's title wrapped to ``width`` (at most 3 lines), and its second line ("" when none)."""
    if style.layout == "small_multiples":
        text = rng.choice(REGIONS)
    elif style.question:
        text = f"Q{rng.randrange(1, 40)}. {rng.choice(QUESTIONS)}"
    else:
        text = rng.choice(SHORT_TITLES)
    if style.prefix:
        style.numbered += 1
        text = f"{style.prefix.format(n=style.numbered)} {text}"
    if style.layout == "one_line_titles":  # both titles of a row share one line: each fits its column
        return [_fit(text, style.title_font, style.title_size, width)], ""
    lines = _wrap(text, style.title_font, style.title_size, width)[:3]
    second = rng.choice(SECOND_LINES).format(n=rng.randrange(300, 4000)) if style.second_line else ""
    if style.layout == "subtitle_base":  # a subtitle, then the base line: two smaller lines
        second = f"{rng.choice(SUBTITLES)}\nBase: n = {rng.randrange(300, 4000):,} respondents"
    return lines, second


def _fit(text: str, font: str, size: float, width: float) -> str:
    """``text`` cut after its last word that fits ``width``."""
    return _wrap(text, font, size, width)[0]


def _title_height(style: Style, lines: list[str], second: str) -> float:
    """How far below its top a title drawn by _draw_title lets the chart start."""
    rule = 6 if style.layout == "title_rule" else 0
    return len(lines) * style.title_size * 1.2 + 11 * len(second.splitlines()) + 8 + rule


def _draw_title(
    pen: Pen, style: Style, lines: list[str], second: str, x: float, y: float, grey: float = 0.0
) -> None:
    """The title's lines from ``y`` down, then its second line (smaller, italic, lighter)."""
    for line in lines:
        y += style.title_size * 1.2
        pen.text(x, y, line, style.title_size, style.title_font, grey)
    for k, part in enumerate(second.splitlines()):
        if style.layout == "subtitle_base" and k == 0:  # the subtitle: regular, between title and base line
            pen.text(x, y + 11, part, 8.5, "helv", 0.25)
        else:
            pen.text(x, y + 11, part, 7.5 if k == 0 else 7.0, "heit", 0.85 if grey else 0.35)
        y += 11


def _legend(
    pen: Pen,
    names: list[str],
    colours: list[tuple[float, ...]],
    x: float,
    y: float,
    across: bool,
    size: float,
    width: float,
    keys: str = "swatch",
) -> Box:
    """Coloured squares with their names (``keys`` "swatch"; "text": the names in their colours, no swatch;
    "plain": the names in dark grey, no colour at all), in a row (wrapping at ``width``) or a column;
    returns the box."""
    cx, cy = x, y
    right = x
    pen.names += names[: len(colours)]
    for name, colour in zip(names, colours, strict=False):
        step = 10 + pymupdf.get_text_length(name, fontsize=size) + 10
        if across and cx + step > x + width and cx > x:
            cx, cy = x, cy + size + 5
        if keys != "swatch":  # the series names alone, in their colours or in the labels' grey
            pen.words += [name] if pen.in_chart else []
            ink = colour if keys == "text" else (0.2, 0.2, 0.2)
            pen.page.insert_text((cx, cy + 6), name, fontsize=size, color=ink)
            pen._grow((cx, cy + 6 - 0.8 * size, cx + step - 20, cy + 6 + 0.2 * size))
        else:
            pen.rect((cx, cy, cx + 6, cy + 6), colour)
            pen.text(cx + 9, cy + 6, name, size)
        right = max(right, cx + step)
        if across:
            cx += step
        else:
            cy += size + 5
    return (x, y, right, cy + (size if across else 0))


def _legend_keys(style: Style) -> str:
    """How the page's legends key their names (see _legend)."""
    return {"text_legend": "text", "plain_legend": "plain"}.get(style.layout, "swatch")


def _plot_and_legend(pen: Pen, rng: random.Random, style: Style, area: Box, names: list[str]) -> Box:
    """Split ``area`` into the plot and the legend (above, below or right); draws the legend."""
    x0, y0, x1, y1 = area
    if style.layout == "shared_legend":  # one legend for all the page's panels (survey_page draws it)
        return area
    colours = list(COLOURS[: len(names)])
    keys = _legend_keys(style)
    if style.legend == "right":
        lw = max(pymupdf.get_text_length(n, fontsize=style.label_size) for n in names) + 22
        _legend(pen, names, colours, x1 - lw, y0 + 10, False, style.label_size, lw, keys)
        return (x0, y0, x1 - lw - 8, y1)
    if style.legend == "above":
        box = _legend(pen, names, colours, x0, y0, True, style.label_size, x1 - x0, keys)
        return (x0, box[3] + 8, x1, y1)
    # below: measure the rows first by drawing at the bottom
    rows = 1 + int(
        sum(20 + pymupdf.get_text_length(n, fontsize=style.label_size) for n in names) // (x1 - x0)
    )
    top = y1 - rows * (style.label_size + 5)
    _legend(pen, names, colours, x0, top, True, style.label_size, x1 - x0, keys)
    return (x0, y0, x1, top - 8)


def stacked_bars(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """Horizontal 100 % stacked bars with long category labels on the left, shares printed inside."""
    answers = list(ANSWERS[: rng.randrange(3, 6)])
    cats = rng.sample(CATEGORIES, rng.randrange(3, 6))
    area = (area[0], area[1], area[2], min(area[3], area[1] + 30 * len(cats) + 40))  # the legend follows
    plot = _plot_and_legend(pen, rng, style, area, answers)
    label_w = max(pymupdf.get_text_length(c, fontsize=style.label_size) for c in cats) + 6
    x0, y0, x1, y1 = plot
    left = x0 + min(label_w, 0.45 * (x1 - x0))
    row = min(30.0, (y1 - y0) / len(cats))
    for r, cat in enumerate(cats):
        top = y0 + r * row
        bar_h = min(16.0, row * 0.7)
        label = _wrap(cat, "helv", style.label_size, left - x0 - 4)
        for k, part in enumerate(label[:2]):
            pen.text(
                x0,
                top + row / 2 + 3 + (k - (len(label[:2]) - 1) / 2) * (style.label_size + 1),
                part,
                style.label_size,
            )
        shares = [rng.uniform(0.05, 1.0) for _ in answers]
        start = left
        for s, colour in zip(shares, COLOURS, strict=False):
            w = (x1 - left) * s / sum(shares)
            pen.rect((start, top + (row - bar_h) / 2, start + w, top + (row + bar_h) / 2), colour)
            if w > 18:
                share = f"{round(100 * s / sum(shares))}%"
                pen.words.append(share)
                pen.page.insert_text(
                    (start + 2, top + row / 2 + 3),
                    share,
                    fontsize=6,
                    color=(1, 1, 1),
                )
            start += w


def simple_bars(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """One series of horizontal bars, long category labels on the left, the value after each bar."""
    cats = rng.sample(CATEGORIES, rng.randrange(4, 8))
    x0, y0, x1, y1 = area
    label_w = max(pymupdf.get_text_length(c, fontsize=style.label_size) for c in cats) + 6
    left = x0 + min(label_w, 0.5 * (x1 - x0))
    row = min(18.0, (y1 - y0) / len(cats))
    values = sorted((rng.uniform(5, 80) for _ in cats), reverse=True)
    for r, (cat, v) in enumerate(zip(cats, values, strict=True)):
        top = y0 + r * row
        pen.text(
            x0, top + row / 2 + 3, _wrap(cat, "helv", style.label_size, left - x0 - 4)[0], style.label_size
        )
        w = (x1 - left - 24) * v / 80
        pen.rect((left, top + 2, left + w, top + row - 2), COLOURS[0])
        pen.text(left + w + 3, top + row / 2 + 3, f"{v:.0f}%", style.label_size)


def _value_axis(pen: Pen, style: Style, plot: Box, step: int) -> tuple[float, float]:
    """Five gridlines (the lowest dark: the baseline) labelled 0, step, ... at the plot's left; the plot
    area's left edge and baseline."""
    x0, y0, x1, y1 = plot
    left, bottom = x0 + 22, y1 - 14
    for k in range(5):
        gy = bottom - k * (bottom - y0) / 4
        pen.line((left, gy), (x1, gy), 0.85 if k else 0.3, 0.5)
        pen.text(x0, gy + 2, f"{step * k}", style.label_size - 1)
    return left, bottom


def grouped_columns(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """Vertical grouped columns on axes with gridlines, category names under the groups."""
    series = [str(2023 + k) for k in range(rng.randrange(2, 4))]
    plot = _plot_and_legend(pen, rng, style, area, series)
    _, y0, x1, y1 = plot
    left, bottom = _value_axis(pen, style, plot, 25)
    pen.line((left, y0), (left, bottom), 0.3, 0.6)
    groups = rng.randrange(3, 6)
    names = ("Small", "Medium", "Large", "Enterprise", "Public sector")
    gw = (x1 - left) / groups
    bw = gw * 0.7 / len(series)
    for g in range(groups):
        gx = left + g * gw + gw * 0.15
        for s in range(len(series)):
            h = (bottom - y0) * rng.uniform(0.1, 0.95)
            pen.rect((gx + s * bw, bottom - h, gx + (s + 1) * bw - 1, bottom), COLOURS[s])
        pen.text(gx, y1 - 3, names[g], style.label_size - 1)


def pie(pen: Pen, rng: random.Random, style: Style, area: Box, donut: bool) -> None:
    """A pie or donut of 3-5 shares, its legend beside it (right) or under it (above, below)."""
    answers = list(ANSWERS[: rng.randrange(3, 6)])
    x0, y0, x1, y1 = area
    size = style.label_size
    legend_w = max(pymupdf.get_text_length(n, fontsize=size) for n in answers) + 22
    beside = style.legend == "right"
    legend_h = 0.0 if beside else 2 * (size + 5)
    r = min((x1 - x0 - (legend_w + 12 if beside else 0)) / 2, (y1 - y0 - legend_h - 8) / 2, 90.0) - 2
    cx, cy = x0 + r + 2, y0 + r + 2
    shares = [rng.uniform(0.1, 1.0) for _ in answers]
    start = -90.0
    for s, colour in zip(shares, COLOURS, strict=False):
        end = start + 360 * s / sum(shares)
        steps = max(2, int((end - start) / 8))
        arc = [start + (end - start) * k / steps for k in range(steps + 1)]
        outer = [(cx + r * math.cos(math.radians(a)), cy + r * math.sin(math.radians(a))) for a in arc]
        if donut:
            inner = [
                (cx + 0.55 * r * math.cos(math.radians(a)), cy + 0.55 * r * math.sin(math.radians(a)))
                for a in reversed(arc)
            ]
            pen.polygon(outer + inner, colour)
        else:
            pen.polygon([(cx, cy), *outer], colour)
        start = end
    colours = list(COLOURS[: len(answers)])
    keys = _legend_keys(style)
    if beside:
        y = cy - len(answers) * (size + 5) / 2
        _legend(pen, answers, colours, cx + r + 12, y, False, size, legend_w, keys)
    else:
        width = max(2 * r + 4, 0.6 * (x1 - x0))
        _legend(pen, answers, colours, x0, cy + r + 10, True, size, width, keys)


def lines_chart(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """Two or three series over 6-10 periods on gridlines, with markers."""
    series = ["Target", "Actual", "Forecast"][: rng.randrange(2, 4)]
    plot = _plot_and_legend(pen, rng, style, area, series)
    _, y0, x1, y1 = plot
    left, bottom = _value_axis(pen, style, plot, 20)
    periods = rng.randrange(6, 11)
    step = (x1 - left - 6) / (periods - 1)
    for p in range(periods):
        if p % 2 == 0:
            pen.text(left + p * step - 6, y1 - 3, f"Q{p % 4 + 1}'{24 + p // 4}", style.label_size - 1)
    for s, _ in enumerate(series):
        ys = [bottom - (bottom - y0) * rng.uniform(0.15, 0.95) for _ in range(periods)]
        pts = [(left + 3 + p * step, ys[p]) for p in range(periods)]
        shape = pen.page.new_shape()
        shape.draw_polyline([pymupdf.Point(q) for q in pts])
        shape.finish(color=COLOURS[s], width=1.5, closePath=False)
        for q in pts:
            shape.draw_circle(pymupdf.Point(q), 1.8)
            shape.finish(color=None, fill=COLOURS[s])
        shape.commit()


def stacked_columns(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """Vertical stacked columns on gridlines (two in five charts 100 % stacked), a year under each."""
    answers = list(ANSWERS[: rng.randrange(3, 6)])
    plot = _plot_and_legend(pen, rng, style, area, answers)
    _, y0, x1, y1 = plot
    left, bottom = _value_axis(pen, style, plot, 25)
    full = rng.random() < 0.4
    columns = rng.randrange(4, 8)
    cw = (x1 - left) / columns
    for c in range(columns):
        shares = [rng.uniform(0.05, 1.0) for _ in answers]
        top, height = bottom, (bottom - y0) * (1.0 if full else rng.uniform(0.35, 0.95))
        for share, colour in zip(shares, COLOURS, strict=False):
            h = height * share / sum(shares)
            pen.rect((left + c * cw + 0.2 * cw, top - h, left + (c + 0.8) * cw, top), colour)
            top -= h
        pen.text(left + c * cw + 0.2 * cw, y1 - 3, str(2019 + c), style.label_size - 1)


KPI_LABELS = (
    "Net promoter score",
    "Uptime, last 90 days",
    "Median time to deploy (minutes)",
    "Active customers",
    "Change failure rate",
    "Cost per cluster, USD/month",
)


def kpi_tiles(pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """Layout class "KPI tiles": 2-4 tinted tiles in a row, each a big number over its label and a coloured
    arrow with the change since last period."""
    x0, y0, x1, y1 = area
    n = rng.randrange(2, 5)
    w = (x1 - x0 - (n - 1) * 8) / n
    h = min(72.0, y1 - y0)
    for k, label in enumerate(rng.sample(KPI_LABELS, n)):
        tx = x0 + k * (w + 8)
        pen.rect((tx, y0, tx + w, y0 + h), (0.93, 0.95, 0.98))
        value = rng.choice(
            (f"{rng.randrange(5, 98)}%", f"{rng.uniform(1, 9.9):.1f}x", f"{rng.randrange(120, 9000):,}")
        )
        pen.text(tx + 6, y0 + 30, value, 22, "hebo", 0.1)
        for i, part in enumerate(_wrap(label, "helv", style.label_size, w - 12)[:2]):
            pen.text(tx + 6, y0 + 44 + i * (style.label_size + 2), part, style.label_size, grey=0.3)
        up = rng.random() < 0.6
        ay = y0 + h - 10
        base_y, tip_y = (ay + 2, ay - 4) if up else (ay - 4, ay + 2)
        pen.polygon([(tx + 6, base_y), (tx + 14, base_y), (tx + 10, tip_y)], COLOURS[4 if up else 1])
        pen.text(tx + 18, ay + 2, f"{'+' if up else '-'}{rng.uniform(0.5, 12):.1f} pts", 6.5, grey=0.35)


CHARTS = ("stacked", "bars", "columns", "pie", "donut", "lines")
"""The base generator's chart kinds; the layout classes add "stacked_columns" and "kpi"."""


def _draw_chart(kind: str, pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    """A chart of ``kind`` in ``area``; the words it draws are recorded (``pen.words``)."""
    pen.in_chart, pen.tracking = True, style.tracking
    try:
        _draw_kind(kind, pen, rng, style, area)
    finally:
        pen.in_chart, pen.tracking = False, 0.0


def _draw_kind(kind: str, pen: Pen, rng: random.Random, style: Style, area: Box) -> None:
    if kind == "stacked_columns":
        stacked_columns(pen, rng, style, area)
    elif kind == "kpi":
        kpi_tiles(pen, rng, style, area)
    elif kind == "stacked":
        stacked_bars(pen, rng, style, area)
    elif kind == "bars":
        simple_bars(pen, rng, style, area)
    elif kind == "columns":
        grouped_columns(pen, rng, style, area)
    elif kind in ("pie", "donut"):
        pie(pen, rng, style, area, kind == "donut")
    else:
        lines_chart(pen, rng, style, area)


def _style(rng: random.Random) -> Style:
    bold = rng.random() < 0.7
    return Style(
        title_font="hebo" if bold else "helv",
        title_size=rng.choice((10.0, 11.0, 12.0)) if bold else rng.choice((12.5, 14.0)),
        question=rng.random() < 0.35,
        second_line=rng.random() < 0.4,
        legend=rng.choice(("above", "below", "right")),
        source=rng.random() < 0.6,
        frame=rng.choice(("none", "none", "stroke", "card")),
        label_size=rng.choice((7.0, 7.5, 8.0)),
    )


LAYOUTS = {
    "base": "the sixth round's pages (above); its seeds draw the same pages as before the classes below",
    "picture_chart": "each chart exported as a picture (its labels pixels), its title vector text above it "
    "or printed over the picture's blank top",
    "title_below": "each title under its chart (and legend), over the source note",
    "title_left": "each title (and base line) wrapped in a column left of its chart",
    "title_banner": "each panel in a frame whose top is a coloured band holding the title in white",
    "question_titles": "every title a numbered question 'Q12. Which ...' (wrapping to 2-3 lines)",
    "stacked_columns": "every chart vertical stacked columns, some 100 % stacked",
    "kpi_tiles": "the first panel of each page a row of KPI tiles (big number, label, change arrow): no "
    "figure (issue 13 asks for charts and diagrams; the hand labels count no scorecard), so no gold panel: "
    "a unit of it is an extra unit, as in web_pages.py and deck_pages.py",
    "text_legend": "legends set as text only: series names in their colours, no swatches",
    "plain_legend": "legends set as a list of the series names in the labels' dark grey: no swatch, no "
    "colour",
    "shared_legend": "a grid of stacked bars and columns with one legend for all under the grid",
    "small_multiples": "4 or 6 small charts of one kind under one page title, each titled by a region name",
    "numbered_titles": "every title numbered through the report: 'Figure 3: ...', 'Exhibit 3: ...', "
    "'Chart 3 - ...', wrapping as it must",
    "subtitle_base": "each title over a smaller regular subtitle ('% of respondents') and an italic base "
    "line ('Base: n = 1,204 respondents')",
    "title_box": "each title on a tinted box the panel's width, the chart under it, no frame",
    "indented_chart": "each title at the panel's left edge, its chart indented 24-60 pt right of it",
    "one_line_titles": "two columns; both titles of a row written as one line of text (a tab or spaces "
    "between them)",
    "section_headings": "a numbered section heading across the page over each row of charts, the charts' "
    "own titles under it",
    "title_rule": "each title over a coloured rule the panel's width, the chart under the rule",
    "notes_under": "under each chart a base or note line and the source (7 pt), as a report's footnotes",
    "letter_spaced": "the charts' words (categories, ticks, values, legend names) letter-spaced: one glyph "
    "per text span, 0.25-0.35 em apart, as a design tool sets tracked labels",
    "outlined_text": "each chart, its words included, drawn as vector outlines (text converted to paths, "
    "as an SVG or design-tool export): no text layer, the words only pixels once drawn",
    "shared_axis": "small multiples sharing one category axis (faceted charts): a row of 2-4 horizontal bar "
    "panels, each titled by its facet ('All', '1-10 nodes', a region), the category names printed once, "
    "left of the first panel; each panel's truth holds the shared names (two such rows a page, each its "
    "own names)",
}
"""Layout classes of survey/KPI report pages the generator draws, each run on its own (``--layouts``)."""
REGIONS = ("North America", "Europe", "Asia Pacific", "Latin America", "Middle East", "Africa", "Nordics")


def _layout_style(rng: random.Random, layout: str) -> Style:
    """The report's style with what ``layout`` forces."""
    style = _style(rng)
    style.layout = layout
    if layout == "question_titles":
        style.question = True
    elif layout == "title_banner":
        style.frame = "banner"
    elif layout == "small_multiples":
        style.second_line = style.source = style.question = False
    elif layout == "numbered_titles":
        style.prefix = rng.choice(PREFIXES)
    elif layout == "subtitle_base":
        style.second_line = False
    elif layout == "indented_chart":
        style.indent = rng.choice((24.0, 36.0, 48.0, 60.0))
    elif layout == "title_box":
        style.frame = "none"
    elif layout == "one_line_titles":  # short titles: a question would not fit beside the other
        style.question = False
    elif layout == "notes_under":
        style.source = True
    elif layout == "letter_spaced":
        style.tracking = rng.choice((0.25, 0.3, 0.35)) * style.label_size
    return style


PAGES_PER_REPORT = 2


def survey_report(seed: int, layout: str = "base") -> tuple[pymupdf.Document, list[GoldPanel]]:
    """A generated report of PAGES_PER_REPORT pages of one size and one style, and its panels' truth;
    ``layout``: one of LAYOUTS (a class's pages are drawn from their own random stream)."""
    rng = random.Random(seed if layout == "base" else f"{layout}:{seed}")
    size = rng.choice(((612, 792), (595, 842), (792, 612)))
    style = _layout_style(rng, layout)
    doc = pymupdf.open()
    page = shared_axis_page if layout == "shared_axis" else survey_page
    gold = [g for _ in range(PAGES_PER_REPORT) for g in page(doc, rng, size, style)]
    return doc, gold


FACETS = (
    ("All", "1-10 nodes", "11-100 nodes", "101-1000 nodes"),
    ("All respondents", "Small", "Medium", "Large"),
    REGIONS[:4],
    ("2023", "2024", "2025", "2026"),
)
"""The panel titles of a row of small multiples: one facet each (layout class shared_axis)."""


def shared_axis_page(
    doc: pymupdf.Document, rng: random.Random, size: tuple[float, float], style: Style
) -> list[GoldPanel]:
    """Layout class "small multiples sharing one category axis": under the page title, two rows of 2-4
    horizontal bar panels, each row one question by facet; the category names are printed once, left of
    the row's first panel (the others show bars, values and ticks only)."""
    page = doc.new_page(width=size[0], height=size[1])
    margin, y = 40, 60
    page.insert_text((margin, y), rng.choice(PAGE_TITLES), fontsize=rng.choice((16, 18)), fontname="hebo")
    page.insert_text((size[0] / 2 - 4, size[1] - 20), str(page.number + 1), fontsize=8)
    gold: list[GoldPanel] = []
    for _ in range(2):
        cats = rng.sample(CATEGORIES, rng.randrange(3, 7))
        row = rng.choice((14.0, 16.0, 18.0))
        y += 24
        gold += _facet_row(page, rng, style, (margin, y, size[0] - margin), cats, row)
        y += 24 + len(cats) * row + 30
    return gold


def _facet_row(
    page: pymupdf.Page, rng: random.Random, style: Style, at: tuple[float, float, float], cats: list[str],
    row: float,
) -> list[GoldPanel]:  # fmt: skip
    """One row of facets from ``at`` (left, top, right): the names column, then the panels."""
    x0, top, x1 = at
    size = style.label_size
    names_w = min(max(pymupdf.get_text_length(c, fontsize=size) for c in cats) + 6, 0.3 * (x1 - x0))
    facets = list(rng.choice(FACETS)[: rng.randrange(2, 5)])
    gap = rng.choice((12.0, 18.0, 24.0))
    width = (x1 - x0 - names_w - (len(facets) - 1) * gap) / len(facets)
    names = [_wrap(c, "helv", size, names_w - 4)[:2] for c in cats]
    shared = [part for parts in names for part in parts]
    gold = []
    for k, facet in enumerate(facets):
        pen = Pen(page)
        left = x0 + names_w + k * (width + gap)
        pen.text(left, top + 10, facet, style.title_size - 1, style.title_font)
        pen.in_chart = True
        if k == 0:  # the names, once, level with the bars
            for r, parts in enumerate(names):
                middle = top + 16 + r * row + row / 2
                for j, part in enumerate(parts):
                    pen.text(x0, middle + 3 + (j - (len(parts) - 1) / 2) * (size + 1), part, size)
        else:
            pen.words += shared
        _facet_bars(
            pen, rng, style, (left, top + 16, left + width - 20, top + 16 + len(cats) * row), len(cats)
        )
        pen.in_chart = False
        gold.append(GoldPanel(page.number + 1, tuple(pen.extent), facet, "bars", (), tuple(pen.words)))  # type: ignore[arg-type]
    return gold


def _facet_bars(pen: Pen, rng: random.Random, style: Style, plot: Box, count: int) -> None:
    """One facet: ``count`` bars from the plot's left, each its value after it, an axis line, ticks under."""
    x0, y0, x1, y1 = plot
    row = (y1 - y0) / count
    pen.line((x0, y0), (x0, y1), 0.3, 0.6)
    for r in range(count):
        value = rng.uniform(3, 95)
        w = (x1 - x0) * value / 100
        pen.rect((x0, y0 + r * row + 0.2 * row, x0 + w, y0 + (r + 0.8) * row), COLOURS[0])
        pen.text(x0 + w + 2, y0 + r * row + row / 2 + 3, f"{value:.0f}%", style.label_size - 0.5)
    for k in range(3):
        tick = str(50 * k)
        pen.text(x0 + (x1 - x0) * k / 2 - 3, y1 + 9, tick, style.label_size - 1, grey=0.4)


def survey_page(
    doc: pymupdf.Document,
    rng: random.Random,
    size: tuple[float, float],
    style: Style,
    kinds: tuple[str, ...] = (),
) -> list[GoldPanel]:
    """One generated report page (appended to ``doc``) and its panels' ground truth. ``kinds``: the panels'
    chart kinds (CHARTS; their number is the panel count), else drawn at random."""
    page = doc.new_page(width=size[0], height=size[1])
    number = page.number + 1
    margin = 40
    y = margin
    if rng.random() < 0.6:  # running header with a rule under it
        page.insert_text((margin, 26), rng.choice(HEADERS), fontsize=8, color=(0.4, 0.4, 0.4))
        page.draw_line((margin, 31), (size[0] - margin, 31), color=(0.7, 0.7, 0.7), width=0.5)
        y = 46
    if rng.random() < 0.8 or style.layout == "small_multiples":
        y += 20
        page.insert_text(
            (margin, y), rng.choice(PAGE_TITLES), fontsize=rng.choice((16, 18, 20)), fontname="hebo"
        )
        y += 12
    if rng.random() < 0.4:  # a lead-in paragraph
        text = (
            "Respondents were asked about their production environments. The charts below summarise "
            "the answers by organisation size; percentages may not add to 100 because of rounding."
        )
        for line in _wrap(text, "helv", 9, size[0] - 2 * margin):
            y += 12
            page.insert_text((margin, y), line, fontsize=9)
        y += 6
    page.insert_text((size[0] / 2 - 4, size[1] - 20), str(number), fontsize=8)
    if style.layout == "small_multiples" and not kinds:
        kinds = (rng.choice(("lines", "columns", "bars")),) * rng.choice((4, 6))
    n = len(kinds) or rng.randrange(2, 5)
    cols = 1 if n == 2 and rng.random() < 0.5 else (2 if n > 2 or size[0] > size[1] else rng.choice((1, 2)))
    if n == 3 and rng.random() < 0.3:
        cols = 1
    if style.layout == "small_multiples":
        cols = 3 if size[0] > size[1] else 2
    if style.layout == "one_line_titles":
        cols = 2
    rows = math.ceil(n / cols)
    gap = rng.choice((18, 24, 30))
    width = (size[0] - 2 * margin - (cols - 1) * gap) / cols
    legend_h = 16 if style.layout == "shared_legend" else 0
    heading = 26 if style.layout == "section_headings" else 0
    height = min(250.0, (size[1] - 40 - y - 10 - legend_h - (rows - 1) * gap) / rows - heading)
    gold = []
    for i in range(n):
        col, row = i % cols, i // cols
        box = (margin + col * (width + gap), y + 10 + row * (height + gap + heading) + heading)
        box = (box[0], box[1], box[0] + width, box[1] + height)
        if heading and col == 0:  # the section's numbered heading across the page, a rule under it
            top = box[1] - heading
            page.insert_text((margin, top + 12), f"{number}.{row + 1} {rng.choice(SECTIONS)}", fontsize=13,
                             fontname="hebo", color=COLOURS[0])  # fmt: skip
            page.draw_line((margin, top + 17), (size[0] - margin, top + 17), color=COLOURS[0], width=0.8)
        panel = _panel(page, rng, style, box, number, kinds[i] if kinds else _kind(rng, style, i))
        if panel.kind != "kpi":  # a row of KPI tiles is drawn, but numbers in boxes are no figure
            gold.append(panel)
    if style.layout == "one_line_titles":
        _one_line_titles(page, style, gold, margin + (6 if style.frame != "none" else 0), width + gap)
    if style.layout == "shared_legend":
        names, bottom = list(ANSWERS[:5]), y + 10 + rows * height + (rows - 1) * gap
        _legend(Pen(page), names, list(COLOURS[:5]), margin, bottom + 6, True, 8.0, size[0] - 2 * margin)
    return gold


def _one_line_titles(
    page: pymupdf.Page, style: Style, gold: list[GoldPanel], left: float, pitch: float
) -> None:
    """Layout class "titles of a row in one line": the titles of each row's two panels written as one line of
    text, spaces between them up to the right column's title (a word processor's tab)."""
    font, size = style.title_font, style.title_size
    space = pymupdf.get_text_length(" ", fontname=font, fontsize=size)
    for first in range(0, len(gold), 2):
        row = gold[first : first + 2]
        text = row[0].title
        if len(row) == 2:
            gap = pitch - pymupdf.get_text_length(text, fontname=font, fontsize=size)
            text += " " * max(1, round(gap / space)) + row[1].title
        top = row[0].box[1] + (6 if style.frame != "none" else 0)
        page.insert_text((left, top + 1.2 * size), text, fontsize=size, fontname=font)


def _kind(rng: random.Random, style: Style, index: int) -> str:
    """The chart kind of a page's panel ``index`` under the report's layout class."""
    if style.layout == "stacked_columns":
        return "stacked_columns"
    if style.layout == "shared_legend":
        return rng.choice(("stacked", "stacked_columns"))
    if style.layout == "kpi_tiles" and index == 0:
        return "kpi"
    return rng.choice(CHARTS)


def _panel(
    page: pymupdf.Page, rng: random.Random, style: Style, box: Box, number: int, kind: str
) -> GoldPanel:
    pad = 6 if style.frame != "none" else 0
    inner = x0, y0, x1, _ = (box[0] + pad, box[1] + pad, box[2] - pad, box[3] - pad)
    if style.frame == "card":
        page.draw_rect(box, color=None, fill=(0.95, 0.96, 0.98))
    elif style.frame in ("stroke", "banner"):
        page.draw_rect(box, color=(0.75, 0.75, 0.75), width=0.6)
    pen = Pen(page)
    left = style.layout == "title_left"
    title_w = 0.3 * (x1 - x0) if left else x1 - x0
    lines, second = _title_text(rng, style, title_w - (8 if left else 0))
    th = _title_height(style, lines, second)
    bottom = inner[3] - (12 if style.source else 0)
    source_y = inner[3] - 2
    at, area, grey = (x0, y0), (x0, y0 + th, x1, bottom), 0.0
    if style.layout == "notes_under":
        bottom -= 12  # room for the note line over the source
    if left:
        area = (x0 + title_w, y0, x1, bottom)
    elif style.frame == "banner":  # the title in white on a coloured band across the frame's top
        page.draw_rect((box[0], box[1], box[2], y0 + th - 4), color=None, fill=COLOURS[0])
        area, grey = (x0, y0 + th + 2, x1, bottom), 1.0
    else:
        area = (x0 + style.indent, y0 + th, x1, bottom)
    _title_decoration(pen, style, (x0, y0, x1, y0 + th))
    if style.layout == "one_line_titles":  # survey_page writes the row's titles as one line
        _draw_chart(kind, pen, rng, style, area)
        size = style.title_size
        width = pymupdf.get_text_length(lines[0], style.title_font, size)
        pen._grow((x0, y0 + 0.4 * size, x0 + width, y0 + 1.4 * size))
    elif style.layout == "title_below":  # the title right under the chart's lowest mark, the source under it
        _draw_chart(kind, pen, rng, style, (x0, y0, x1, bottom - th))
        low = (pen.extent or inner)[3] + 2
        _draw_title(pen, style, lines, second, x0, low, grey)
        source_y = low + th + 8
    elif style.layout == "outlined_text":
        _draw_title(pen, style, lines, second, *at, grey)
        _outlined_chart(pen, rng, style, kind, area)
    elif style.layout == "picture_chart":
        # the title printed over the picture's blank top, or above the picture
        clip_top = y0 if rng.random() < 0.5 else area[1]
        _picture_chart(pen, rng, style, kind, area, clip_top)
        _draw_title(pen, style, lines, second, *at, grey)
    else:
        _draw_title(pen, style, lines, second, *at, grey)
        _draw_chart(kind, pen, rng, style, area)
    extent = tuple(pen.extent or inner) if style.frame == "none" else box  # a frame or card bounds its panel
    if style.layout == "notes_under":  # a base or note line under the chart, then the source
        low = (pen.extent or inner)[3]
        font = "hebo" if rng.random() < 0.3 else "helv"
        page.insert_text((inner[0], low + 11), rng.choice(NOTES), fontsize=7, fontname=font, color=(0.3,) * 3)
        source_y = low + 21
    if style.source:
        page.insert_text(
            (inner[0], source_y),
            "Source: Cloud Operations Survey 2026, fieldwork May-June.",
            fontsize=6.5,
            color=(0.4, 0.4, 0.4),
        )
    return GoldPanel(number, extent, " ".join(lines), kind, tuple(pen.names), tuple(pen.words))  # type: ignore[arg-type]


def _title_decoration(pen: Pen, style: Style, band: Box) -> None:
    """What a layout class draws with a title over the band ``band`` it takes: a tinted box behind it
    (title_box) or a coloured rule under it (title_rule)."""
    x0, y0, x1, y1 = band
    if style.layout == "title_box":
        pen.rect((x0 - 4, y0 - 3, x1, y1 - 4), (0.88, 0.92, 0.97))
    elif style.layout == "title_rule":
        pen.page.draw_line((x0, y1 - 7), (x1, y1 - 7), color=COLOURS[0], width=1.5)
        pen._grow((x0, y1 - 8, x1, y1 - 6))


def _picture_chart(pen: Pen, rng: random.Random, style: Style, kind: str, area: Box, clip_top: float) -> None:
    """Layout class "chart exported as a picture": the chart drawn on a scratch page of the same size and
    placed as one raster image (150 dpi) from ``clip_top`` to below its lowest mark, its words pixels."""
    scratch = pymupdf.open()
    sheet = scratch.new_page(width=pen.page.rect.width, height=pen.page.rect.height)
    drawn = Pen(sheet)
    _draw_chart(kind, drawn, rng, style, area)
    low = (drawn.extent or area)[3] + 4
    clip = (area[0], clip_top, area[2], low)
    pen.page.insert_image(pymupdf.Rect(clip), pixmap=sheet.get_pixmap(clip=pymupdf.Rect(clip), dpi=150))
    pen._grow(clip)


def _outlined_chart(pen: Pen, rng: random.Random, style: Style, kind: str, area: Box) -> None:
    """Layout class "chart with outlined text": the chart drawn on a scratch page, its text converted to
    paths (MuPDF's SVG writer) and the result placed over the page as a form: vector marks, no text layer."""
    scratch = pymupdf.open()
    sheet = scratch.new_page(width=pen.page.rect.width, height=pen.page.rect.height)
    drawn = Pen(sheet)
    _draw_chart(kind, drawn, rng, style, area)
    svg = pymupdf.open("svg", sheet.get_svg_image(text_as_path=True).encode())
    outlined = pymupdf.open("pdf", svg.convert_to_pdf())
    pen.page.show_pdf_page(pen.page.rect, outlined, 0)
    pen.words += drawn.words
    pen._grow(tuple(drawn.extent or area))  # type: ignore[arg-type]


def generate(folder: Path, seeds: tuple[int, ...], layout: str = "base") -> dict[Path, list[GoldPanel]]:
    """One report per seed, written to ``folder``; its panels' truth by file."""
    reports = {}
    for seed in seeds:
        doc, gold = survey_report(seed, layout)
        path = folder / (f"survey-{seed}.pdf" if layout == "base" else f"survey-{layout}-{seed}.pdf")
        path.write_bytes(doc.tobytes())
        reports[path] = gold
    return reports


@dataclass
class PanelScore:
    panels: int = 0
    matched: int = 0
    merged: int = 0
    lost: int = 0
    units: int = 0
    title_exact: int = 0
    title_norm: int = 0
    ious: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    names: list[int] = field(default_factory=lambda: [0, 0])
    """Panels with a legend of their own whose unit's figure_text holds all its names: [right, all]."""
    words: list[int] = field(default_factory=lambda: [0, 0])
    """The charts' own words found in their best-overlapping unit's title and figure_text: [found, all]."""

    def add(self, other: PanelScore, name: str) -> None:
        for key in ("panels", "matched", "merged", "lost", "units", "title_exact", "title_norm"):
            setattr(self, key, getattr(self, key) + getattr(other, key))
        self.names = [a + b for a, b in zip(self.names, other.names, strict=True)]
        self.words = [a + b for a, b in zip(self.words, other.words, strict=True)]
        self.ious += other.ious
        self.errors += [f"{name} {line}" for line in other.errors]

    def as_dict(self) -> dict[str, float | int | str]:
        row: dict[str, float | int | str] = {
            "panels": self.panels,
            "units": self.units,
            "matched": self.matched,
            "merged": self.merged,
            "lost": self.lost,
            "extra_units": self.units - self.matched,
            "mean_iou": round(statistics.mean(self.ious), 3) if self.ious else 0.0,
            "title_exact": self.title_exact,
            "title_normalised": self.title_norm,
        }
        if self.names[1]:
            row["legend_names"] = "{}/{}".format(*self.names)
        if self.words[1]:
            row["chart_words"] = "{}/{}".format(*self.words)
        return row

    def add_words(self, gold: list[GoldPanel], units: list[tuple[int, Box, str]], texts: list[str]) -> None:
        """Count the words each gold panel's chart draws that its best-overlapping unit's ``texts`` (its
        title and figure_text) hold, as a searcher types them (``word_tokens``)."""
        for g in gold:
            want = word_tokens(" ".join(g.words))
            if not want:
                continue
            best = _best_unit(g, units)
            have = set() if best is None else word_tokens(texts[best])
            lost = sorted(want - have)
            self.words[0] += len(want) - len(lost)
            self.words[1] += len(want)
            if lost:
                self.errors.append(f"p{g.page} {g.kind} {g.title!r} words not kept: {lost[:8]}")

    def add_names(self, gold: list[GoldPanel], units: list[tuple[int, Box, str]], texts: list[str]) -> None:
        """Count the panels of ``gold`` with legend names whose best-overlapping unit's figure_text
        (``texts``, one per unit) holds them all (whitespace compared as one space)."""
        for g in gold:
            if not g.names:
                continue
            best = _best_unit(g, units)
            text = "" if best is None else _norm(texts[best])
            missing = [n for n in g.names if _norm(n) not in text]
            self.names[0] += not missing
            self.names[1] += 1
            if missing:
                self.errors.append(f"p{g.page} {g.kind} {g.title!r} figure_text lacks {missing}")


def _best_unit(g: GoldPanel, units: list[tuple[int, Box, str]]) -> int | None:
    """The index of the unit on ``g``'s page overlapping it most (None: no unit on its page)."""
    return max(
        (i for i, u in enumerate(units) if u[0] == g.page),
        key=lambda i: box_iou(g.box, units[i][1]),
        default=None,
    )


def word_tokens(text: str) -> set[str]:
    """The words of ``text`` as a searcher types them: runs of letters and digits, lower case (a value's
    "%" or a tick's "'" are no part of a word)."""
    return {w.lower() for w in re.findall(r"[^\W_]+", text)}


def _norm(text: str) -> str:
    return " ".join(text.split())


def score_panels(gold: list[GoldPanel], units: list[tuple[int, Box, str]]) -> PanelScore:
    """Match units (page, box, title) to gold panels one to one, best IoU first."""
    result = PanelScore(panels=len(gold), units=len(units))
    pairs = sorted(
        (
            (box_iou(g.box, u[1]), gi, ui)
            for gi, g in enumerate(gold)
            for ui, u in enumerate(units)
            if g.page == u[0]
        ),
        reverse=True,
    )
    used_g: dict[int, int] = {}
    used_u: set[int] = set()
    for overlap, gi, ui in pairs:
        if overlap >= IOU_MATCH and gi not in used_g and ui not in used_u:
            used_g[gi], _ = ui, used_u.add(ui)
    holds = {
        ui: [gi for gi, g in enumerate(gold) if g.page == u[0] and _half_in(g.box, u[1])]
        for ui, u in enumerate(units)
    }
    result.merged = sum(1 for gis in holds.values() if len(gis) >= 2)
    held = {gi for gis in holds.values() for gi in gis}
    for gi, g in enumerate(gold):
        if gi not in held:
            result.lost += 1
        if gi not in used_g:
            result.errors.append(f"p{g.page} {g.kind} {g.title!r}: no unit (IoU >= {IOU_MATCH})")
            continue
        unit = units[used_g[gi]]
        result.matched += 1
        result.ious.append(box_iou(g.box, unit[1]))
        exact = _norm(unit[2]) == _norm(g.title)
        result.title_exact += exact
        norm = title_matches(
            GoldFigure(
                doc="", page=g.page, bbox=g.box, kind="vector", label=None, caption=None, title=g.title
            ),
            unit[2],
        )
        result.title_norm += norm
        if not exact:
            result.errors.append(f"p{g.page} {g.kind} title {unit[2]!r}, want {g.title!r}")
    for ui, gis in holds.items():
        if len(gis) >= 2:
            result.errors.append(f"p{units[ui][0]} unit {units[ui][2]!r} merges {len(gis)} panels")
    return result


def _half_in(panel: Box, unit: Box) -> bool:
    return box_intersection(panel, unit) >= 0.5 * box_area(panel)


OCR_LAYOUTS = frozenset({"outlined_text"})
"""Classes whose chart words are pixels only once drawn: extracted with OCR on (no read cut by the load)."""


def run(seeds: tuple[int, ...], folder: Path, layout: str = "base") -> PanelScore:
    """Generate the reports of ``seeds``, extract them (OCR off, the pages being vectors and text, unless
    the class's words are outlines: OCR_LAYOUTS) and score."""
    total = PanelScore()
    ocr = layout in OCR_LAYOUTS
    settings = ExtractSettings(workers=1, ocr=ocr)
    if ocr:
        settings = settings.model_copy(update={"ocr_timeout_s": 600.0})
    for path, gold in generate(folder, seeds, layout).items():
        ex = extract_document(path, settings)
        units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title or "") for f in ex.figures]
        one = score_panels(gold, units)  # type: ignore[arg-type]
        texts = [f.unit.figure_text or "" for f in ex.figures]
        one.add_names(gold, units, texts)  # type: ignore[arg-type]
        one.add_words(gold, units, [f"{u[2]}\n{t}" for u, t in zip(units, texts, strict=True)])  # type: ignore[arg-type]
        total.add(one, path.stem)
    return total


def add_part_arguments(parser: argparse.ArgumentParser, out_help: str) -> None:
    """The options every page generator's command has: which seed part, errors shown, JSON, a folder kept."""
    parser.add_argument("--part", choices=("tune", "report", "both"), default="tune")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--out", type=Path, help=out_help)


def print_results(
    results: Mapping[str, tuple[Mapping[str, Any], Sequence[str]]], as_json: bool, errors: bool
) -> None:
    """A page generator's report: its rows (``name: (scores, errors)``) as one JSON object, or a row a line,
    each followed by its errors when asked."""
    if as_json:
        print(json.dumps({name: row for name, (row, _) in results.items()}))
        return
    for name, (row, row_errors) in results.items():
        print(name, dict(row))
        if errors:
            for line in row_errors:
                print("   ", line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_part_arguments(parser, "keep the generated PDFs here")
    parser.add_argument(
        "--layouts",
        default="base",
        help=f"comma-separated layout classes, or 'all' (default base): {', '.join(LAYOUTS)}",
    )
    args = parser.parse_args()
    layouts = list(LAYOUTS) if args.layouts == "all" else args.layouts.split(",")
    if unknown := [name for name in layouts if name not in LAYOUTS]:
        parser.error(f"unknown layout class(es): {', '.join(unknown)}; known: {', '.join(LAYOUTS)}")
    parts = {"tune": TUNE_SEEDS, "report": REPORT_SEEDS}
    names = ["tune", "report"] if args.part == "both" else [args.part]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for layout in layouts:
            for name in names:
                key = name if layout == "base" else f"{name} {layout}"
                results[key] = run(parts[name], folder, layout)
    print_results({k: (v.as_dict(), v.errors) for k, v in results.items()}, args.json, args.show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
