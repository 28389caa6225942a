"""Generated slide decks with native charts, drawn by a real office renderer, and how extraction does on them
(issue 13: "slides saved as PDF" and "PPTX parity").

    python bench/deck_pages.py [--part tune|report|both] [--path pdf|pptx|both] [--show-errors] [--json]
        [--out DIR]

Why a second generator: bench/survey_pages.py draws its pages with PyMuPDF calls of our own, and rules tuned
on them fit its drawing habits. Here python-pptx builds decks the way companies make them and LibreOffice
(headless, a profile of its own, a timeout) saves them as PDF, so the PDF's drawing, text runs and clipping
are the renderer's, not ours.

Layout class: "a slide of native office charts under a slide title": a 16:9 or 4:3 slide with its title
placeholder, 1-4 native charts (``shapes.add_chart``: clustered, stacked and 100 % stacked bars and
columns, pie, doughnut, line with markers) in a 1-, 2- or 2x2 grid, each with its own chart title, or a bold
text box above it as its title, or no title; legends at the bottom, top, right or left, or none; data
labels on some; a "Source: ..." text box under some charts; on some slides a row of KPI tiles (filled
rectangles: a big number and a label) or a picture beside the charts. Every choice is drawn from
``random.Random(seed)``.

Ground truth from the deck itself: each chart's graphic frame box (EMU / 12700 = PDF points; the PDF page
size is checked to equal the slide size) and its title (the chart's own title when shown, else the text box
above it, else the slide title: issue 13, "a slide's graphic units carry the slide title as title", and
"slide-like PDF pages ... are handled like slides", alone on its slide or among several). Scored with
bench/survey_pages.py's panel metrics (``score_panels``):

- **pdf** (slides saved as PDF): one unit per chart (IoU >= 0.5, one to one), none merged, none lost,
  title right. Pictures and KPI tiles are not panels: a unit for them counts as an extra unit (a row of
  KPI tiles, numbers in boxes, is no figure on either path: issue 13 asks for charts and diagrams).
- **pptx** (the deck itself): one unit per chart and per picture (box: the shape's frame), its ``title``
  as on the PDF path (pictures: the slide title); and ``figure_text`` holding every series and category
  name of the chart (``text_ok``; the PDF path: the names the slide shows).

Seeds: the **tune** part (:data:`TUNE_SEEDS`) is for developing rules; the **report** part
(:data:`REPORT_SEEDS`) is for reporting only: do not look at its slides or errors while tuning.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymupdf
from PIL import Image, ImageDraw
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.util import Emu, Pt

sys.path.insert(0, str(Path(__file__).parent))
from survey_pages import GoldPanel, PanelScore, add_part_arguments, print_results, score_panels

from figvault.ingest.boxes import box_iou
from figvault.ingest.extract import extract_document
from figvault.ingest.slide_render import soffice_pdf_command
from figvault.settings import ExtractSettings

TUNE_SEEDS = tuple(range(3000, 3016))
"""16 decks of 3 slides to develop rules on."""
REPORT_SEEDS = tuple(range(7000, 7016))
"""16 decks of 3 slides for reporting only."""
SLIDES_PER_DECK = 3
EMU_PER_PT = 12700
SOFFICE_TIMEOUT_S = 600

SLIDE_SIZES = ((960.0, 540.0), (720.0, 540.0))
"""16:9 and 4:3 slides, in points."""
CHART_KINDS = {
    "columns": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "stacked_columns": XL_CHART_TYPE.COLUMN_STACKED,
    "stacked100_columns": XL_CHART_TYPE.COLUMN_STACKED_100,
    "bars": XL_CHART_TYPE.BAR_CLUSTERED,
    "stacked_bars": XL_CHART_TYPE.BAR_STACKED,
    "pie": XL_CHART_TYPE.PIE,
    "doughnut": XL_CHART_TYPE.DOUGHNUT,
    "line": XL_CHART_TYPE.LINE_MARKERS,
}
LEGENDS = {
    "bottom": XL_LEGEND_POSITION.BOTTOM,
    "top": XL_LEGEND_POSITION.TOP,
    "right": XL_LEGEND_POSITION.RIGHT,
    "left": XL_LEGEND_POSITION.LEFT,
}
CATEGORIES = (
    "North America",
    "Europe",
    "Asia Pacific",
    "Latin America",
    "Enterprise",
    "Mid-market",
    "Small business",
    "Public sector",
    "Online",
    "Retail stores",
    "Partners",
    "Direct sales",
)
QUARTERS = ("Q1", "Q2", "Q3", "Q4")
SERIES = ("FY2024", "FY2025", "Plan", "Actual", "Target", "Forecast", "Hardware", "Services", "Licences")
CHART_TITLES = (
    "Revenue by region",
    "Bookings by segment",
    "Customer churn rate",
    "Headcount by function",
    "Pipeline coverage",
    "Gross margin trend",
    "Share of wallet",
    "Net promoter score by channel",
    "Support tickets per quarter",
    "Operating expenses",
    "Orders by channel",
    "Market share",
)
SLIDE_TITLES = (
    "Quarterly business review",
    "Sales performance",
    "Where growth came from",
    "Financial highlights",
    "Customer metrics",
    "Operations dashboard",
    "Regional results",
)
KPI_LABELS = ("Revenue", "Gross margin", "New customers", "Churn", "NPS", "ARR growth")


@dataclass
class DeckTruth:
    """A deck's ground truth: its slide size (points), the PDF path's panels (charts) and the PPTX path's
    (charts and pictures, titled the PPTX way), and each chart's names that figure_text must hold."""

    size: tuple[float, float]
    pdf: list[GoldPanel]
    pptx: list[GoldPanel]
    names: dict[int, list[str]]  # index into ``pptx`` -> series and category names
    slide_titles: dict[int, str] = field(default_factory=dict)
    kpis: list[GoldPanel] = field(default_factory=list)
    """The slides' rows of KPI tiles (page, box): no figure on either path (a unit of one: an extra unit)."""
    drawn: dict[int, list[str]] = field(default_factory=dict)
    """Index into ``pptx`` -> the names the slide shows (what the PDF can hold): categories under the axis
    (in the legend for a pie or doughnut), series names in the legend; none in a legend not drawn."""


Unit = tuple[int, tuple[float, ...], str]
"""An extracted unit as scored: its page, box and title."""


def _pt(value: float) -> Emu:
    return Emu(round(value * EMU_PER_PT))


def _box(shape: Any) -> tuple[float, float, float, float]:
    x, y = shape.left / EMU_PER_PT, shape.top / EMU_PER_PT
    return (x, y, x + shape.width / EMU_PER_PT, y + shape.height / EMU_PER_PT)


def _chart_data(rng: random.Random, kind: str) -> tuple[CategoryChartData, list[str]]:
    """Categories and series for ``kind`` (one series for pie and doughnut) and all their names."""
    if kind == "line" or (kind.endswith("columns") and rng.random() < 0.4):
        cats = list(QUARTERS)
    else:
        cats = rng.sample(CATEGORIES, rng.randrange(3, 7))
    n_series = 1 if kind in ("pie", "doughnut") else rng.randrange(1 if kind in ("bars", "columns") else 2, 4)
    series = rng.sample(SERIES, n_series)
    data = CategoryChartData()
    data.categories = cats
    for name in series:
        data.add_series(name, [round(rng.uniform(5, 120), 1) for _ in cats])
    return data, [*series, *cats]


def _text_box(
    slide: Any, box: tuple[float, float, float, float], text: str, size: float, bold: bool, grey: int = 0x20
) -> None:
    tb = slide.shapes.add_textbox(_pt(box[0]), _pt(box[1]), _pt(box[2] - box[0]), _pt(box[3] - box[1]))
    frame = tb.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    run.font.size = Pt(size)
    run.font.bold = bold
    run.font.color.rgb = RGBColor(grey, grey, grey)


def _add_chart(
    slide: Any, rng: random.Random, cell: tuple[float, float, float, float], style: dict[str, Any]
) -> tuple[GoldPanel, list[str], list[str]]:
    """A native chart in ``cell`` (with its title text box above and source note under it when drawn):
    its truth (its frame box, its own title: the chart title, else the text box above it, else ""), its
    names and the names the slide shows."""
    x0, y0, x1, y1 = cell
    kind = rng.choice(list(CHART_KINDS))
    title = rng.choice(CHART_TITLES)
    mode = rng.choice(("own", "own", "box", "none"))
    top, bottom = y0, y1
    if mode == "box":
        size = rng.choice((12.0, 14.0, 16.0))
        _text_box(slide, (x0, y0, x1, y0 + size * 1.6 + 8), title, size, True)
        top = y0 + size * 1.6 + 10
    if style["source"]:
        bottom = y1 - 18
        _text_box(
            slide, (x0, bottom + 2, x1, y1), "Source: company filings, internal analysis", 8, False, 0x70
        )
    data, names = _chart_data(rng, kind)
    frame = slide.shapes.add_chart(
        CHART_KINDS[kind], _pt(x0), _pt(top), _pt(x1 - x0), _pt(bottom - top), data
    )
    chart = frame.chart
    if mode == "own":
        chart.has_title = True
        chart.chart_title.text_frame.text = title
        chart.chart_title.text_frame.paragraphs[0].runs[0].font.size = Pt(rng.choice((12, 14, 16)))
        chart.chart_title.text_frame.paragraphs[0].runs[0].font.bold = True
    else:
        chart.has_title = False  # also sets autoTitleDeleted: no series name shown as a title
    legend = style["legend"] if len(chart.plots[0].series) > 1 or kind in ("pie", "doughnut") else "none"
    chart.has_legend = legend != "none"
    if chart.has_legend:
        chart.legend.position = LEGENDS[legend]
        chart.legend.include_in_layout = False
        chart.legend.font.size = Pt(10)
    if style["labels"]:
        plot = chart.plots[0]
        plot.has_data_labels = True
        plot.data_labels.font.size = Pt(8)
        plot.data_labels.number_format = "0" if kind != "stacked100_columns" else "0%"
        plot.data_labels.number_format_is_linked = False
    if hasattr(chart, "font"):
        chart.font.size = Pt(10)
    gold_title = title if mode in ("own", "box") else ""
    return GoldPanel(0, _box(frame), gold_title, kind), names, _drawn(data, kind, chart.has_legend)


def _drawn(data: CategoryChartData, kind: str, legend: bool) -> list[str]:
    """The chart's names the slide shows: a round plot's categories in its legend (its one series name
    nowhere), other charts' categories on their axis and series names in their legend."""
    categories = [c.label for c in data.categories]
    series = [s.name for s in data]
    if kind in ("pie", "doughnut"):
        return categories if legend else []
    return categories + (series if legend else [])


def _kpi_row(slide: Any, rng: random.Random, box: tuple[float, float, float, float]) -> None:
    """A row of 3-4 KPI tiles: filled rectangles holding a big number and its label."""
    n = rng.randrange(3, 5)
    gap = 12.0
    w = (box[2] - box[0] - (n - 1) * gap) / n
    fill = rng.choice(((0xE8, 0xEE, 0xF6), (0x1F, 0x4E, 0x79), (0xF2, 0xF2, 0xF2)))
    dark = fill[0] < 0x80
    for k, label in enumerate(rng.sample(KPI_LABELS, n)):
        x = box[0] + k * (w + gap)
        tile = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, _pt(x), _pt(box[1]), _pt(w), _pt(box[3] - box[1]))
        tile.fill.solid()
        tile.fill.fore_color.rgb = RGBColor(*fill)
        tile.line.fill.background()
        frame = tile.text_frame
        frame.text = f"{rng.uniform(1, 99):.1f}%"
        frame.paragraphs[0].runs[0].font.size = Pt(24)
        frame.paragraphs[0].runs[0].font.bold = True
        para = frame.add_paragraph()
        para.text = label
        para.runs[0].font.size = Pt(11)
        for p in frame.paragraphs:
            for run in p.runs:
                run.font.color.rgb = RGBColor(0xFF, 0xFF, 0xFF) if dark else RGBColor(0x20, 0x20, 0x20)


def _picture_png(rng: random.Random) -> bytes:
    """A photo-like picture: a gradient with a few soft shapes (no text)."""
    w, h = 480, 360
    image = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(image)
    a, b = [tuple(rng.randrange(40, 220) for _ in range(3)) for _ in range(2)]
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(round(a[i] * (1 - t) + b[i] * t) for i in range(3)))
    for _ in range(6):
        cx, cy, r = rng.randrange(w), rng.randrange(h), rng.randrange(20, 90)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _grid(
    n: int, area: tuple[float, float, float, float], gap: float
) -> list[tuple[float, float, float, float]]:
    x0, y0, x1, y1 = area
    cols, rows = {1: (1, 1), 2: (2, 1), 3: (3, 1), 4: (2, 2)}[n]
    w, h = (x1 - x0 - (cols - 1) * gap) / cols, (y1 - y0 - (rows - 1) * gap) / rows
    return [
        (x0 + c * (w + gap), y0 + r * (h + gap), x0 + c * (w + gap) + w, y0 + r * (h + gap) + h)
        for r in range(rows)
        for c in range(cols)
    ]


def _slide(prs: Any, rng: random.Random, number: int, truth: DeckTruth) -> None:
    """One slide (title, charts, maybe KPI tiles or a picture) appended to ``prs``; its truth to ``truth``."""
    w, h = truth.size
    slide = prs.slides.add_slide(prs.slide_layouts[5])  # "Title Only"
    slide_title = rng.choice(SLIDE_TITLES)
    truth.slide_titles[number] = slide_title
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = _pt(36), _pt(18), _pt(w - 72), _pt(50)
    title.text = slide_title
    title.text_frame.paragraphs[0].runs[0].font.size = Pt(rng.choice((24, 28, 32)))
    margin, top = 36.0, 80.0
    style = {
        "legend": rng.choice((*LEGENDS, "none")),
        "labels": rng.random() < 0.4,
        "source": rng.random() < 0.4,
    }
    extra = rng.choice(("none", "none", "kpi", "picture"))
    area = (margin, top, w - margin, h - 30)
    if extra == "kpi":
        _kpi_row(slide, rng, (margin, top, w - margin, top + 64))
        truth.kpis.append(GoldPanel(number, (margin, top, w - margin, top + 64), "", "kpi"))
        area = (margin, top + 64 + rng.choice((16, 24)), w - margin, h - 30)
    elif extra == "picture":
        pic_w = (w - 2 * margin) * 0.3
        pic = slide.shapes.add_picture(
            io.BytesIO(_picture_png(rng)), _pt(w - margin - pic_w), _pt(top), _pt(pic_w)
        )
        truth.pptx.append(GoldPanel(number, _box(pic), slide_title, "picture"))
        area = (margin, top, w - margin - pic_w - 24, h - 30)
    n = rng.choice((1, 2, 2, 3, 4)) if extra == "none" else rng.choice((1, 2))
    if n == 3 and w < 800:
        n = 2
    for cell in _grid(n, area, rng.choice((18.0, 24.0, 36.0))):
        gold, names, drawn = _add_chart(slide, rng, cell, style)
        gold.page = number
        gold.title = gold.title or slide_title  # a slide's graphics are titled by the slide (issue 13)
        truth.pdf.append(gold)
        truth.names[len(truth.pptx)] = names
        truth.drawn[len(truth.pptx)] = drawn
        truth.pptx.append(GoldPanel(number, gold.box, gold.title, gold.kind))  # the same title as PDF


def deck(seed: int) -> tuple[bytes, DeckTruth]:
    """A generated deck of SLIDES_PER_DECK slides of one size (the .pptx bytes) and its truth."""
    rng = random.Random(f"deck:{seed}")
    prs = Presentation()
    size = rng.choice(SLIDE_SIZES)
    prs.slide_width, prs.slide_height = _pt(size[0]), _pt(size[1])
    truth = DeckTruth(size=size, pdf=[], pptx=[], names={})
    for number in range(1, SLIDES_PER_DECK + 1):
        _slide(prs, rng, number, truth)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue(), truth


def to_pdf(decks: list[Path], outdir: Path, soffice: str) -> None:
    """Save ``decks`` as PDF into ``outdir`` with one headless LibreOffice run on a profile of its own."""
    with tempfile.TemporaryDirectory(prefix="deck-pages-lo-") as tmp:
        profile = Path(tmp) / "profile"
        cmd = soffice_pdf_command(soffice, profile, outdir, decks)
        subprocess.run(
            cmd, check=True, capture_output=True, timeout=SOFFICE_TIMEOUT_S, env={**os.environ, "HOME": tmp}
        )


def generate(folder: Path, seeds: tuple[int, ...], soffice: str) -> dict[Path, DeckTruth]:
    """One deck per seed written to ``folder`` as .pptx and as .pdf; each deck's truth by .pptx path."""
    decks = {}
    for seed in seeds:
        data, truth = deck(seed)
        path = folder / f"deck-{seed}.pptx"
        path.write_bytes(data)
        decks[path] = truth
    to_pdf(list(decks), folder, soffice)
    for path, truth in decks.items():
        with pymupdf.open(path.with_suffix(".pdf")) as pdf:
            sizes = {(round(p.rect.width, 1), round(p.rect.height, 1)) for p in pdf}
            if pdf.page_count != SLIDES_PER_DECK or sizes != {truth.size}:
                raise RuntimeError(f"{path.name}: PDF pages {pdf.page_count} of {sizes}, slide {truth.size}")
    return decks


def _units(path: Path) -> tuple[list[Unit], list[str]]:
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    return [(f.unit.page, tuple(f.unit.bbox), f.unit.title or "") for f in ex.figures], [
        f.unit.figure_text or "" for f in ex.figures
    ]


def _text_ok(
    truth: DeckTruth, units: list[Unit], texts: list[str], names_of: dict[int, list[str]] | None = None
) -> tuple[int, list[str]]:
    """Charts whose best-overlapping unit's figure_text holds all their names: ``names_of`` (index into
    ``truth.pptx`` -> names), by default ``truth.names``, every series and category name (the PPTX path
    reads them from the chart's data); the PDF path holds what the slide shows (``truth.drawn``). A name
    wrapped over two lines counts (whitespace is compared as one space)."""
    ok, errors = 0, []
    for gi, names in (truth.names if names_of is None else names_of).items():
        gold = truth.pptx[gi]
        best = max(
            (i for i, u in enumerate(units) if u[0] == gold.page),
            key=lambda i: box_iou(gold.box, units[i][1]),
            default=None,
        )
        text = "" if best is None else " ".join(texts[best].split())
        missing = [n for n in names if n not in text]
        ok += not missing
        if missing:
            errors.append(f"p{gold.page} {gold.kind} figure_text lacks {missing}")
    return ok, errors


@dataclass
class PathScore:
    """One path's panel metrics (``score_panels``), and what they hide: of the charts with a title of their
    own (chart title or title text box), how many got it exactly (``titled``: right / all); (pptx) charts
    whose unit's figure_text holds all their names (``names``: right / all)."""

    panels: PanelScore = field(default_factory=PanelScore)
    titled: list[int] = field(default_factory=lambda: [0, 0])
    names: list[int] = field(default_factory=lambda: [0, 0])

    def add(self, gold: list[GoldPanel], units: list[Unit], name: str, slide_titles: dict[int, str]) -> None:
        self.panels.add(score_panels(gold, units), name)
        titled = [g for g in gold if g.title != slide_titles.get(g.page)]
        self.titled[0] += score_panels(titled, units).title_exact
        self.titled[1] += len(titled)

    def as_dict(self) -> dict[str, object]:
        row: dict[str, object] = dict(self.panels.as_dict())
        row["titled_right"] = "{}/{}".format(*self.titled)
        if self.names[1]:
            row["figure_text_names"] = "{}/{}".format(*self.names)
        return row


def run(seeds: tuple[int, ...], folder: Path, paths: list[str], soffice: str) -> dict[str, PathScore]:
    """Generate the decks of ``seeds``, extract them (OCR off) and score each path."""
    results = {name: PathScore() for name in paths}
    for path, truth in generate(folder, seeds, soffice).items():
        for name, source, gold, names in (
            ("pdf", path.with_suffix(".pdf"), truth.pdf, truth.drawn),
            ("pptx", path, truth.pptx, truth.names),
        ):
            if name in paths:
                units, texts = _units(source)
                results[name].add(gold, units, path.stem, truth.slide_titles)
                ok, errors = _text_ok(truth, units, texts, names)
                results[name].names[0] += ok
                results[name].names[1] += len(names)
                results[name].panels.errors += [f"{path.stem} {line}" for line in errors]
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_part_arguments(parser, "keep the generated decks and PDFs here")
    parser.add_argument("--path", choices=("pdf", "pptx", "both"), default="both")
    args = parser.parse_args()
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        parser.error("LibreOffice (soffice) not found: it saves the decks as PDF")
    parts = {"tune": TUNE_SEEDS, "report": REPORT_SEEDS}
    names = ["tune", "report"] if args.part == "both" else [args.part]
    paths = ["pdf", "pptx"] if args.path == "both" else [args.path]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            folder = (args.out or Path(tmp)) / name
            folder.mkdir(parents=True, exist_ok=True)
            for path, score in run(parts[name], folder, paths, soffice).items():
                results[f"{name} {path}"] = (score.as_dict(), score.panels.errors)
    print_results(results, args.json, args.show_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
