"""Generated report pages made as web pages, charts drawn by a real chart library, printed to PDF by Chromium,
and how extraction does on them (issue 13: titled, separate units for multi-chart survey pages).

    npm install --prefix bench          # once: Apache ECharts into bench/node_modules (git-ignored)
    python bench/web_pages.py [--part tune|report|both] [--show-errors] [--json] [--out DIR]

Why a third generator: bench/survey_pages.py draws its pages with PyMuPDF calls of our own and
bench/deck_pages.py has LibreOffice draw office charts; many real reports are web pages or made with web-based
design tools and printed to PDF, so their drawing, text runs and clipping are a browser's and a chart
library's. Here Python writes an HTML page, Apache ECharts (npm, rendered server-side in node to SVG,
``bench/web_pages_charts.cjs``) draws each chart, and headless Chromium (Playwright, /usr/bin/chromium)
lays the page out and prints it to PDF.

Layout class: "a web report page of titled chart cards": a Letter or A4 page (portrait or landscape) with
sometimes a running header, a page title, a lead paragraph, a row of KPI tiles (big number, label), then
1-6 chart cards in a CSS grid of 1 to 4 columns, in one or two sections each under a section heading;
sometimes a paragraph of prose in a grid cell beside the cards. Each card: its own title (an h3, a bold
line, or a larger plain line; sometimes the survey question "Q7. Which ...?" itself), sometimes a
subtitle ("Base: ...") or a question line under it, the chart (bars horizontal and vertical, stacked and
grouped, lines, pies and doughnuts; legend at the top, bottom, left, right or none; data labels on some),
sometimes a "Source: ..." note under it; cards framed (a border), on a tinted card, or on white. Every
choice is drawn from ``random.Random(seed)``.

Ground truth from the laid-out page (``getBoundingClientRect``, CSS px * 0.75 = PDF points; the PDF page
size is checked to match): a framed or tinted card's box, else the union of its title's box and the
chart's marks (its SVG's drawn elements); its title (the title element's text, subtitle not included).
Scored with bench/survey_pages.py's panel metrics (``score_panels``): one unit per chart (IoU >= 0.5, one to
one), none merged, none lost, title right, and (``legend_names``) each shown legend's names in the
figure_text of the chart's best-overlapping unit. KPI tiles and prose are not panels: a unit of them
counts as an extra unit.

Seeds: the **tune** part (:data:`TUNE_SEEDS`) is for developing rules; the **report** part
(:data:`REPORT_SEEDS`) is for reporting only: do not look at its pages or errors while tuning.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf

sys.path.insert(0, str(Path(__file__).parent))
from survey_pages import GoldPanel, PanelScore, add_part_arguments, print_results, score_panels

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings

TUNE_SEEDS = tuple(range(5000, 5020))
"""20 reports of 2 pages to develop rules on."""
REPORT_SEEDS = tuple(range(8500, 8520))
"""20 reports of 2 pages for reporting only."""
PAGES_PER_REPORT = 2
PT_PER_PX = 0.75
HERE = Path(__file__).parent
RENDERER = HERE / "web_pages_charts.cjs"
NODE_TIMEOUT_S = 300
PAGE_SIZES = ((816, 1056), (794, 1123), (1056, 816), (1123, 794))
"""Letter and A4, portrait and landscape, in CSS px."""
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]

PALETTES = (
    ("#2f6db5", "#ee7d31", "#a5a5a5", "#fbbf33", "#44a05c", "#8c59a3"),
    ("#0f4c81", "#5fa8d3", "#cae9ff", "#f29e4c", "#e55934", "#7a9e7e"),
    ("#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8d99ae"),
)
FONTS = ("Helvetica, Arial, sans-serif", "'DejaVu Sans', sans-serif", "Georgia, serif")
ANSWERS = ("Strongly agree", "Agree", "Neutral", "Disagree", "Strongly disagree", "Not sure")
CATEGORIES = (
    "Security and compliance tooling",
    "Cost visibility across teams",
    "Developer self-service",
    "Multi-cluster networking",
    "Observability and tracing",
    "Backup and recovery",
    "Policy as code",
    "Managed databases",
    "Internal developer portals",
    "Release automation",
)
SHORT_CATEGORIES = ("Enterprise", "Mid-market", "Small business", "Public sector", "Startups", "Retail")
PERIODS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SERIES = ("2024", "2025", "2026", "Europe", "Americas", "Asia Pacific", "Plan", "Actual")
TITLES = (
    "Clusters in production",
    "Deployment frequency",
    "Top challenges",
    "Budget change next year",
    "Primary cloud provider",
    "Team size by company size",
    "Incidents per quarter",
    "Adoption by region",
    "Tools evaluated",
    "Satisfaction with support",
    "Mean time to recovery",
    "Revenue by segment",
    "Net promoter score",
    "Share of workloads migrated",
    "Monthly active users",
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
SUBTITLES = (
    "Base: all respondents (n={n:,})",
    "Share of respondents, %",
    "Base: respondents running containers (n={n:,})",
    "Percentage of organisations, 2026",
    "In millions of US dollars",
)
PAGE_TITLES = (
    "Production readiness at a glance",
    "How teams operate their platforms",
    "Key performance indicators",
    "Adoption and maturity",
    "Spending and priorities",
    "Customer experience dashboard",
)
SECTIONS = ("Adoption", "Operations", "Spending", "People and skills", "Customer outcomes", "Reliability")
HEADERS = ("2026 Cloud Operations Survey", "State of Platform Engineering | Findings", "Quarterly KPI Report")
KPI_LABELS = ("Respondents", "Countries", "Median team size", "Revenue growth", "NPS", "Uptime")
PROSE = (
    "Most organisations now run more than one cluster in production, and the share running ten or more "
    "has doubled since last year. Larger companies lead, but mid-market teams are catching up quickly, "
    "helped by managed offerings. Respondents who adopted platform teams report fewer incidents and a "
    "shorter time to recovery."
)
SOURCES = ("Source: Cloud Operations Survey 2026, fieldwork May-June.", "Source: company filings; analysis.")
CHARTS = (
    "hbars",
    "hbars_stacked",
    "columns",
    "columns_grouped",
    "columns_stacked",
    "lines",
    "pie",
    "doughnut",
)


@dataclass
class Style:
    """What a report's cards share (a report sets all its cards alike)."""

    font: str
    palette: tuple[str, ...]
    title_tag: str  # h3, bold, plain
    title_px: int
    frame: str  # border, tint, none
    subtitle: float  # chance of a subtitle under a card's title
    question: float  # chance of the title being a survey question
    source: float  # chance of a source note under a card
    legend: str  # top, bottom, left, right, none, mixed
    labels: float  # chance of data labels


@dataclass
class Card:
    kind: str
    title: str
    sub: str
    source: str
    width: int
    height: int
    option: dict[str, Any]
    svg: str = ""


@dataclass
class Page:
    width: int
    height: int
    header: str
    title: str
    lead: bool
    kpis: list[tuple[str, str]]
    sections: list[tuple[str, int, list[Card | None]]]  # heading, columns, cells (None: prose)
    gap: int
    margin: int


@dataclass
class WebTruth:
    size: tuple[float, float]
    panels: list[GoldPanel] = field(default_factory=list)


def _style(rng: random.Random) -> Style:
    return Style(
        font=rng.choice(FONTS),
        palette=rng.choice(PALETTES),
        title_tag=rng.choice(("h3", "bold", "plain")),
        title_px=rng.choice((14, 15, 16, 18)),
        frame=rng.choice(("border", "tint", "none")),
        subtitle=rng.choice((0.0, 0.5, 1.0)),
        question=rng.choice((0.0, 0.0, 0.5)),
        source=rng.choice((0.0, 0.5, 1.0)),
        legend=rng.choice(("top", "bottom", "left", "right", "none", "mixed")),
        labels=rng.choice((0.0, 0.3, 0.7)),
    )


def _legend(rng: random.Random, style: Style, names: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The legend's option and the grid room it needs (ECharts' grid does not make room for it)."""
    where = (
        rng.choice(("top", "bottom", "left", "right", "none")) if style.legend == "mixed" else style.legend
    )
    base = {"data": names, "itemWidth": 12, "itemHeight": 8, "textStyle": {"fontSize": 10}}
    if where == "none":
        return {"show": False}, {}
    if where in ("top", "bottom"):
        return {**base, where: 0}, {where: 28}
    return {**base, where: 0, "orient": "vertical", "top": "middle"}, {where: 110}


def _values(rng: random.Random, n: int, high: int = 60) -> list[int]:
    return [rng.randrange(3, high) for _ in range(n)]


def _option(rng: random.Random, style: Style, kind: str) -> dict[str, Any]:
    """An ECharts option for one chart of ``kind`` (CHARTS)."""
    labels = rng.random() < style.labels
    if kind in ("pie", "doughnut"):
        names = rng.sample(ANSWERS, rng.randrange(3, 6))
        legend, _ = _legend(rng, style, names)
        radius = ["38%", "62%"] if kind == "doughnut" else "62%"
        label = {"show": labels or legend.get("show") is False, "formatter": "{b}: {d}%", "fontSize": 10}
        data = [{"name": n, "value": v} for n, v in zip(names, _values(rng, len(names)), strict=True)]
        return {
            "color": list(style.palette),
            "legend": legend,
            "series": [{"type": "pie", "radius": radius, "data": data, "label": label}],
        }
    horizontal = kind.startswith("hbars")
    if kind == "lines":
        cats = list(PERIODS[: rng.randrange(6, 13)])
    elif horizontal:
        cats = rng.sample(CATEGORIES, rng.randrange(4, 8))
    else:
        cats = rng.sample(SHORT_CATEGORIES, rng.randrange(3, 6))
    stacked = kind.endswith("stacked")
    count = 1 if kind in ("hbars", "columns") else rng.randrange(2, 5)
    names = rng.sample(ANSWERS if stacked else SERIES, count)
    legend, room = _legend(rng, style, names)
    if count == 1:
        legend, room = {"show": False}, {}
    series = []
    for name in names:
        one: dict[str, Any] = {"name": name, "type": "line" if kind == "lines" else "bar"}
        one["data"] = _values(rng, len(cats))
        if stacked:
            one["stack"] = "total"
        if labels:
            one["label"] = {
                "show": True,
                "fontSize": 9,
                "position": "inside" if stacked else ("right" if horizontal else "top"),
            }
        series.append(one)
    category = {"type": "category", "data": cats, "axisLabel": {"fontSize": 10}}
    value = {"type": "value", "axisLabel": {"fontSize": 10}}
    grid = {"left": 8, "right": 16, "top": 12, "bottom": 8, "containLabel": True}
    grid.update({k: v + 8 for k, v in room.items()})
    return {
        "color": list(style.palette),
        "legend": legend,
        "grid": grid,
        "xAxis": value if horizontal else category,
        "yAxis": category if horizontal else value,
        "series": series,
    }


def _title(rng: random.Random, style: Style) -> tuple[str, str]:
    """A card's title and its line under it ("" when none)."""
    question = rng.random() < style.question
    title = f"Q{rng.randrange(1, 40)}. {rng.choice(QUESTIONS)}" if question else rng.choice(TITLES)
    sub = ""
    if rng.random() < style.subtitle:
        sub = rng.choice(SUBTITLES).format(n=rng.randrange(300, 4000))
        if not question and rng.random() < 0.3:
            sub = f"Q{rng.randrange(1, 40)}. {rng.choice(QUESTIONS)}"
    return title, sub


def _page(rng: random.Random, style: Style, size: tuple[int, int]) -> Page:
    width, height = size
    page = Page(
        width=width,
        height=height,
        header=rng.choice(HEADERS) if rng.random() < 0.5 else "",
        title=rng.choice(PAGE_TITLES) if rng.random() < 0.85 else "",
        lead=rng.random() < 0.35,
        kpis=[],
        sections=[],
        gap=rng.choice((16, 24, 32)),
        margin=rng.choice((40, 48, 56)),
    )
    if rng.random() < 0.3:
        page.kpis = [
            (rng.choice(("1,284", "37", "12.4%", "+8%", "64", "99.95%")), label)
            for label in rng.sample(KPI_LABELS, rng.randrange(3, 5))
        ]
    n = rng.randrange(1, 7)
    landscape = width > height
    sections = [n] if n < 4 or rng.random() < 0.6 else [n // 2, n - n // 2]
    used = 60 + (30 if page.header else 0) + (44 if page.title else 0) + (70 if page.lead else 0)
    used += 90 if page.kpis else 0
    used += 36 * len(sections) + 40
    plans = []
    most_rows = (2 if landscape else 4) // len(sections)  # a page holds at most 2 (4) rows of cards
    for count in sections:
        cols = min(count, rng.choice((2, 3) if landscape else (1, 2, 2)))
        prose = (count % cols != 0 and rng.random() < 0.7) or (count == 1 and rng.random() < 0.3)
        cols = max(cols, 2 if prose else 1, math.ceil((count + prose) / most_rows))
        plans.append((count, cols, prose))
    rows = sum(math.ceil((count + prose) / cols) for count, cols, prose in plans)
    room = (height - used - (rows - 1) * page.gap) / rows
    for count, cols, prose in plans:
        card_w = (width - 2 * page.margin - (cols - 1) * page.gap) // cols
        cells: list[Card | None] = []
        for _ in range(count):
            title, sub = _title(rng, style)
            kind = rng.choice(CHARTS)
            chars = 9 * card_w / style.title_px
            lines = math.ceil(len(title) / chars) + (math.ceil(len(sub) / (card_w / 6.5)) if sub else 0)
            source = rng.choice(SOURCES) if rng.random() < style.source else ""
            chrome = 24 + lines * style.title_px * 1.4 + (18 if source else 0) + 20
            chart_h = int(min(300, max(120, room - chrome)))
            cells.append(Card(kind, title, sub, source, card_w - 24, chart_h, _option(rng, style, kind)))
        if prose:
            cells.insert(rng.randrange(len(cells) + 1), None)
        heading = rng.choice(SECTIONS) if len(sections) > 1 or rng.random() < 0.4 else ""
        page.sections.append((heading, cols, cells))
    return page


def render_charts(cards: list[Card], node_modules: Path) -> None:
    """Every card's chart drawn to SVG by ECharts in one node process."""
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node not found: ECharts renders the charts in node")
    jobs = [{"option": c.option, "width": c.width, "height": c.height} for c in cards]
    done = subprocess.run(
        [node, str(RENDERER)],
        input=json.dumps(jobs),
        capture_output=True,
        text=True,
        timeout=NODE_TIMEOUT_S,
        env={**os.environ, "NODE_PATH": str(node_modules)},
        check=True,
    )
    for i, (card, svg) in enumerate(zip(cards, json.loads(done.stdout), strict=True)):
        # one page holds several SVGs, each with a <style> of its own: keep their class names apart
        card.svg = re.sub(r"zr\d+-cls-", f"c{i}-cls-", svg)


CSS = """
@page {{ size: {w}px {h}px; margin: 0; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; padding: 0; }}
body {{ width: {w}px; height: {h}px; overflow: hidden; font-family: {font}; color: #222; }}
.page {{ padding: 28px {m}px 0 {m}px; }}
.header {{ font-size: 11px; color: #666; border-bottom: 1px solid #bbb; padding-bottom: 4px;
  margin-bottom: 12px; }}
h1 {{ font-size: 26px; margin: 6px 0 10px 0; }}
h2 {{ font-size: 17px; margin: 14px 0 8px 0; color: #333; }}
.lead {{ font-size: 12px; line-height: 1.45; margin: 0 0 10px 0; }}
.kpis {{ display: flex; gap: 12px; margin: 6px 0 8px 0; }}
.kpi {{ flex: 1; background: {tile}; color: #fff; padding: 10px 12px; border-radius: 6px; }}
.kpi b {{ display: block; font-size: 24px; }}
.kpi span {{ font-size: 11px; }}
.grid {{ display: grid; gap: {g}px; }}
.card {{ padding: 12px; {frame} }}
.t {{ margin: 0 0 4px 0; font-size: {tp}px; line-height: 1.3; {weight} }}
.sub {{ font-size: 11px; color: #666; margin: 0 0 4px 0; }}
.src {{ font-size: 9px; color: #777; margin-top: 4px; }}
.prose {{ font-size: 12px; line-height: 1.5; padding: 12px; }}
.foot {{ position: absolute; bottom: 16px; width: {w}px; text-align: center; font-size: 10px; color: #777; }}
"""
FRAMES = {
    "border": "border: 1px solid #cfd4da; border-radius: 8px;",
    "tint": "background: #f2f5f9;",
    "none": "",
}


def page_html(page: Page, style: Style, number: int) -> str:
    """The page as one HTML document; each card carries ``data-panel`` and its title ``class="t"``."""
    weight = {"h3": "font-weight: 700;", "bold": "font-weight: 700;", "plain": "font-weight: 400;"}
    css = CSS.format(
        w=page.width,
        h=page.height,
        m=page.margin,
        g=page.gap,
        font=style.font,
        tile=style.palette[0],
        frame=FRAMES[style.frame],
        tp=style.title_px + (2 if style.title_tag == "plain" else 0),
        weight=weight[style.title_tag],
    )
    tag = "h3" if style.title_tag == "h3" else "div"
    head = f"<!doctype html><html><head><meta charset='utf-8'><style>{css}</style></head>"
    out = [f"{head}<body><div class='page'>"]
    if page.header:
        out.append(f"<div class='header'>{html.escape(page.header)}</div>")
    if page.title:
        out.append(f"<h1>{html.escape(page.title)}</h1>")
    if page.lead:
        out.append(f"<p class='lead'>{html.escape(PROSE.split('. ')[0])}.</p>")
    if page.kpis:
        tiles = "".join(
            f"<div class='kpi'><b>{v}</b><span>{html.escape(k)}</span></div>" for v, k in page.kpis
        )
        out.append(f"<div class='kpis'>{tiles}</div>")
    index = 0
    for heading, cols, cells in page.sections:
        if heading:
            out.append(f"<h2>{html.escape(heading)}</h2>")
        cw = (page.width - 2 * page.margin - (cols - 1) * page.gap) // cols
        out.append(f"<div class='grid' style='grid-template-columns: repeat({cols}, {cw}px)'>")
        for card in cells:
            if card is None:
                out.append(f"<div class='prose'>{html.escape(PROSE)}</div>")
                continue
            sub = f"<div class='sub'>{html.escape(card.sub)}</div>" if card.sub else ""
            src = f"<div class='src'>{html.escape(card.source)}</div>" if card.source else ""
            out.append(
                f"<div class='card' data-panel='{index}' data-kind='{card.kind}'>"
                f"<{tag} class='t'>{html.escape(card.title)}</{tag}>{sub}"
                f"<div class='chart' style='height:{card.height}px'>{card.svg}</div>{src}</div>"
            )
            index += 1
        out.append("</div>")
    out.append(f"</div><div class='foot'>{number}</div></body></html>")
    return "".join(out)


MEASURE_JS = """
(framed) => {
  const marks = (svg) => {
    let box = null;
    for (const el of svg.querySelectorAll('path, text, rect, circle, polyline, polygon, line')) {
      const fill = el.getAttribute('fill'), stroke = el.getAttribute('stroke');
      if ((fill === 'none' || fill === 'transparent') && (!stroke || stroke === 'none')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      box = box ? [Math.min(box[0], r.left), Math.min(box[1], r.top), Math.max(box[2], r.right),
                   Math.max(box[3], r.bottom)] : [r.left, r.top, r.right, r.bottom];
    }
    return box;
  };
  const cards = [...document.querySelectorAll('[data-panel]')].map((card) => {
    const t = card.querySelector('.t').getBoundingClientRect();
    const c = card.getBoundingClientRect();
    let box = [c.left, c.top, c.right, c.bottom];
    if (!framed) {
      const m = marks(card.querySelector('svg')) || [t.left, t.top, t.right, t.bottom];
      box = [Math.min(t.left, m[0]), t.top, Math.max(t.right, m[2]), Math.max(t.bottom, m[3])];
    }
    return {box, title: card.querySelector('.t').innerText, kind: card.dataset.kind};
  });
  return {cards, overflow: document.querySelector('.page').scrollHeight > document.body.clientHeight - 40};
}
"""


def _print(browser: Any, doc_html: str, page: Page, framed: bool) -> tuple[bytes, list[dict[str, Any]], bool]:
    tab = browser.new_page(viewport={"width": page.width, "height": page.height})
    try:
        tab.emulate_media(media="print")
        tab.set_content(doc_html)
        measured = tab.evaluate(MEASURE_JS, framed)
        pdf = tab.pdf(
            width=f"{page.width}px",
            height=f"{page.height}px",
            margin={"top": "0", "right": "0", "bottom": "0", "left": "0"},
            print_background=True,
            prefer_css_page_size=True,
        )
    finally:
        tab.close()
    return pdf, measured["cards"], measured["overflow"]


def report(seed: int, browser: Any, node_modules: Path) -> tuple[bytes, WebTruth]:
    """A report of PAGES_PER_REPORT pages of one size and one style as PDF, and its panels' truth. A page
    whose content runs past its foot is laid out again with its charts 15 % shorter."""
    rng = random.Random(seed)
    size = rng.choice(PAGE_SIZES)
    style = _style(rng)
    out = pymupdf.open()
    truth = WebTruth((size[0] * PT_PER_PX, size[1] * PT_PER_PX))
    for number in range(1, PAGES_PER_REPORT + 1):
        page = _page(rng, style, size)
        cards = [c for _, _, cells in page.sections for c in cells if c is not None]
        for _ in range(6):
            render_charts(cards, node_modules)
            pdf, measured, overflow = _print(
                browser, page_html(page, style, number), page, style.frame != "none"
            )
            if not overflow:
                break
            for card in cards:
                card.height = int(card.height * 0.85)
        else:
            raise RuntimeError(f"seed {seed} page {number}: the content does not fit the page")
        one = pymupdf.open("pdf", pdf)
        if one.page_count != 1 or abs(one[0].rect.width - truth.size[0]) > 1:
            raise RuntimeError(f"seed {seed} page {number}: printed {one.page_count} pages, {one[0].rect}")
        out.insert_pdf(one)
        for m, card in zip(measured, cards, strict=True):  # data-panel numbers the cards in this order
            box = tuple(round(v * PT_PER_PX, 2) for v in m["box"])
            title = " ".join(m["title"].split())
            truth.panels.append(GoldPanel(number, box, title, m["kind"], _legend_names(card)))  # type: ignore[arg-type]
    return out.tobytes(), truth


def _legend_names(card: Card) -> tuple[str, ...]:
    """The names the card's chart shows in its legend (none when the legend is hidden)."""
    legend = card.option.get("legend", {})
    return () if legend.get("show") is False else tuple(legend.get("data", ()))


def truth_json(truth: WebTruth) -> str:
    """The truth as JSON: the page size (points) and each panel's page, box (points), title, kind and
    legend names."""
    panels = [
        {"page": g.page, "box": g.box, "title": g.title, "kind": g.kind, "names": list(g.names)}
        for g in truth.panels
    ]
    return json.dumps({"size": truth.size, "panels": panels}, indent=1)


def read_truth(path: Path) -> WebTruth:
    """A truth written by :func:`truth_json`."""
    data = json.loads(path.read_text())
    panels = [
        GoldPanel(p["page"], tuple(p["box"]), p["title"], p["kind"], tuple(p.get("names", ())))
        for p in data["panels"]
    ]
    return WebTruth(tuple(data["size"]), panels)  # type: ignore[arg-type]


def generate(folder: Path, seeds: tuple[int, ...], node_modules: Path) -> dict[Path, WebTruth]:
    """One report per seed, written to ``folder``; its panels' truth by file."""
    from playwright.sync_api import sync_playwright

    reports = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for seed in seeds:
                pdf, truth = report(seed, browser, node_modules)
                path = folder / f"web-{seed}.pdf"
                path.write_bytes(pdf)
                path.with_suffix(".json").write_text(truth_json(truth))
                reports[path] = truth
        finally:
            browser.close()
    return reports


def run(seeds: tuple[int, ...], folder: Path, node_modules: Path) -> PanelScore:
    """Generate the reports of ``seeds``, extract them (OCR off: the pages are vectors and text) and score."""
    total = PanelScore()
    for path, truth in generate(folder, seeds, node_modules).items():
        total.add(score_pdf(path, truth), path.stem)
    return total


def score_pdf(path: Path, truth: WebTruth) -> PanelScore:
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = [(f.unit.page, tuple(f.unit.bbox), f.unit.title or "") for f in ex.figures]
    score = score_panels(truth.panels, units)  # type: ignore[arg-type]
    score.add_names(truth.panels, units, [f.unit.figure_text or "" for f in ex.figures])  # type: ignore[arg-type]
    return score


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_part_arguments(parser, "keep the generated PDFs here")
    parser.add_argument(
        "--node-modules",
        type=Path,
        default=HERE / "node_modules",
        help="where echarts is installed (default bench/node_modules: npm install --prefix bench)",
    )
    args = parser.parse_args()
    if not (args.node_modules / "echarts").is_dir():
        parser.error(f"echarts not found under {args.node_modules}: run npm install --prefix bench")
    if not CHROMIUM.exists():
        parser.error(f"{CHROMIUM} not found: Chromium lays the pages out and prints them")
    parts = {"tune": TUNE_SEEDS, "report": REPORT_SEEDS}
    names = ["tune", "report"] if args.part == "both" else [args.part]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder = (args.out or Path(tmp)) / name
            folder.mkdir(parents=True, exist_ok=True)
            results[name] = run(parts[name], folder, args.node_modules)
    print_results({k: (v.as_dict(), v.errors) for k, v in results.items()}, args.json, args.show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
