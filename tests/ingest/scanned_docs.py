"""Generated PDFs whose pages are pictures only: a scanned report page (text, a bar chart, its caption), a
scanned page of text only, and a deck "saved as pictures" (every slide one page-sized image)."""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
from PIL import Image

LETTER = (612.0, 792.0)
SLIDE = (720.0, 405.0)
CHART_BOX = (120.0, 300.0, 492.0, 520.0)
"""Where the report page's chart lies (points): its bars, axes, tick labels and title."""
PARAGRAPH = (
    "The cooperative expanded its regional warehouses during the year and renegotiated freight contracts",
    "with three carriers. Operating margins improved in every region except the coastal districts, where",
    "storm damage closed two depots for most of the autumn. The board approved a new maintenance budget.",
)
CLOSING = (
    "Headcount grew by eleven percent, mostly in logistics planning and customer service. Training hours",
    "per employee doubled after the apprenticeship programme moved to the new campus in the spring.",
)
PAGE_ONE_LINES = (
    "Annual Report of the Harbour Cooperative",
    *PARAGRAPH,
    *PARAGRAPH[::-1],
    "Revenue by region North South East West",
    "Figure 3: Revenue by region in the fiscal year",
    *CLOSING,
)
"""Every line of words on ``report_page_pdf``'s first page (with its chart)."""


def _paragraph(page: pymupdf.Page, top: float, lines: tuple[str, ...]) -> None:
    for i, line in enumerate(lines):
        page.insert_text((72, top + i * 15), line, fontsize=10.5, fontname="tiro")


def _bar_chart(page: pymupdf.Page, box: tuple[float, float, float, float] = CHART_BOX) -> None:
    x0, y0, x1, y1 = box
    page.insert_text((x0 + 90, y0 + 16), "Revenue by region", fontsize=13, fontname="hebo")
    base = y1 - 30
    page.draw_line((x0 + 40, y0 + 30), (x0 + 40, base), width=1.2)
    page.draw_line((x0 + 40, base), (x1 - 10, base), width=1.2)
    for i, (name, value) in enumerate((("North", 120), ("South", 80), ("East", 150), ("West", 60))):
        left = x0 + 70 + i * 80
        page.draw_rect((left, base - value, left + 44, base), color=None, fill=(0.2, 0.35, 0.7))
        page.insert_text((left + 4, base + 16), name, fontsize=10, fontname="helv")


def report_page_pdf(
    path: Path,
    *,
    with_chart: bool = True,
    hidden_text: bool = False,
    bands: int = 1,
    turn: int = 0,
    skew: float = 0.0,
) -> Path:
    """A scanned report of three pages (each one greyscale JPEG): a heading, paragraphs and, with
    ``with_chart``, a captioned bar chart on page 1; pages 2 and 3 are text only. ``hidden_text``: a
    "searchable" scan, the page's words also as an invisible text layer over the picture (a scanner's OCR).
    ``bands``: each page written as that many full-width strips, one picture each (a scanner that writes a
    page in bands), at the same places on every page. ``turn``: each page scanned turned by that many degrees
    counter-clockwise (90: sideways, on a landscape page); ``skew``: a few degrees off (fed askew)."""
    doc = pymupdf.open()
    page = doc.new_page(width=LETTER[0], height=LETTER[1])
    page.insert_text((72, 90), "Annual Report of the Harbour Cooperative", fontsize=18, fontname="hebo")
    _paragraph(page, 130, PARAGRAPH)
    _paragraph(page, 190, PARAGRAPH[::-1])
    if with_chart:
        _bar_chart(page)
        caption = "Figure 3: Revenue by region in the fiscal year"
        page.insert_text((120, 545), caption, fontsize=10, fontname="tiro")
    _paragraph(page, 600, CLOSING)
    scans = [_scan(page, 200)]
    for _ in range(2):
        text_page = doc.new_page(width=LETTER[0], height=LETTER[1])
        for top in range(80, 700, 60):
            _paragraph(text_page, top, PARAGRAPH if top % 120 else CLOSING)
        scans.append(_scan(text_page, 200))
    if turn or skew:
        scans = [_rotated(scan, turn, skew) for scan in scans]
    size = LETTER[::-1] if turn in (90, 270) else LETTER
    _pictures_pdf(path, scans, size, bands)
    if hidden_text:
        _hide_text_of(doc, path)
    return path


def _rotated(scan: bytes, turn: int, skew: float) -> bytes:
    """A scan's JPEG turned by ``turn`` degrees (its page grows to fit) and tilted by ``skew`` degrees."""
    picture = Image.open(io.BytesIO(scan)).rotate(turn, expand=True)
    picture = picture.rotate(skew, Image.Resampling.BICUBIC, fillcolor=255)
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=80)
    return out.getvalue()


def turned_box(box: tuple[float, float, float, float], turn: int) -> tuple[float, float, float, float]:
    """Where ``box`` of an upright letter page lies on the page scanned turned by ``turn`` degrees."""
    x0, y0, x1, y1 = box
    width, height = LETTER
    if turn == 90:
        return (y0, width - x1, y1, width - x0)
    if turn == 180:
        return (width - x1, height - y1, width - x0, height - y0)
    if turn == 270:
        return (height - y1, x0, height - y0, x1)
    return box


def _hide_text_of(source: pymupdf.Document, path: Path) -> None:
    """Every span of ``source``'s pages written invisibly (render mode 3) at its place on ``path``'s."""
    out = pymupdf.open(path)
    for original, page in zip(source, out, strict=True):
        for block in original.get_text("dict")["blocks"]:
            for span in (span for line in block.get("lines", []) for span in line["spans"]):
                page.insert_text(span["origin"], span["text"], fontsize=span["size"], render_mode=3)
    out.saveIncr()


def stacked_figures_pdf(path: Path) -> Path:
    """A scanned page with two bar charts one above the other, the first one's caption between them (a
    line of running text 14 pt from both charts), the second's under it; and a ruled table, captioned
    nowhere, at the bottom (layout class "ruled table": rules and words, no figure)."""
    doc = pymupdf.open()
    page = doc.new_page(width=LETTER[0], height=LETTER[1])
    _bar_chart(page, STACKED_BOXES[0])
    page.insert_text(
        (120, 282), "Figure 1: Revenue by region in the first half", fontsize=10, fontname="tiro"
    )
    _bar_chart(page, STACKED_BOXES[1])
    page.insert_text(
        (120, 526), "Figure 2: Revenue by region in the second half", fontsize=10, fontname="tiro"
    )
    _ruled_table(page, 560)
    return _pictures_pdf(path, [_scan(page, 200)], LETTER)


STACKED_BOXES = ((120.0, 60.0, 492.0, 268.0), (120.0, 296.0, 492.0, 504.0))


def _ruled_table(page: pymupdf.Page, top: float) -> None:
    rows = (
        ("Depot", "Staff", "Trucks"),
        ("Northgate", "41", "12"),
        ("Southport", "35", "9"),
        ("Eastbay", "28", "7"),
    )
    for r, row in enumerate(rows):
        y = top + r * 24
        page.draw_line((100, y), (510, y), width=0.8)
        for c, cell in enumerate(row):
            page.insert_text((110 + c * 140, y + 17), cell, fontsize=10, fontname="helv")
    page.draw_line((100, top + 96), (510, top + 96), width=0.8)
    for x in (100, 240, 380, 510):
        page.draw_line((x, top), (x, top + 96), width=0.8)


def slide_deck_pdf(path: Path, titles: tuple[str, ...]) -> Path:
    """A deck saved as pictures: each slide (a large title, two bullets, a shape) one page-sized PNG."""
    doc = pymupdf.open()
    images = []
    for i, title in enumerate(titles):
        page = doc.new_page(width=SLIDE[0], height=SLIDE[1])
        page.draw_rect(page.rect, color=None, fill=(1, 1, 1))
        page.insert_text((40, 70), title, fontsize=32, fontname="hebo", color=(0.1, 0.2, 0.45))
        page.insert_text(
            (60, 150), f"Pipeline stage {i + 1} closes in September", fontsize=20, fontname="helv"
        )
        page.insert_text((60, 190), "Escalations drop after onboarding", fontsize=20, fontname="helv")
        page.draw_rect((480, 230, 660, 360), color=(0.2, 0.5, 0.3), fill=(0.85, 0.95, 0.88), width=2)
        images.append(_scan(page, 150, "PNG"))
    return _pictures_pdf(path, images, SLIDE)


SMALL_SLIDE_TITLE = "Regional Escalation Trends"


def small_type_slide_pdf(path: Path) -> Path:
    """A deck saved as pictures whose slide is set in small type (9 pt body, a 16 pt title): a slide title,
    a few lines of notes on the left and a bar chart with no title of its own on the right."""
    doc = pymupdf.open()
    page = doc.new_page(width=SLIDE[0], height=SLIDE[1])
    page.insert_text((40, 50), SMALL_SLIDE_TITLE, fontsize=16, fontname="hebo")
    notes = (
        "Escalations fell in three of four regions.",
        "The north region doubled its support staff.",
        "Western escalations rose after the outage.",
        "Targets for next year follow below.",
        "Onboarding now takes two weeks less.",
    )
    for i, note in enumerate(notes):
        page.insert_text((40, 110 + i * 16), note, fontsize=9, fontname="helv")
    base, left = 330.0, 330.0
    page.draw_line((left, 110), (left, base), width=1.2)
    page.draw_line((left, base), (690, base), width=1.2)
    for i, (name, value) in enumerate((("North", 170), ("South", 110), ("East", 200), ("West", 80))):
        x = left + 25 + i * 85
        page.draw_rect((x, base - value, x + 50, base), color=None, fill=(0.2, 0.35, 0.7))
        page.insert_text((x + 8, base + 14), name, fontsize=9, fontname="helv")
    return _pictures_pdf(path, [_scan(page, 200, "PNG")], SLIDE)


def slide_pictures_pptx(path: Path, titles: tuple[str, ...], stamp: str = "Confidential") -> Path:
    """A deck whose slides were pasted as pictures (``slide_deck_pdf``'s pages, one full-slide PNG each):
    slide 1 also has its title in its title placeholder, the others none; the last has a small text box
    (``stamp``) over its picture."""
    from pptx import Presentation
    from pptx.util import Emu, Pt

    pictures = pymupdf.open(slide_deck_pdf(path.with_suffix(".pdf"), titles))
    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(int(SLIDE[0] * 12700)), Emu(int(SLIDE[1] * 12700))
    for i, page in enumerate(pictures):
        slide = prs.slides.add_slide(prs.slide_layouts[5 if i == 0 else 6])  # title only; blank
        if i == 0:
            slide.shapes.title.text = titles[0]
        png = pictures.extract_image(page.get_images()[0][0])["image"]
        slide.shapes.add_picture(io.BytesIO(png), 0, 0, prs.slide_width, prs.slide_height)
        if i == len(titles) - 1:
            box = slide.shapes.add_textbox(Pt(600), Pt(380), Pt(110), Pt(20))
            box.text_frame.text = stamp
    prs.save(str(path))
    return path


def _scan(page: pymupdf.Page, dpi: int, fmt: str = "JPEG") -> bytes:
    """The page as a picture (a scan: greyscale JPEG; an exported slide: PNG)."""
    pix = page.get_pixmap(dpi=dpi, alpha=False)
    image = Image.frombytes("RGB", (pix.width, pix.height), pix.samples)
    out = io.BytesIO()
    if fmt == "JPEG":
        image.convert("L").save(out, format="JPEG", quality=80)
    else:
        image.save(out, format="PNG")
    return out.getvalue()


def _pictures_pdf(path: Path, images: list[bytes], size: tuple[float, float], bands: int = 1) -> Path:
    doc = pymupdf.open()
    for data in images:
        page = doc.new_page(width=size[0], height=size[1])
        picture = Image.open(io.BytesIO(data))
        for i in range(bands):
            top, bottom = i * picture.height // bands, (i + 1) * picture.height // bands
            band = io.BytesIO()
            picture.crop((0, top, picture.width, bottom)).save(band, format=picture.format)
            rect = pymupdf.Rect(0, size[1] * i / bands, size[0], size[1] * (i + 1) / bands)
            page.insert_image(rect, stream=band.getvalue() if bands > 1 else data)
    doc.save(path)
    doc.close()
    return path
