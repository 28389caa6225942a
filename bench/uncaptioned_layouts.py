"""Uncaptioned layouts, reporting part (2026-12-07): charts of the classes the s48 layouts audit found lost,
drawn with parameters and seeds of their own, for an honest before/after count.

    python bench/uncaptioned_layouts.py [--out DIR]   -> DIR/docs/*.pdf, DIR/truth.json, a line a document

Classes: sparse line charts (an L of axes, 1-3 series, tick labels, no gridlines: under CHART_MIN_PATHS
paths), bar and column charts without axes whose bars stand 0.8-2 thicknesses apart, line charts on
gridlines stacked 4-12 pt apart, card grids (a BI report; added later, a class still lost), and controls
that must stay without units (a ruled table, zebra rows, text under section rules, a form of entry
boxes). Pages A4, letter, A5, legal; fonts Times, Helvetica, Courier; two palettes. Every document draws
from ``random.Random(4800 + k)`` (k per class). The rules of docs/extraction.md's "Uncaptioned layouts,
2026-12-07" were tuned on the audit's own documents, not on these.

Scoring (the audit's evaluate.py definitions): a truth box is **found** when one unit covers 60 % of it and is
at most 2.2 times its area, **missed** when no unit covers 30 % of it; a unit with under 20 % of its area in
any truth box is **spurious**.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import pymupdf as fitz

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings

Box = tuple[float, float, float, float] | list[float]
OUT = Path("/tmp/uncaptioned_layouts")
TRUTH: dict[str, list[dict]] = {}
PALETTES = [
    [(0.2, 0.3, 0.6), (0.8, 0.3, 0.2), (0.3, 0.6, 0.3)],
    [(0.0, 0.45, 0.45), (0.6, 0.2, 0.6), (0.9, 0.6, 0.0)],
]
TEXT = (
    "The committee reviewed the figures for the period and noted that the variance against plan was within "
    "the tolerance agreed last year. Further analysis by segment follows in the appendix of this report. "
)
SIZES = {"a4": (595, 842), "letter": (612, 792), "a5": (420, 595), "legal": (612, 1008)}


def fig(name: str, page: int, r: fitz.Rect, title: str | None = None) -> None:
    TRUTH.setdefault(name, []).append(
        {"page": page, "bbox": [round(v, 1) for v in r], "title": title, "label": None}
    )


def body(page: fitz.Page, r: fitz.Rect, font: str = "tiro", size: float = 9.0) -> None:
    page.insert_textbox(r, TEXT * 12, fontsize=size, fontname=font)


def sparse_line(
    page: fitz.Page,
    r: fitz.Rect,
    rng: random.Random,
    series: int,
    title: str | None,
    font: str,
    pal: list,
    width: float = 0.6,
) -> None:
    """Two axis lines, `series` polylines, tick labels, no gridlines (fewer than 6 paths)."""
    top = r.y0
    if title:
        page.insert_text((r.x0, r.y0 + 10), title, fontsize=10, fontname=font)
        top += 18
    plot = fitz.Rect(r.x0 + 30, top, r.x1 - 6, r.y1 - 14)
    page.draw_line(plot.tl, plot.bl, color=(0.3, 0.3, 0.3), width=width)
    page.draw_line(plot.bl, plot.br, color=(0.3, 0.3, 0.3), width=width)
    for k in range(4):
        page.insert_text(
            (r.x0 + 2, plot.y1 - k * plot.height / 3 + 3), f"{k * 40}", fontsize=7, fontname=font
        )
    for i, q in enumerate(["2021", "2022", "2023", "2024"]):
        page.insert_text((plot.x0 + i * plot.width / 3 - 8, plot.y1 + 11), q, fontsize=7, fontname=font)
    n = rng.choice([8, 10, 16])
    for j in range(series):
        pts = [
            fitz.Point(plot.x0 + i * plot.width / (n - 1), plot.y1 - rng.uniform(0.1, 0.9) * plot.height)
            for i in range(n)
        ]
        page.draw_polyline(pts, color=pal[j], width=1.1)


def spaced_bars(
    page: fitz.Page,
    r: fitz.Rect,
    rng: random.Random,
    n: int,
    thick: float,
    gap_share: float,
    title: str | None,
    font: str,
    pal: list,
    columns: bool = False,
) -> fitz.Rect:
    """Bars without axes: names on one side, values at the bar ends; gap = gap_share * thickness."""
    top = r.y0
    if title:
        page.insert_text((r.x0, r.y0 + 10), title, fontsize=10, fontname=font)
        top += 18
    pitch = thick * (1 + gap_share)
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India"]
    if not columns:
        x0 = r.x0 + 70
        for i in range(n):
            y = top + i * pitch
            v = rng.uniform(0.15, 1.0)
            page.insert_text((r.x0, y + thick * 0.75), names[i], fontsize=7, fontname=font)
            page.draw_rect(fitz.Rect(x0, y, x0 + v * (r.x1 - x0 - 30), y + thick), fill=pal[0], color=None)
            page.insert_text(
                (x0 + v * (r.x1 - x0 - 30) + 3, y + thick * 0.75), f"{v * 100:.1f}", fontsize=7, fontname=font
            )
        return fitz.Rect(r.x0, r.y0, r.x1, top + (n - 1) * pitch + thick)
    base = r.y1 - 12
    for i in range(n):
        x = r.x0 + 10 + i * pitch
        v = rng.uniform(0.15, 1.0)
        h = v * (base - top - 12)
        page.draw_rect(fitz.Rect(x, base - h, x + thick, base), fill=pal[1], color=None)
        page.insert_text((x, base - h - 3), f"{v * 10:.1f}", fontsize=6.5, fontname=font)
        page.insert_text((x, base + 9), names[i][:3], fontsize=6.5, fontname=font)
    return fitz.Rect(r.x0, r.y0, max(r.x0 + 10 + (n - 1) * pitch + thick, r.x0 + 40), r.y1)


def grid_line(
    page: fitz.Page,
    r: fitz.Rect,
    rng: random.Random,
    title: str,
    font: str,
    pal: list,
    grids: int,
    series: int,
) -> None:
    """A titled line chart on `grids` gridlines, tick labels left, month labels under."""
    page.insert_text((r.x0, r.y0 + 9), title, fontsize=8.5, fontname=font)
    plot = fitz.Rect(r.x0 + 26, r.y0 + 15, r.x1 - 4, r.y1 - 12)
    sh = page.new_shape()
    for k in range(grids):
        y = plot.y1 - k * plot.height / (grids - 1)
        sh.draw_line((plot.x0, y), (plot.x1, y))
        sh.finish(color=(0.82, 0.82, 0.82), width=0.5)
        page.insert_text((r.x0 + 2, y + 2.5), f"{k * 5}", fontsize=6, fontname=font)
    for s in range(series):
        pts = [
            fitz.Point(plot.x0 + i * plot.width / 9, plot.y1 - rng.uniform(0.1, 0.9) * plot.height)
            for i in range(10)
        ]
        sh.draw_polyline(pts)
        sh.finish(color=pal[s], width=1.0, closePath=False)
    sh.commit()
    for i, m in enumerate(["W1", "W4", "W7", "W10"]):
        page.insert_text((plot.x0 + i * plot.width / 3 - 5, plot.y1 + 8), m, fontsize=6, fontname=font)


def new_page(size: str) -> tuple[fitz.Document, fitz.Page, float, float]:
    """A new document of one page of ``size`` (a key of SIZES), with the page's width and height."""
    doc = fitz.open()
    w, h = SIZES[size]
    return doc, doc.new_page(width=w, height=h), w, h


def sparse_docs() -> None:
    specs = [
        ("a4", 1, True, "tiro", 0),
        ("a4", 2, False, "helv", 1),
        ("letter", 3, True, "cour", 0),
        ("a5", 1, False, "tiro", 1),
        ("legal", 2, True, "helv", 0),
        ("letter", 3, False, "tiro", 1),
    ]
    for k, (size, series, titled, font, pal) in enumerate(specs):
        name = f"rep_sparse_{k}.pdf"
        rng = random.Random(4800 + k)
        doc, page, w, h = new_page(size)
        body(page, fitz.Rect(50, 50, w - 50, 0.3 * h))
        r = fitz.Rect(60 + 10 * k, 0.32 * h, w - 60 - 5 * k, 0.32 * h + rng.uniform(150, 220))
        t = f"Installed base, series {series}" if titled else None
        sparse_line(page, r, rng, series, t, font, PALETTES[pal])
        fig(name, 1, r, t)
        body(page, fitz.Rect(50, r.y1 + 20, w - 50, h - 50))
        doc.save(OUT / name)


def bar_docs() -> None:
    specs = [
        (3, 10, 1.0, False),
        (5, 8, 1.5, False),
        (7, 12, 0.8, False),
        (9, 6, 2.0, False),
        (4, 14, 1.2, True),
        (6, 9, 1.5, True),
        (8, 7, 1.8, True),
    ]
    for k, (n, thick, gap, columns) in enumerate(specs):
        name = f"rep_bars_{k}.pdf"
        rng = random.Random(4810 + k)
        doc, page, w, h = new_page(["a4", "letter", "a5", "legal"][k % 4])
        font = ["helv", "tiro", "cour"][k % 3]
        body(page, fitz.Rect(50, 50, w - 50, 0.28 * h), font=font)
        r = fitz.Rect(70, 0.3 * h, w - 70, 0.3 * h + (220 if columns else 18 + n * thick * (1 + gap)))
        t = "Share of respondents (%)" if k % 2 == 0 else None
        box = spaced_bars(page, r, rng, n, thick, gap, t, font, PALETTES[k % 2], columns)
        fig(name, 1, box, t)
        body(page, fitz.Rect(50, r.y1 + 24, w - 50, h - 50), font=font)
        doc.save(OUT / name)


def stacked_docs() -> None:
    specs = [
        (1, 3, 4, "a4", 5),
        (3, 2, 6, "letter", 4),
        (2, 4, 8, "legal", 6),
        (2, 3, 12, "a4", 5),
        (1, 4, 5, "letter", 6),
    ]
    for k, (cols, rows, gap, size, grids) in enumerate(specs):
        name = f"rep_stacked_{k}.pdf"
        rng = random.Random(4820 + k)
        doc, page, w, h = new_page(size)
        page.insert_text((40, 40), "Operational trends", fontsize=15, fontname="hebo")
        cw, ch = (w - 80 - gap * (cols - 1)) / cols, (h - 110 - gap * (rows - 1)) / rows
        ch = min(ch, 170)
        for i in range(cols * rows):
            x, y = 40 + (i % cols) * (cw + gap), 56 + (i // cols) * (ch + gap)
            r = fitz.Rect(x, y, x + cw, y + ch)
            t = ["Visits", "Trials", "Orders", "Returns", "Calls", "Errors", "Queue", "Spend"][i % 8]
            grid_line(page, r, rng, t, ["helv", "tiro"][k % 2], PALETTES[k % 2], grids, 1 + i % 3)
            fig(name, 1, r, t)
        doc.save(OUT / name)


def floating_bars(page: fitz.Page, r: fitz.Rect, rng: random.Random, font: str, pal: list) -> None:
    """A waterfall: each bar starts where the one before it ended (no common baseline), values over."""
    plot = fitz.Rect(r.x0 + 6, r.y0 + 24, r.x1 - 6, r.y1 - 14)
    n = rng.choice([5, 6, 7])
    width, level = plot.width / n, 0.45
    for i in range(n):
        ends = i in (0, n - 1)
        delta = rng.uniform(-0.12, 0.15)
        low, high = (0.0, level) if ends else sorted((level, level + delta))
        level = level if ends else level + delta
        bar = fitz.Rect(
            plot.x0 + (i + 0.2) * width, plot.y1 - high * plot.height, plot.x0 + (i + 0.8) * width,
            plot.y1 - low * plot.height,
        )  # fmt: skip
        page.draw_rect(bar, fill=pal[i % 3], color=None)
        page.insert_text((bar.x0, bar.y0 - 3), f"{high * 100:.0f}", fontsize=6, fontname=font)
        page.insert_text((bar.x0, plot.y1 + 9), f"S{i}", fontsize=6, fontname=font)


def card_docs() -> None:
    """Card grids (a BI report): every visual on a card of its own, 6-10 pt apart, the title inside the
    card. Added after the card-grid rule was tried (docs/extraction.md, twentieth round): a class left."""
    for k, (cols, rows, gap, size) in enumerate([(3, 2, 6, "a4"), (2, 3, 10, "letter")]):
        name = f"rep_cards_{k}.pdf"
        rng = random.Random(4840 + k)
        doc = fitz.open()
        w, h = SIZES[size]
        w, h = (h, w) if cols > rows else (w, h)  # landscape for a wide grid
        page = doc.new_page(width=w, height=h)
        page.draw_rect(page.rect, fill=(0.94, 0.95, 0.96), color=None)
        page.insert_text((30, 34), "Performance overview", fontsize=15, fontname="hebo")
        cw, ch = (w - 60 - gap * (cols - 1)) / cols, (h - 80 - gap * (rows - 1)) / rows
        for i in range(cols * rows):
            x, y = 30 + (i % cols) * (cw + gap), 48 + (i // cols) * (ch + gap)
            card = fitz.Rect(x, y, x + cw, y + ch)
            page.draw_rect(card, fill=(1, 1, 1), color=(0.8, 0.8, 0.82), width=0.6)
            title = ["Revenue bridge", "Sessions", "Cost walk", "Visits", "Cash walk", "Orders"][i]
            page.insert_text((x + 8, y + 15), title, fontsize=9, fontname="helv")
            inner = fitz.Rect(x + 8, y + 4, x + cw - 8, y + ch - 6)
            if i % 2 == 0:
                floating_bars(page, inner, rng, "helv", PALETTES[k])
            else:
                grid_line(
                    page,
                    fitz.Rect(inner.x0, inner.y0 + 18, inner.x1, inner.y1),
                    rng,
                    "",
                    "helv",
                    PALETTES[k],
                    4,
                    1 + i % 2,
                )
            fig(name, 1, card, title)
        doc.save(OUT / name)


def control_docs() -> None:
    """Pages that must yield no unit: ruled table, zebra table, text with rules, form with boxes."""
    rng = random.Random(4830)
    doc = fitz.open()
    page = doc.new_page(width=595, height=842)
    y = 80
    for row in range(12):  # ruled table
        page.draw_line((60, y), (535, y), color=(0, 0, 0), width=0.5)
        for c, x in enumerate((64, 200, 330, 460)):
            page.insert_text((x, y + 12), f"{rng.randint(10, 999)}" if c else f"Item {row}", fontsize=8)
        y += 18
    page.draw_line((60, y), (535, y), color=(0, 0, 0), width=0.5)
    save_control(doc, "rep_ctl_ruled.pdf")
    doc = fitz.open()
    page = doc.new_page(width=612, height=792)
    for row in range(14):  # zebra rows of one length
        y = 90 + row * 16
        if row % 2:
            page.draw_rect(fitz.Rect(60, y, 552, y + 16), fill=(0.9, 0.92, 0.96), color=None)
        for c, x in enumerate((66, 220, 380)):
            page.insert_text((x, y + 11), f"{rng.randint(10, 999)}" if c else f"Region {row}", fontsize=8)
    save_control(doc, "rep_ctl_zebra.pdf")
    doc = fitz.open()
    page = doc.new_page(width=595, height=842)
    for s in range(4):  # text with rules
        y = 70 + s * 180
        page.insert_text((60, y), f"Section {s + 1}", fontsize=12, fontname="hebo")
        page.draw_line((60, y + 5), (535, y + 5), color=(0.4, 0.4, 0.4), width=0.8)
        body(page, fitz.Rect(60, y + 12, 535, y + 160))
    save_control(doc, "rep_ctl_rules.pdf")
    doc = fitz.open()
    page = doc.new_page(width=612, height=792)
    for i in range(10):  # form: label + entry box
        y = 80 + i * 40
        page.insert_text(
            (60, y + 14),
            [
                "Name",
                "Street",
                "City",
                "Postcode",
                "Phone",
                "E-mail",
                "Date",
                "Amount",
                "Account",
                "Signature",
            ][i],
            fontsize=9,
        )
        page.draw_rect(
            fitz.Rect(160, y, 160 + rng.choice([120, 200, 300, 380]), y + 22), color=(0, 0, 0), width=0.6
        )
    save_control(doc, "rep_ctl_form.pdf")


def save_control(doc: fitz.Document, name: str) -> None:
    TRUTH.setdefault(name, [])
    doc.save(OUT / name)


def _area(b: Box) -> float:
    return max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])


def _inter(a: Box, b: Box) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def score(truth: list[dict], units: list) -> dict[str, int]:
    """found / missed / spurious counts of one document (definitions in the module docstring)."""
    res = {"truth": len(truth), "units": len(units), "found": 0, "missed": 0, "spurious": 0}
    for t in truth:
        same = [u for u in units if u.page == t["page"]]
        cover = [(_inter(t["bbox"], u.bbox) / _area(t["bbox"]), u) for u in same]
        best, unit = max(cover, key=lambda c: c[0], default=(0.0, None))
        res["found"] += unit is not None and best >= 0.6 and _area(unit.bbox) <= 2.2 * _area(t["bbox"])
        res["missed"] += best < 0.3
    for u in units:
        inside = [_inter(t["bbox"], u.bbox) for t in truth if t["page"] == u.page]
        res["spurious"] += max(inside, default=0.0) < 0.2 * _area(u.bbox)
    return res


def main() -> None:
    global OUT
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    OUT = parser.parse_args().out / "docs"
    OUT.mkdir(parents=True, exist_ok=True)
    sparse_docs()
    bar_docs()
    stacked_docs()
    card_docs()
    control_docs()
    (OUT.parent / "truth.json").write_text(json.dumps(TRUTH, indent=1))
    total = {"truth": 0, "units": 0, "found": 0, "missed": 0, "spurious": 0}
    for name in sorted(TRUTH):
        ex = extract_document(OUT / name, ExtractSettings(ocr=False, workers=1))
        res = score(TRUTH[name], [f.unit for f in ex.figures])
        total = {k: total[k] + res[k] for k in total}
        print(f"{name:24} " + " ".join(f"{k}={v}" for k, v in res.items()), flush=True)
    print("TOTAL " + " ".join(f"{k}={v}" for k, v in total.items()), file=sys.stdout)


if __name__ == "__main__":
    main()
