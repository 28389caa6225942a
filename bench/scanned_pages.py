"""The picture-only page path (``ingest/scanned_pages.py``): which documents it touches, and what it finds.

``touched FOLDER_OR_PDF ...``: reads each PDF as extraction does (``pdf._read_pages``,
``pdf._drop_decorations``) and counts the pages ``scanned_pages.image_only_pages`` selects; no OCR runs (the
selection comes before it). One line per PDF with a selected page, and totals.

``flat PDF ... --pages N [--turn DEG] [--skew DEG]``: each PDF's first N pages, and the same pages flattened
to pictures (each page a JPEG at 200 dpi: a scan, or a deck saved as pictures; tilted and turned as asked:
a page fed askew or sideways), both extracted; the born-digital file's units are
the reference (no labels): per document, its units found again in the scan (box IoU >= 0.4), the scan's
units that match none, and on slide-like pages whether the scan unit's title is the born-digital one.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
from pathlib import Path

import pymupdf
from PIL import Image

from figvault.ingest import cpu_limited, pdf
from figvault.ingest.boxes import box_area, box_intersection
from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_layout import is_slide_like
from figvault.ingest.scanned_pages import image_only_pages
from figvault.settings import ExtractSettings
from figvault.units import ExtractedFigure, FigureUnit


def touched_pages(path: Path, settings: ExtractSettings) -> tuple[int, list[int], int]:
    """The document's page count, the numbers of its picture-only pages, and how many pages have a
    page-covering picture dropped as a background (picture-only or not: text over a background, a scan
    with an OCR text layer)."""
    doc = pymupdf.open(path)
    try:
        pages, _ = pdf._read_pages(doc, settings, [])
        _, covers = pdf._drop_decorations(pages, settings, [], pdf.FramedPictures(doc))
        readable = [p for p in pages if p is not None]
        selected = [content.number for content in image_only_pages(readable, covers, doc)]
        return doc.page_count, selected, len(covers)
    finally:
        doc.close()


def touched(paths: list[Path]) -> None:
    files = sorted(p for root in paths for p in ([root] if root.is_file() else root.rglob("*.pdf")))
    settings = ExtractSettings()
    total_pages = touched_docs = selected = covered = 0
    for path in files:
        count, numbers, backgrounds = touched_pages(path, settings)
        total_pages += count
        covered += backgrounds
        if numbers:
            touched_docs += 1
            selected += len(numbers)
            print(f"{path}: {len(numbers)} of {count} pages: {numbers}")
    print(
        f"{len(files)} PDFs, {total_pages} pages: {selected} picture-only pages in {touched_docs} documents;"
        f" {covered} pages with a page-covering background picture"
    )


FLAT_DPI = 200
MATCH_IOU = 0.4


def first_pages(src: Path, dst: Path, count: int, *, flat: bool, turn: int = 0, skew: float = 0.0) -> Path:
    """``src``'s first ``count`` pages saved as ``dst``; ``flat``: each page one JPEG picture of itself,
    tilted by ``skew`` degrees and turned by ``turn`` (counter-clockwise; the page turns with it)."""
    doc = pymupdf.open(src)
    out = pymupdf.open()
    for page in list(doc)[:count]:
        if not flat:
            out.insert_pdf(doc, from_page=page.number, to_page=page.number)
            continue
        pix = page.get_pixmap(dpi=FLAT_DPI, alpha=False)
        image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
        image = image.rotate(skew, Image.Resampling.BICUBIC, fillcolor="white").rotate(turn, expand=True)
        data = io.BytesIO()
        image.save(data, format="JPEG", quality=80)
        width, height = page.rect.width, page.rect.height
        target = out.new_page(
            width=height if turn in (90, 270) else width, height=width if turn in (90, 270) else height
        )
        target.insert_image(target.rect, stream=data.getvalue())
    out.save(dst)
    return dst


def compare(src: Path, count: int, folder: Path, turn: int = 0, skew: float = 0.0) -> dict[str, float]:
    settings = ExtractSettings(workers=1, ocr_timeout_s=600)
    born = extract_document(first_pages(src, folder / f"{src.stem}.born.pdf", count, flat=False), settings)
    for figure in born.figures:  # where each born-digital unit lies on the turned scan
        figure.unit.bbox = _turned_box(figure.unit.bbox, figure.unit.page_size, turn)
    flat = first_pages(src, folder / f"{src.stem}.flat.pdf", count, flat=True, turn=turn, skew=skew)
    started = time.process_time() + cpu_limited.children_cpu(), time.time()
    scan = extract_document(flat, settings)
    cpu = time.process_time() + cpu_limited.children_cpu() - started[0]  # OCR reads run in a helper child
    wall = time.time() - started[1]
    found = sum(_matched(b.unit, scan.figures) for b in born.figures)
    extra = sum(not _matched(s.unit, born.figures) for s in scan.figures)
    slides = [s.unit for s in scan.figures if is_slide_like(s.unit.page_size)]
    born_titles = {b.unit.page: _words(b.unit.title) for b in born.figures if b.unit.title}
    titled = sum(_words(u.title) == born_titles.get(u.page) for u in slides if u.page in born_titles)
    return {"born": len(born.figures), "scan": len(scan.figures), "found": found, "extra": extra,
            "slides": len(slides), "slide_titles": titled, "with_title": len(born_titles),
            "cpu_s": round(cpu, 1), "wall_s": round(wall, 1)}  # fmt: skip


def _turned_box(box: tuple[float, ...], size: tuple[float, float], turn: int) -> tuple[float, ...]:
    """``box`` of a page of ``size`` on that page turned by ``turn`` degrees counter-clockwise."""
    x0, y0, x1, y1 = box
    width, height = size
    return {
        90: (y0, width - x1, y1, width - x0),
        180: (width - x1, height - y1, width - x0, height - y0),
        270: (height - y1, x0, height - y0, x1),
    }.get(turn, box)


def _matched(unit: FigureUnit, others: list[ExtractedFigure]) -> bool:
    """``unit``'s box is one of ``others``' on its page (IoU >= MATCH_IOU)."""
    return any(o.unit.page == unit.page and _iou(o.unit.bbox, unit.bbox) >= MATCH_IOU for o in others)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    inter = box_intersection(a, b)
    return inter / (box_area(a) + box_area(b) - inter) if inter else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["touched", "flat"])
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--pages", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("/tmp/figvault-flat"))
    parser.add_argument("--turn", type=int, choices=[0, 90, 180, 270], default=0, help="flat: pages turned")
    parser.add_argument("--skew", type=float, default=0.0, help="flat: pages tilted by this many degrees")
    args = parser.parse_args(argv)
    if args.mode == "touched":
        touched(args.paths)
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.paths:
        print(path.name, json.dumps(compare(path, args.pages, args.out, args.turn, args.skew)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
