"""OCR of figure images whose words are pixels: marked in figure_text, bounded, optional, said if missing."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pymupdf
import pytest
from PIL import Image
from pptx.util import Inches

from figvault.ingest import cpu_limited, ocr, pdf
from figvault.ingest.extract import extract_document
from figvault.ingest.render import render_image, render_region
from figvault.settings import ExtractSettings
from figvault.units import OCR_MARKER, split_figure_text
from tests.ingest import pptx_decks as decks

needs_tesseract = pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
WORDS = ("Replication lag dashboard", "Primary region healthy", "Failover window minutes")


def text_picture(lines: tuple[str, ...] = WORDS, width: int = 900, height: int = 360) -> bytes:
    """A screenshot-like PNG: dark words on a light background, drawn by MuPDF (so only pixels remain)."""
    doc = pymupdf.open()
    page = doc.new_page(width=width * 0.48, height=height * 0.48)
    page.draw_rect(page.rect, color=None, fill=(0.96, 0.97, 1.0))
    for i, line in enumerate(lines):
        page.insert_text((14, 36 + i * 40), line, fontsize=18, fontname="helv", color=(0.1, 0.1, 0.2))
    png = page.get_pixmap(dpi=150).tobytes("png")
    doc.close()
    return png


def noise_picture(width: int = 600, height: int = 400) -> bytes:
    """A photograph stand-in: no flat background anywhere."""
    rnd = random.Random(5)
    img = Image.new("RGB", (width, height))
    img.putdata([(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)) for _ in range(width * height)])
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def picture_pdf(path: Path, pictures: list[tuple[bytes, tuple[float, float, float, float]]]) -> Path:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 60), "Operations review", fontsize=16, fontname="hebo")
    for png, rect in pictures:
        page.insert_image(pymupdf.Rect(rect), stream=png)
    doc.save(path)
    doc.close()
    return path


def _ocr_part(figure_text: str) -> str:
    return split_figure_text(figure_text)[1].lower()


@needs_tesseract
def test_words_in_a_picture_come_back_after_the_ocr_marker(tmp_path: Path) -> None:
    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    ex = extract_document(path, ExtractSettings(workers=1))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert OCR_MARKER in unit.figure_text.splitlines()
    words = _ocr_part(unit.figure_text)
    assert "replication" in words and "failover" in words
    assert "Replication" in unit.search_text()  # so BM25 and the text channel see it
    assert ex.warnings == []


@needs_tesseract
def test_ocr_off_by_setting(tmp_path: Path) -> None:
    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    unit = extract_document(path, ExtractSettings(workers=1, ocr=False)).figures[0].unit
    assert OCR_MARKER not in unit.figure_text


def test_missing_tesseract_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_installed_languages", lambda: None)
    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    ex = extract_document(path, ExtractSettings(workers=1))
    assert len(ex.figures) == 1 and OCR_MARKER not in ex.figures[0].unit.figure_text
    assert len(ex.warnings) == 1 and ex.warnings[0].startswith("OCR unavailable: tesseract not found")
    assert "\n" not in ex.warnings[0]


def test_missing_language_data_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "_installed_languages", lambda: frozenset({"eng", "osd"}))
    warnings: list[str] = []
    engine = ocr.engine_for(ExtractSettings(ocr_languages="eng+deu"), warnings)
    assert engine == ocr.OcrEngine("eng")
    assert warnings == [
        "OCR: no tesseract language data for deu (Debian package tesseract-ocr-deu); reading with eng"
    ]


def test_only_pictures_with_a_flat_background_are_worth_reading() -> None:
    assert ocr.worth_reading(Image.open(io.BytesIO(text_picture())))
    assert not ocr.worth_reading(Image.open(io.BytesIO(noise_picture())))
    assert not ocr.worth_reading(Image.new("RGB", (300, 30), "white"))  # too small for a line of text


def flat_fills_picture(width: int = 600, height: int = 400) -> Image.Image:
    """Layout class "diagram of several flat fills": four zones of different greys, none a quarter more."""
    img = Image.new("RGB", (width, height))
    for i, grey in enumerate((40, 110, 180, 235)):
        img.paste((grey, grey, grey), (i * width // 4, 0, (i + 1) * width // 4, height))
    return img


def test_a_diagram_of_several_flat_fills_is_worth_reading() -> None:
    assert ocr.worth_reading(flat_fills_picture())
    gradient = Image.linear_gradient("L").resize((600, 400)).convert("RGB")  # a gradient slide background
    assert not ocr.worth_reading(gradient)


@needs_tesseract
def test_at_most_the_cap_of_figures_per_page_biggest_first(tmp_path: Path) -> None:
    small = (text_picture(("Small panel words",)), (72, 420, 272, 500))
    big = (text_picture(), (72, 100, 504, 273))
    path = picture_pdf(tmp_path / "two.pdf", [small, big])
    ex = extract_document(path, ExtractSettings(workers=1, ocr_max_per_page=1))
    read = {f.unit.bbox[1] < 300: OCR_MARKER in f.unit.figure_text for f in ex.figures}
    assert read == {True: True, False: False}


@needs_tesseract
def test_photographs_and_text_layer_figures_are_not_read(tmp_path: Path) -> None:
    path = picture_pdf(tmp_path / "photo.pdf", [(noise_picture(), (72, 100, 504, 388))])
    unit = extract_document(path, ExtractSettings(workers=1)).figures[0].unit
    assert OCR_MARKER not in unit.figure_text


@needs_tesseract
def test_pptx_picture_words_are_read(tmp_path: Path) -> None:
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Monitoring"
    slide.shapes.add_picture(io.BytesIO(text_picture()), Inches(1), Inches(2), Inches(7), Inches(2.8))
    path = decks.save(prs, tmp_path / "shot.pptx")
    unit = extract_document(path, ExtractSettings(workers=1, libreoffice="off")).figures[0].unit
    assert unit.title == "Monitoring"
    assert "replication" in _ocr_part(unit.figure_text)


@needs_tesseract
def test_an_ocr_past_its_time_limit_costs_only_its_words(tmp_path: Path) -> None:
    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    ex = extract_document(path, ExtractSettings(workers=1, ocr_timeout_s=0.001))
    assert len(ex.figures) == 1 and OCR_MARKER not in ex.figures[0].unit.figure_text
    assert ex.warnings == [
        "page 1: OCR of a figure failed (OCR stopped after 0.001 s of CPU time (extract.ocr_timeout_s))"
    ]
    assert ex.ocr_timeouts == 1  # counted, for the job's result and the extract command's report


@needs_tesseract
def test_words_lost_to_the_documents_deadline_name_its_limit(tmp_path: Path) -> None:
    """In a worker, OCR also stops once the document used its share of extract.doc_timeout_s; the job's
    summary (``ocr_lost``) told the user to raise extract.ocr_timeout_s only, which changes nothing then."""
    from figvault.ingest import deadline

    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    with deadline.steps_until(deadline.Deadline.after(-1, 60)):
        ex = extract_document(path, ExtractSettings(workers=1))
    assert len(ex.figures) == 1 and OCR_MARKER not in ex.figures[0].unit.figure_text
    assert ex.ocr_timeouts == 1
    assert "extract.doc_timeout_s" in ocr.ocr_lost(ex.ocr_timeouts)


@needs_tesseract
def test_no_time_left_is_no_time_not_the_whole_read_limit() -> None:
    """``read_lines``' ``timeout_s`` of 0 (the document's time just spent) was read as "none given" and the
    read got the whole extract.ocr_timeout_s (now the document's deadline, ``until``, with no time left)."""
    from figvault.ingest import deadline

    image = Image.open(io.BytesIO(text_picture()))
    with pytest.raises(TimeoutError, match=r"extract\.doc_timeout_s"):
        ocr.read_lines(
            image, ocr.OcrEngine("eng"), ExtractSettings(workers=1), deadline.Deadline.after(0, 60)
        )


def test_the_image_read_is_the_pixels_of_the_rendered_png(tmp_path: Path) -> None:
    """OCR reads the region without a PNG round trip; the pixels must be those of the unit's PNG."""
    doc = pymupdf.open(picture_pdf(tmp_path / "p.pdf", [(text_picture(), (50, 50, 383, 183))]))
    page = doc[0]
    for dpi, antialias in ((150, True), (217, False), (300, True)):
        rect = pymupdf.Rect(41.3, 47.9, 390.2, 191.7)  # odd sizes: rows not a multiple of 4 bytes
        png = render_region(page, rect, dpi, 1_500_000, antialias=antialias).png
        image = render_image(page, rect, dpi, 1_500_000, antialias=antialias)
        decoded = Image.open(io.BytesIO(png))
        assert (image.mode, image.size) == (decoded.mode, decoded.size)
        assert image.tobytes() == decoded.tobytes()


@needs_tesseract
def test_the_same_picture_on_two_pages_is_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = pymupdf.open()
    for _ in range(2):
        page = doc.new_page(width=612, height=792)
        page.insert_image(pymupdf.Rect(72, 100, 504, 273), stream=text_picture())
    doc.save(tmp_path / "twice.pdf")
    calls = []
    real = ocr.read_lines
    monkeypatch.setattr(ocr, "read_lines", lambda *args: calls.append(1) or real(*args))
    ex = extract_document(tmp_path / "twice.pdf", ExtractSettings(workers=1))
    assert len(ex.figures) == 2 and len(calls) == 1
    assert all("replication" in _ocr_part(f.unit.figure_text) for f in ex.figures)


@needs_tesseract
def test_no_figure_is_rendered_for_ocr_past_the_page_cap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = (text_picture(("Small panel words",)), (72, 420, 272, 500))
    path = picture_pdf(tmp_path / "two.pdf", [small, (text_picture(), (72, 100, 504, 273))])
    renders = []
    real = pdf._ocr_image
    monkeypatch.setattr(pdf, "_ocr_image", lambda *args: renders.append(1) or real(*args))
    ex = extract_document(path, ExtractSettings(workers=1, ocr_max_per_page=1))
    assert len(ex.figures) == 2
    assert sum(OCR_MARKER in f.unit.figure_text for f in ex.figures) == 1
    assert len(renders) == 1


class _WordWithoutText:
    """A result-iterator item whose first word has no text: tesserocr raises "No text returned" for it."""

    def __init__(self, item: object, failing: list[bool]) -> None:
        self._item, self._failing = item, failing

    def __getattr__(self, name: str) -> object:
        return getattr(self._item, name)

    def GetUTF8Text(self, level: object) -> str:
        if self._failing and self._failing.pop():
            raise RuntimeError("No text returned")
        return self._item.GetUTF8Text(level)  # type: ignore[attr-defined]


@needs_tesseract
def test_a_word_without_text_costs_only_that_word(monkeypatch: pytest.MonkeyPatch) -> None:
    import tesserocr

    image = Image.open(io.BytesIO(text_picture())).convert("RGB")
    settings = ExtractSettings()
    engine = ocr.OcrEngine("eng")
    whole = ocr.read_lines(image, engine, settings)
    real = tesserocr.iterate_level
    failing = [True]
    monkeypatch.setattr(
        tesserocr, "iterate_level", lambda *a: (_WordWithoutText(item, failing) for item in real(*a))
    )
    monkeypatch.setattr(ocr, "_READER", cpu_limited.Helper())  # a reader process forked with the patch
    lines = ocr.read_lines(image, engine, settings)
    # the first word had no text (in the reader process): only it is missing
    assert [line.text for line in lines] == [whole[0].text.split(" ", 1)[1], *[x.text for x in whole[1:]]]


def _plot_with_status_icon(title: str, icon: str = "tick") -> Image.Image:
    """An exported plot's top (a FastQC module): a round status icon with a tick glued to its heading;
    ``icon`` "ring": a ring a little apart from it (a status or issue icon); "none": the heading alone."""
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=200)
    page.draw_rect(page.rect, color=None, fill=(1, 1, 1))
    x = 24
    if icon == "tick":
        page.draw_circle((14, 18), 9, color=None, fill=(0.1, 0.7, 0.1))
        page.draw_polyline([(9, 18), (13, 23), (20, 12)], color=(1, 1, 1), width=2.5)
    elif icon == "ring":
        page.draw_circle((14, 18), 8, color=(0.3, 0.3, 0.3), width=2)
        x = 28
    else:
        x = 14
    page.insert_text((x, 24), title, fontsize=13, fontname="hebo", color=(0.1, 0.1, 0.1))
    for i, line in enumerate(("Quality scores across all bases", "Position in read (bp)", "Mean quality")):
        page.insert_text((40, 60 + 30 * i), line, fontsize=7)
    image = Image.open(io.BytesIO(page.get_pixmap(dpi=200).tobytes("png"))).convert("RGB")
    doc.close()
    return image


@needs_tesseract
def test_a_heading_word_doubted_for_the_icon_glued_to_it_still_starts_the_title() -> None:
    """Layout class "status icon before a heading": Tesseract doubts the heading's first word (the icon is
    read into it), which was dropped, so the title lost it ("sequences"). The doubted leading words stay
    out of the indexed text, but a title read from the picture starts with them."""
    from figvault.ingest.panels import picture_title

    image = _plot_with_status_icon("Overrepresented sequences")
    lines = ocr.read_lines(image, ocr.OcrEngine("eng"), ExtractSettings())
    assert "overrepresented" not in lines[0].text.lower()  # doubted: not indexed
    title = picture_title([(line.heading, line.box) for line in lines], image.height)
    assert title is not None and title.lower() == "overrepresented sequences"


@pytest.mark.parametrize(
    ("lead", "text", "heading"),
    [
        ("Overrepresented", "sequences", "Overrepresented sequences"),
        ("HE", "Governance Benchmark Tool", "Governance Benchmark Tool"),  # an icon read alone
        ("@ Per", "sequence GC content", "Per sequence GC content"),
        ("@Per", "sequence GC content", "Per sequence GC content"),
        ("c st", "8", "8"),  # a line of numbers stays one
    ],
)
def test_only_doubted_words_that_read_as_words_start_a_heading(lead: str, text: str, heading: str) -> None:
    assert ocr.OcrLine(text, (0, 0, 10, 10), lead).heading == heading


def slide_with_callout(path: Path, callout: tuple[str, ...], at: tuple[float, float], size: float) -> Path:
    """A slide-shaped page: a heading, a screenshot, and a callout in the text layer (beside it or on it)."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((60, 60), "How are things going now?", fontsize=28, fontname="helv")
    page.insert_image(pymupdf.Rect(150, 110, 570, 278), stream=text_picture())
    for i, line in enumerate(callout):
        page.insert_text(
            (at[0], at[1] + i * size * 1.3), line, fontsize=size, fontname="helv", color=(0.8, 0, 0)
        )
    page.draw_line((575, 180), (588, 170), color=(0.8, 0, 0), width=2)
    doc.save(path)
    doc.close()
    return path


@needs_tesseract
def test_a_picture_beside_its_own_text_layer_words_is_read(tmp_path: Path) -> None:
    """Layout class "picture beside its own text": 60+ characters of callout around a screenshot say nothing
    of the screenshot's words, which are pixels only."""
    callout = ("Relative improvement", "since the last release", "of the benchmark suite")
    path = slide_with_callout(tmp_path / "beside.pdf", callout, (590, 170), 20)
    (figure,) = extract_document(path, ExtractSettings(workers=1)).figures
    assert "relative improvement" in figure.unit.figure_text.lower()  # the callout joined the figure
    assert "replication" in _ocr_part(figure.unit.figure_text)
    assert "benchmark" not in _ocr_part(figure.unit.figure_text)  # OCR reads the picture, not the callout


@needs_tesseract
def test_a_picture_whose_text_layer_words_lie_on_it_is_not_read(tmp_path: Path) -> None:
    notes = ("Operator notes drawn over the", "screenshot itself, in the text", "layer of the page")
    path = slide_with_callout(tmp_path / "over.pdf", notes, (160, 230), 11)
    (figure,) = extract_document(path, ExtractSettings(workers=1)).figures
    assert "operator notes" in figure.unit.figure_text.lower()
    assert OCR_MARKER not in figure.unit.figure_text


SMALL_WORDS = (
    "Replication lag dashboard",
    "Primary region healthy",
    "Failover window minutes",
    "Snapshot retention policy",
    "Certificate rotation schedule",
)


def small_text_picture(font_px: float = 9) -> bytes:
    """A screenshot's small type: five lines of ``font_px`` pixel words, one pixel per point (as captured)."""
    doc = pymupdf.open()
    page = doc.new_page(width=300, height=140)
    page.draw_rect(page.rect, color=None, fill=(0.96, 0.97, 1.0))
    for i, line in enumerate(SMALL_WORDS):
        page.insert_text((10, 20 + i * 22), line, fontsize=font_px, fontname="helv", color=(0.1, 0.1, 0.2))
    png = page.get_pixmap(dpi=72).tobytes("png")
    doc.close()
    return png


@needs_tesseract
def test_small_text_is_read_enlarged() -> None:
    """9 px type: Tesseract's layout finds its lines but reads only "ag", "region heathy", "window minutes",
    "schedule" at its own size; enlarged to TEXT_LINE_PX lines it reads the rest but "Failover". Boxes stay
    in the picture's own pixels."""
    image = Image.open(io.BytesIO(small_text_picture())).convert("RGB")
    lines = ocr.read_lines(image, ocr.OcrEngine("eng"), ExtractSettings(workers=1))
    words = " ".join(line.text for line in lines).lower().split()
    for word in ("replication", "primary", "healthy", "snapshot", "certificate"):
        assert word in words
    assert all(0 <= x0 < x1 <= image.width and 0 <= y0 < y1 <= image.height for x0, y0, x1, y1 in (
        line.box for line in lines))  # fmt: skip
    assert lines[0].box[1] < 20 < lines[-1].box[1]  # the first line near the top, the last near the bottom


@needs_tesseract
def test_small_text_in_a_pdf_picture_reaches_the_unit(tmp_path: Path) -> None:
    """A screenshot placed at 144 dpi is rendered for OCR at about its own pixels (9 px type): its words are
    in the unit's OCR text (read unenlarged: "ng dashboard", "region", "minutes", "Snapshot retention",
    "schedule")."""
    path = picture_pdf(tmp_path / "small.pdf", [(small_text_picture(), (72, 100, 222, 170))])
    unit = extract_document(path, ExtractSettings(workers=1)).figures[0].unit
    words = _ocr_part(unit.figure_text).split()
    for word in ("replication", "primary", "healthy", "certificate"):
        assert word in words


@needs_tesseract
@pytest.mark.parametrize(
    ("icon", "heading", "title"),
    [
        ("ring", "Per base sequence quality", "Per base sequence quality"),  # the ring read as "O"
        ("ring", "Adapter content", "Adapter content"),
        ("none", "A Patient's Story", "A Patient's Story"),  # real one-letter words stay
        ("none", "C Programming in practice", "C Programming in practice"),
        ("none", "R Markdown reports", "R Markdown reports"),
        ("none", "3 Results by region", "3 Results by region"),
    ],
)
def test_a_pictograph_read_as_a_letter_does_not_start_the_title(icon: str, heading: str, title: str) -> None:
    """Layout class "icon before a heading": a ring icon before a plot's heading is read as a confident
    "O", its own word. The title read from the picture starts with the heading's first word; a letter
    set in the heading's own type (a word, a language's name) stays. The indexed text keeps every word."""
    from figvault.ingest.panels import picture_title

    image = _plot_with_status_icon(heading, icon)
    lines = ocr.read_lines(image, ocr.OcrEngine("eng"), ExtractSettings())
    assert lines[0].text.endswith(heading.split()[-1])
    assert picture_title([(line.heading, line.box) for line in lines], image.height) == title


@pytest.mark.parametrize(
    ("text", "boxes", "words"),
    [
        ("O Per base", ((0, 0, 50, 50), (60, 16, 110, 43)), "Per base"),  # 1.85 times as tall
        ("Q Azure Projects", ((0, 0, 30, 30), (40, 5, 90, 29)), "Azure Projects"),  # 1.25 times
        ("C Programming", ((0, 12, 22, 40), (30, 12, 220, 46)), "C Programming"),  # a letter: 0.8 times
        ("A Patient", ((0, 0, 50, 50), (60, 16, 110, 43)), "A Patient"),  # a word, however tall
        ("3 Results", ((0, 0, 50, 50), (60, 16, 110, 43)), "3 Results"),
        ("Q A session", ((0, 0, 50, 50), (60, 16, 70, 43)), "Q A session"),  # no word after it
        ("O Per base", (), "O Per base"),  # no boxes: nothing to tell by
    ],
)
def test_only_a_tall_lone_letter_before_a_word_is_a_pictograph(
    text: str, boxes: tuple[tuple[int, int, int, int], ...], words: str
) -> None:
    assert ocr.OcrLine(text, (0, 0, 300, 50), "", boxes).words == words


def faint_line_picture() -> Image.Image:
    """Three lines of 20 px type (read at the picture's own size: not small text) and a fourth of grey 10 px
    type, a screenshot's footnote or status line: Tesseract's layout finds that line but doubts every word
    of it in the whole picture ("Snapshot" 50, "retention" 54, "schedule" 51, "certticate" 43: under
    MIN_CONFIDENCE), and the read loses the line."""
    doc = pymupdf.open()
    page = doc.new_page(width=420, height=190)
    page.draw_rect(page.rect, color=None, fill=(0.96, 0.97, 1.0))
    for i, line in enumerate(WORDS):
        page.insert_text((10, 30 + i * 34), line, fontsize=20, fontname="helv", color=(0.1, 0.1, 0.2))
    footnote = "Snapshot retention schedule certificate"
    page.insert_text((10, 150), footnote, fontsize=10, fontname="helv", color=(0.45, 0.45, 0.5))
    png = page.get_pixmap(dpi=72).tobytes("png")
    doc.close()
    return Image.open(io.BytesIO(png)).convert("RGB")


@needs_tesseract
def test_a_line_whose_every_word_was_doubted_is_read_again_alone_and_enlarged() -> None:
    """The doubted line is cut out, enlarged and read as one line (ocr._line_again): its words come back,
    in reading order, with its box in the picture's pixels; the lines read well are read once."""
    image = faint_line_picture()
    lines = ocr.read_lines(image, ocr.OcrEngine("eng"), ExtractSettings(workers=1))
    assert [line.text for line in lines[:3]] == list(WORDS)
    assert lines[3].text.split() == ["Snapshot", "retention", "schedule", "certificate"]
    x0, y0, x1, y1 = lines[3].box
    assert y0 > lines[2].box[3] and 130 < y0 < y1 < 160 and x0 < 20 < 120 < x1
    assert all(y0 - 5 <= top and bottom <= y1 + 5 for _, top, _, bottom in lines[3].first_boxes)


def test_only_a_box_shaped_as_a_line_of_text_is_cut_to_be_read_again() -> None:
    """ocr._line_cut: a doubted "line" not wider than twice its height (an icon, a box's frame) or under
    4 px high is not read again; a line is cut with a quarter of its height around it, enlarged to
    REREAD_LINE_PX, in the first read's pixels divided by ``scale``."""
    image = Image.new("RGB", (400, 200), "white")
    assert ocr._line_cut(image, (10, 10, 40, 30), 1.0) is None  # 30 x 20: an icon
    assert ocr._line_cut(image, (10, 10, 200, 13), 1.0) is None  # 3 px: a rule
    cut = ocr._line_cut(image, (20, 40, 220, 56), 2.0)  # 100 x 8 in the picture's pixels
    assert cut is not None
    crop, left, top, factor = cut
    assert (left, top, factor) == (8.0, 18.0, ocr.MAX_REREAD)  # 8 px high: 32 / 8 = 4, at most MAX_REREAD
    assert crop.size == (round(104 * factor), round(12 * factor))


@needs_tesseract
def test_a_picture_read_well_is_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """No doubted line, no second read: a picture read well costs nothing more."""
    monkeypatch.setattr(ocr, "_line_again", lambda *args: pytest.fail("read again"))
    monkeypatch.setattr(ocr, "_READER", cpu_limited.Helper())  # forked with the patch
    image = Image.open(io.BytesIO(text_picture())).convert("RGB")
    lines = ocr.read_lines(image, ocr.OcrEngine("eng"), ExtractSettings(workers=1))
    assert [line.text for line in lines] == list(WORDS)


def _read_here_with(
    set_image: object, image: Image.Image, monkeypatch: pytest.MonkeyPatch
) -> list[ocr.OcrLine]:
    monkeypatch.setattr(ocr, "_set_image", set_image)
    api = ocr._api("eng")
    try:
        read = ocr._recognized(api, image, ExtractSettings().ocr_max_pixels, 60.0)
    finally:
        api.Clear()
    assert read is not None
    return read[0]


@needs_tesseract
@pytest.mark.parametrize("picture", ["plain", "small", "faint"])
def test_pictures_handed_as_raw_pixels_read_as_through_tesserocrs_setimage(
    picture: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ocr._set_image hands Tesseract the pixels themselves, not a BMP written and decoded (tesserocr's
    SetImage): the same read, words and boxes, for a picture read as it is, one read enlarged (small text)
    and one with a line read again (a faint footnote)."""
    image = {
        "plain": lambda: Image.open(io.BytesIO(text_picture())).convert("RGB"),
        "small": lambda: Image.open(io.BytesIO(small_text_picture())).convert("RGB"),
        "faint": faint_line_picture,
    }[picture]()
    raw = _read_here_with(ocr._set_image, image, monkeypatch)
    assert raw == _read_here_with(lambda api, im: api.SetImage(im), image, monkeypatch)
    assert raw  # words were read
