"""PDF figure extraction on small PDFs the tests draw themselves with PyMuPDF."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pymupdf
import pytest

from figvault.errors import ExtractionError
from figvault.ingest.boxes import box_iou
from figvault.ingest.extract import extract_document
from figvault.ingest.pdf import extract_pdf_units, pdf_date_to_iso
from figvault.ingest.pdf_layout import join_lines
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction, FigureKind, make_unit_id
from tests.generated_docs import figure_pdf

LOREM = (
    "The quarterly review covers revenue, costs and the outlook for the coming year in every region. "
    "Each paragraph of this report is ordinary running text that no figure extractor may swallow. "
)


def _paragraph(page: pymupdf.Page, rect: tuple[float, float, float, float], text: str) -> None:
    x0, y0, x1, y1 = rect
    # A little slack under the box: insert_textbox refuses text that does not fit entirely.
    assert page.insert_textbox(pymupdf.Rect(x0, y0, x1, y1 + 6), text, fontsize=9, fontname="helv") >= 0


def _bar_chart(
    page: pymupdf.Page, x0: float, y0: float, w: float, h: float
) -> tuple[float, float, float, float]:
    """A vector bar chart (axes, bars, tick labels, axis title); returns the box it covers."""
    axis_x, axis_y = x0 + 25, y0 + h - 20
    page.draw_line((axis_x, y0), (axis_x, axis_y), color=(0, 0, 0), width=1)
    page.draw_line((axis_x, axis_y), (x0 + w, axis_y), color=(0, 0, 0), width=1)
    bar_w = (w - 40) / 8
    for i, frac in enumerate((0.4, 0.7, 0.55, 0.9)):
        bx = axis_x + 8 + i * 2 * bar_w
        page.draw_rect((bx, axis_y - frac * (h - 30), bx + bar_w, axis_y), color=None, fill=(0.2, 0.4, 0.8))
        page.insert_text((bx, axis_y + 10), f"Q{i + 1}", fontsize=7)
    for j in range(3):
        ty = axis_y - j * (h - 30) / 2
        page.draw_line((axis_x - 3, ty), (axis_x, ty), color=(0, 0, 0), width=0.5)
        page.insert_text((x0 + 2, ty + 2), f"{j * 50}", fontsize=7)
    page.insert_text((x0 + w / 2 - 20, y0 + h - 2), "Quarter", fontsize=7)
    return (x0, y0, x0 + w, y0 + h)


def _png(width: int, height: int, seed: int = 0) -> bytes:
    """A colourful raster image with some structure (a photo or screenshot stand-in)."""
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, width, height), False)
    pix.set_rect(pix.irect, (240, 240, 235))
    for k in range(6):
        x = (k * 37 + seed * 11) % max(1, width - 20)
        pix.set_rect(
            pymupdf.IRect(x, k * height // 7, x + width // 3, k * height // 7 + height // 8),
            ((50 * k + seed * 40) % 256, (90 + 30 * k) % 256, (200 - 20 * k) % 256),
        )
    return pix.tobytes("png")


def _save(doc: pymupdf.Document, path: Path, **kwargs: object) -> Path:
    doc.save(path, **kwargs)
    doc.close()
    return path


def _extract(path: Path, settings: ExtractSettings | None = None) -> DocumentExtraction:
    return extract_document(path, settings or ExtractSettings(workers=1))


@pytest.fixture
def vector_chart_pdf(tmp_path: Path) -> tuple[Path, tuple[float, float, float, float]]:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "Revenue Analysis", fontsize=16, fontname="hebo")
    _paragraph(
        page, (72, 75, 540, 130), LOREM + "As shown in Figure 1, revenue grew in every quarter. " + LOREM
    )
    box = _bar_chart(page, 150, 150, 300, 200)
    _paragraph(page, (72, 362, 540, 390), "Figure 1: Quarterly revenue by region, in million euros.")
    _paragraph(page, (72, 410, 540, 500), LOREM * 2)
    doc.set_metadata(
        {"title": "Quarterly report", "author": "Finance", "creationDate": "D:20240105093000+01'00'"}
    )
    return _save(doc, tmp_path / "chart.pdf"), box


def test_vector_chart_becomes_one_unit_with_caption_and_context(vector_chart_pdf) -> None:
    path, drawn = vector_chart_pdf
    ex = _extract(path)
    assert len(ex.figures) == 1, [f.unit.bbox for f in ex.figures]
    unit = ex.figures[0].unit
    assert unit.kind is FigureKind.VECTOR
    assert box_iou(unit.bbox, drawn) > 0.8
    assert unit.label == "Figure 1"
    assert unit.caption.startswith("Figure 1: Quarterly revenue by region")
    assert "As shown in Figure 1, revenue grew in every quarter." in unit.context
    assert "Revenue Analysis" in unit.context
    assert "Quarter" in unit.figure_text and "Q3" in unit.figure_text
    assert unit.page == 1 and unit.page_size == (612.0, 792.0)
    assert unit.doc == "chart.pdf" and unit.doc_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert unit.unit_id == make_unit_id(unit.doc_sha256, 1, "vector", unit.bbox)
    assert ex.meta.title == "Quarterly report" and ex.meta.author == "Finance"
    assert ex.meta.created == "2024-01-05T09:30:00+01:00"
    assert ex.meta.mime == "application/pdf" and ex.meta.pages == 1
    assert unit.meta == ex.meta


def test_png_follows_dpi_and_pixel_cap(vector_chart_pdf) -> None:
    path, _ = vector_chart_pdf
    fig = _extract(path, ExtractSettings(workers=1, dpi=144)).figures[0]
    w_pt, h_pt = fig.unit.bbox[2] - fig.unit.bbox[0], fig.unit.bbox[3] - fig.unit.bbox[1]
    assert abs(fig.unit.width - w_pt * 2) <= 2 and abs(fig.unit.height - h_pt * 2) <= 2
    assert fig.png.startswith(b"\x89PNG")
    pix = pymupdf.Pixmap(fig.png)
    assert (pix.width, pix.height) == (fig.unit.width, fig.unit.height)

    capped = _extract(path, ExtractSettings(workers=1, dpi=300, max_image_pixels=40_000)).figures[0]
    assert capped.unit.width * capped.unit.height <= 40_000
    # Lower resolution, same shape.
    assert abs(capped.unit.width / capped.unit.height - w_pt / h_pt) < 0.05


def test_extracting_twice_gives_identical_units(vector_chart_pdf) -> None:
    path, _ = vector_chart_pdf
    first, second = _extract(path), _extract(path)
    assert [f.unit.model_dump() for f in first.figures] == [f.unit.model_dump() for f in second.figures]
    assert [f.png for f in first.figures] == [f.png for f in second.figures]


def test_caption_lines_are_joined_and_dehyphenated() -> None:
    assert join_lines(["Figure 1: The con-", "sensus module and its  log", "(left-", "Right)."]) == (
        "Figure 1: The consensus module and its log (left- Right)."
    )


def test_raster_figure_with_caption_above(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _paragraph(page, (72, 60, 540, 130), LOREM + "The site is pictured in Fig. 2 below. " + LOREM)
    _paragraph(page, (72, 150, 540, 165), "Fig. 2. Aerial photo of the new plant.")
    image_box = (150, 170, 450, 350)
    page.insert_image(pymupdf.Rect(image_box), stream=_png(400, 240))
    _paragraph(page, (72, 380, 540, 460), LOREM * 2)
    ex = _extract(_save(doc, tmp_path / "raster.pdf"))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert unit.kind is FigureKind.RASTER
    assert box_iou(unit.bbox, image_box) > 0.9
    assert unit.label == "Figure 2"
    assert unit.caption == "Fig. 2. Aerial photo of the new plant."
    assert "The site is pictured in Fig. 2 below." in unit.context


def test_two_columns_two_figures_each_with_its_caption(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    left, right = (50, 296), (316, 562)
    for (x0, x1), n, y in ((left, 1, 200), (right, 2, 330)):
        _paragraph(page, (x0, 60, x1, y - 10), LOREM * 3)
        boxes = _bar_chart(page, x0 + 10, y, x1 - x0 - 20, 140)
        _paragraph(page, (x0, y + 150, x1, y + 180), f"Figure {n}: Results of experiment {n} in column {n}.")
        _paragraph(page, (x0, y + 190, x1, 700), LOREM * 3)
        if n == 1:
            left_box = boxes
        else:
            right_box = boxes
    ex = _extract(_save(doc, tmp_path / "columns.pdf"))
    by_label = {f.unit.label: f.unit for f in ex.figures}
    assert set(by_label) == {"Figure 1", "Figure 2"}
    assert box_iou(by_label["Figure 1"].bbox, left_box) > 0.8
    assert box_iou(by_label["Figure 2"].bbox, right_box) > 0.8
    assert "column 1" in by_label["Figure 1"].caption and "column 2" in by_label["Figure 2"].caption


def test_multi_panel_figure_is_one_unit(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _paragraph(page, (72, 60, 540, 120), LOREM * 2)
    a = _bar_chart(page, 80, 140, 200, 150)
    b = _bar_chart(page, 330, 140, 200, 150)
    page.insert_text((150, 305), "(a) Latency", fontsize=8)
    page.insert_text((400, 305), "(b) Throughput", fontsize=8)
    _paragraph(page, (72, 320, 540, 345), "Figure 4: Latency and throughput under load.")
    _paragraph(page, (72, 360, 540, 450), LOREM * 2)
    ex = _extract(_save(doc, tmp_path / "panels.pdf"))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert unit.label == "Figure 4"
    whole = (a[0], a[1], b[2], b[3])
    assert box_iou(unit.bbox, whole) > 0.8
    assert "(a) Latency" in unit.figure_text and "(b) Throughput" in unit.figure_text


def test_uncaptioned_screenshot_gets_page_heading_as_context(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 70), "Settings screen", fontsize=18, fontname="hebo")
    _paragraph(page, (72, 90, 540, 140), LOREM)
    shot = (100, 160, 500, 400)
    page.insert_image(pymupdf.Rect(shot), stream=_png(800, 480, seed=3))
    _paragraph(page, (72, 420, 540, 480), LOREM)
    ex = _extract(_save(doc, tmp_path / "guide.pdf"))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert unit.label is None and unit.caption == ""
    assert box_iou(unit.bbox, shot) > 0.9
    assert unit.context.startswith("Settings screen")


def test_repeated_logo_and_tiny_icons_are_dropped(tmp_path: Path) -> None:
    doc = pymupdf.open()
    logo = _png(120, 40, seed=5)
    for n in range(4):
        page = doc.new_page(width=612, height=792)
        page.insert_image(pymupdf.Rect(500, 20, 580, 46), stream=logo)  # the same logo on every page
        page.insert_image(pymupdf.Rect(72, 100, 80, 108), stream=_png(16, 16, seed=n))  # a bullet icon
        _paragraph(page, (90, 98, 540, 200), LOREM * 2)
        if n == 2:
            page.insert_image(pymupdf.Rect(100, 250, 500, 450), stream=_png(400, 200, seed=9))
    ex = _extract(_save(doc, tmp_path / "logo.pdf"))
    assert [(f.unit.page, f.unit.kind) for f in ex.figures] == [(3, FigureKind.RASTER)]
    assert box_iou(ex.figures[0].unit.bbox, (100, 250, 500, 450)) > 0.9


def test_a_picture_per_page_in_one_frame_is_content_not_a_logo(tmp_path: Path) -> None:
    """Layout class "one picture per page in one frame" (a chart per page in an appendix, same-sized
    screenshots saved as PDF, a catalog): the same place and pixel size on every page made every one of
    them a logo, and the document had no figures. Pictures of their own (distinct bytes) are content."""
    doc = pymupdf.open()
    frame = (100, 160, 500, 400)
    for n in range(5):
        page = doc.new_page(width=612, height=792)
        page.insert_text((72, 70), f"Appendix A.{n + 1}", fontsize=16, fontname="hebo")
        page.insert_image(pymupdf.Rect(frame), stream=_png(800, 480, seed=20 + n))
        _paragraph(page, (100, 410, 540, 430), f"Figure A.{n + 1}: Load per region, scenario {n + 1}.")
    ex = _extract(_save(doc, tmp_path / "appendix.pdf"))
    assert [f.unit.page for f in ex.figures] == [1, 2, 3, 4, 5]
    assert all(box_iou(f.unit.bbox, frame) > 0.9 for f in ex.figures)
    assert [f.unit.label for f in ex.figures] == [f"Figure A.{n}" for n in range(1, 6)]


@pytest.mark.parametrize("layer", ["invisible over", "visible under"])
def test_a_searchable_scan_in_one_frame_is_no_figure_per_page(tmp_path: Path, layer: str) -> None:
    """A scan with margins (its pictures under 90 % of the page, so not page-covering), a visible Bates
    stamp and a scanner's text layer (invisible over the picture, or drawn under it): pictures of their own
    in one frame, but no sentence of visible text beside them: no units, as before, not a whole-page figure
    per page."""
    doc = pymupdf.open()
    for n in range(4):
        page = doc.new_page(width=612, height=792)
        if layer == "visible under":
            page.insert_text((60, 100), "Scanned minutes of the meeting, " * 3, fontsize=9)
        page.insert_image(pymupdf.Rect(40, 30, 572, 740), stream=_png(532, 710, seed=30 + n))
        if layer == "invisible over":
            page.insert_text((60, 100), "Scanned minutes of the meeting, " * 3, fontsize=9, render_mode=3)
        page.insert_text((450, 770), f"ACME{n + 1:07d}", fontsize=9)  # the Bates stamp, in the margin
    ex = _extract(_save(doc, tmp_path / "scan.pdf"), ExtractSettings(workers=1, ocr=False))
    assert ex.figures == []


def test_a_small_picture_stored_again_per_page_is_a_badge_not_content(tmp_path: Path) -> None:
    """A page-number badge rendered as a picture (other bytes on every page) under body text: a frame
    smaller than FRAME_MIN_PT is decoration whatever its bytes."""
    doc = pymupdf.open()
    for n in range(6):
        page = doc.new_page(width=612, height=792)
        _paragraph(page, (72, 90, 540, 300), LOREM * 4)
        page.insert_image(pymupdf.Rect(276, 720, 336, 760), stream=_png(60, 40, seed=40 + n))
    ex = _extract(_save(doc, tmp_path / "badges.pdf"), ExtractSettings(workers=1, ocr=False))
    assert ex.figures == []


def test_a_logo_embedded_again_on_every_page_is_still_a_logo(tmp_path: Path) -> None:
    """A producer that stores the template's logo again for every page (one image object a page, the same
    bytes): one picture in one frame, a logo, whatever its objects."""
    doc = pymupdf.open()
    first = 0
    for n in range(4):
        page = doc.new_page(width=612, height=792)
        logo = pymupdf.Rect(500, 20, 580, 46)
        if not first:
            first = page.insert_image(logo, stream=_png(120, 40, seed=5))
        else:  # a new object holding the first one's stored bytes
            copy = doc.get_new_xref()
            doc.update_object(copy, doc.xref_object(first))
            doc.update_stream(copy, doc.xref_stream_raw(first), new=True, compress=False)
            page.insert_image(logo, xref=copy)
        _paragraph(page, (90, 98, 540, 200), LOREM * 2)
        if n == 2:
            page.insert_image(pymupdf.Rect(100, 250, 500, 450), stream=_png(400, 200, seed=9))
    path = _save(doc, tmp_path / "logos.pdf")
    with pymupdf.open(path) as saved:
        logos = {image[0] for n in range(4) for image in saved[n].get_images() if image[2] == 120}
        assert len(logos) == 4, "one logo object a page"
    ex = _extract(path)
    assert [(f.unit.page, f.unit.kind) for f in ex.figures] == [(3, FigureKind.RASTER)]


def test_table_caption_is_not_a_figure(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _paragraph(page, (72, 60, 540, 120), LOREM * 2)
    _paragraph(page, (72, 135, 540, 150), "Table 1: Revenue per region.")
    for i in range(6):  # a ruled table: horizontal rules and cell text
        y = 160 + i * 18
        page.draw_line((72, y), (540, y), color=(0, 0, 0), width=0.6)
        for c in range(4):
            page.insert_text((80 + c * 115, y + 13), f"cell {i}.{c}", fontsize=8)
    for c in range(5):
        page.draw_line((72 + c * 117, 160), (72 + c * 117, 250), color=(0, 0, 0), width=0.6)
    _paragraph(page, (72, 280, 540, 340), LOREM * 2)
    ex = _extract(_save(doc, tmp_path / "table.pdf"))
    assert ex.figures == []


def test_uncaptioned_ruled_table_is_not_a_figure_but_a_chart_is(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.draw_rect((72, 100, 540, 118), color=None, fill=(0.8, 0.85, 0.95))  # shaded header row
    for i in range(7):
        y = 100 + i * 18
        page.draw_line((72, y), (540, y), color=(0, 0, 0), width=0.6)
        for c in range(3):
            page.insert_text((80 + c * 150, y + 13), f"row {i} col {c}", fontsize=8)
    for c in range(4):
        page.draw_line((72 + c * 156, 100), (72 + c * 156, 208), color=(0, 0, 0), width=0.6)
    _paragraph(page, (72, 230, 540, 290), LOREM * 2)
    chart = _bar_chart(page, 150, 320, 300, 180)
    page.draw_line((180, 460), (420, 340), color=(1, 0, 0), width=1)  # a trend line: not a table rule
    ex = _extract(_save(doc, tmp_path / "grid.pdf"))
    assert len(ex.figures) == 1
    assert box_iou(ex.figures[0].unit.bbox, chart) > 0.8


def test_several_figures_on_one_page_are_separate_units(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    boxes = []
    for n, y in ((1, 80), (2, 330)):
        boxes.append(_bar_chart(page, 150, y, 300, 180))
        _paragraph(page, (72, y + 190, 540, y + 205), f"Figure {n}: Chart number {n}.")
        _paragraph(page, (72, y + 210, 540, y + 240), LOREM)
    ex = _extract(_save(doc, tmp_path / "two.pdf"))
    assert [f.unit.label for f in ex.figures] == ["Figure 1", "Figure 2"]
    for fig, drawn in zip(ex.figures, boxes, strict=True):
        assert box_iou(fig.unit.bbox, drawn) > 0.8
    assert len({f.unit.unit_id for f in ex.figures}) == 2


def test_mixed_figure_kind(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    _paragraph(page, (72, 60, 540, 120), LOREM * 2)
    page.insert_image(pymupdf.Rect(100, 150, 250, 300), stream=_png(150, 150, seed=1))
    chart = _bar_chart(page, 260, 150, 250, 150)
    page.draw_line((250, 225), (290, 225), color=(1, 0, 0), width=2)  # an arrow from the image to the chart
    _paragraph(page, (72, 320, 540, 340), "Figure 3: Input image and its histogram.")
    ex = _extract(_save(doc, tmp_path / "mixed.pdf"))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert unit.kind is FigureKind.MIXED
    assert box_iou(unit.bbox, (100, 150, chart[2], 300)) > 0.8


def test_encrypted_pdf_needs_password(tmp_path: Path) -> None:
    doc = pymupdf.open()
    doc.new_page().insert_text((72, 72), "secret")
    path = _save(
        doc, tmp_path / "locked.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, user_pw="u", owner_pw="o"
    )
    with pytest.raises(ExtractionError, match=r"^encrypted PDF \(password required\)$"):
        _extract(path)


def test_owner_password_only_pdf_opens(vector_chart_pdf, tmp_path: Path) -> None:
    path, _ = vector_chart_pdf
    doc = pymupdf.open(path)
    locked = _save(doc, tmp_path / "owner.pdf", encryption=pymupdf.PDF_ENCRYPT_AES_256, owner_pw="o")
    assert [f.unit.label for f in _extract(locked).figures] == ["Figure 1"]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n", id="truncated-header-only"),
        pytest.param(b"%PDF-1.4\n" + b"\x00\xff" * 300, id="garbage-after-header"),
    ],
)
def test_corrupt_pdf_fails_with_one_line(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.pdf"
    path.write_bytes(data)
    with pytest.raises(ExtractionError) as err:
        _extract(path)
    assert "\n" not in str(err.value) and str(err.value)


def test_truncated_real_pdf_never_crashes(vector_chart_pdf, tmp_path: Path) -> None:
    path, _ = vector_chart_pdf
    data = path.read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(data[: len(data) // 2])
    try:
        ex = _extract(cut)
    except ExtractionError as exc:  # MuPDF may also repair it: either outcome is fine, a crash is not
        assert "\n" not in str(exc) and str(exc), exc
    else:  # repaired (PyMuPDF 2.0 does): the one page whose objects survived the cut is read as one page
        assert ex.meta.pages == 1, ex.meta


def test_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.pdf"
    path.write_bytes(b"")
    with pytest.raises(ExtractionError, match="empty file"):
        _extract(path)


def test_decompression_bomb_image_is_skipped_with_warning(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_image(pymupdf.Rect(100, 100, 500, 400), stream=_png(400, 300))
    path = _save(doc, tmp_path / "bomb.pdf")
    data = path.read_bytes()
    settings = ExtractSettings(max_source_image_pixels=100_000)
    ex = extract_pdf_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert ex.figures == []
    assert any("120,000 pixels skipped" in w for w in ex.warnings)


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("D:20211117103000+01'00'", "2021-11-17T10:30:00+01:00"),
        ("D:20190101", "2019-01-01T00:00:00"),
        ("D:20200229120000Z", "2020-02-29T12:00:00Z"),
        ("", None),
        ("yesterday", None),
        # Other producers' forms (each None before 2026-12-06: no date range ever matched the document).
        ("20211117103000", "2021-11-17T10:30:00"),
        ("Mon Mar 25 14:30:13 2013", "2013-03-25T14:30:13"),
        ("2013-03-25", "2013-03-25T00:00:00"),
        ("2013-03-25T14:30:13+01:00", "2013-03-25T14:30:13+01:00"),
        ("Mon Mar 25 14:30:13 UTC 2013", "2013-03-25T14:30:13"),
        ("03/04/2013", None),  # March or April, depending on who wrote it
        ("2013", None),
    ],
)
def test_pdf_dates(raw: str, iso: str | None) -> None:
    assert pdf_date_to_iso(raw) == iso


def test_a_page_of_many_figures_is_recorded_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each figure's rendering recorded the whole page again (``page.get_pixmap`` builds a display list of
    the page per call): a page of 200 small charts was interpreted 200 times. One display list a page now,
    the same pixels."""
    path = figure_pdf(tmp_path / "report.pdf", seed=7, n_figures=2, pages=3)
    recorded: list[int] = []
    get_displaylist = pymupdf.Page.get_displaylist

    def counting(page: pymupdf.Page, *args: object, **kwargs: object) -> pymupdf.DisplayList:
        recorded.append(page.number)
        return get_displaylist(page, *args, **kwargs)

    monkeypatch.setattr(pymupdf.Page, "get_displaylist", counting)
    ex = _extract(path, ExtractSettings(workers=1, ocr=False))
    assert [f.unit.page for f in ex.figures] == [1, 1, 2, 2, 3, 3]
    assert recorded == [0, 1, 2]
