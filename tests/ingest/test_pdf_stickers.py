"""Stickers on slides (issue 13): a wordless flat picture beside a slide's text is decoration."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.ingest import ocr
from figvault.ingest.boxes import box_iou
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from tests.generated_docs import clip_art_png, titled_picture_png

SCREENSHOT = (420, 150, 900, 420)
STICKER = (60, 330, 180, 450)


def _slide(path: Path, sticker: bytes, titled: bool = True) -> Path:
    """A slide: a title, two lines of text, a screenshot with words, and a picture of 120 pt by the text.
    ``titled``: False sets the first line barely larger than the others (a slide without a title)."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 60), "Subscription vending update", fontsize=32 if titled else 18, fontname="hebo")
    for n, line in enumerate(("The module moved to the pattern library", "Version 0.1.0 is out")):
        page.insert_text((50, 200 + 30 * n), line, fontsize=16)
    lines = ("Create a subscription", "Assign the landing zone", "Apply the policies")
    page.insert_image(
        pymupdf.Rect(SCREENSHOT),
        stream=titled_picture_png("Subscription vending", lines),
        keep_proportion=False,
    )
    page.insert_image(pymupdf.Rect(STICKER), stream=sticker, keep_proportion=False)
    path.write_bytes(doc.tobytes())
    return path


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
@pytest.mark.parametrize(("photo", "units"), [(False, 1), (True, 2)], ids=["clip-art", "photograph"])
def test_a_wordless_clip_art_picture_on_a_slide_is_decoration(
    tmp_path: Path, photo: bool, units: int
) -> None:
    """Layout class "wordless sticker": OCR reads the flat picture and finds no word; a photograph (not
    flat, never read by OCR) of the same size stays a figure."""
    ex = extract_document(
        _slide(tmp_path / "slide.pdf", clip_art_png(photo=photo)), ExtractSettings(workers=1)
    )
    assert len(ex.figures) == units
    assert box_iou(ex.figures[0].unit.bbox, SCREENSHOT) > 0.9
    assert "Assign the landing zone" in ex.figures[0].unit.figure_text
    if photo:
        assert box_iou(ex.figures[1].unit.bbox, STICKER) > 0.9


SIDE_SHOT = (700, 120, 930, 420)


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
def test_a_wordless_clip_art_picture_on_a_slide_without_a_title_is_decoration(tmp_path: Path) -> None:
    """A slide-like (landscape) page is a slide whether or not one line stands out as its title (a
    closing slide of same-size sentences with a QR code beside them)."""
    slide = _slide(tmp_path / "slide.pdf", clip_art_png(), titled=False)
    ex = extract_document(slide, ExtractSettings(workers=1))
    assert [box_iou(f.unit.bbox, SCREENSHOT) > 0.9 for f in ex.figures] == [True]


def _slide_with_emojis(path: Path) -> Path:
    """A slide: a title, a screenshot, and two paragraphs of 20 pt type, each ending in a picture 44 pt high
    (an emoji whose image box has transparent margins around its glyph)."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 60), "Before we get started", fontsize=36, fontname="hebo")
    page.insert_image(
        pymupdf.Rect(SIDE_SHOT),
        stream=titled_picture_png("Ask in the chat", ("Questions",)),
        keep_proportion=False,
    )
    emoji = clip_art_png(photo=True)
    paragraphs = (
        ("At any point, if you have a question, please put", "it in the chat: the team is here to help"),
        ("We may also stop and discuss your question then,", "an open discussion with all of you"),
    )
    for n, lines in enumerate(paragraphs):
        top = 180 + 110 * n
        page.insert_text((50, top), "\n".join(lines), fontsize=20)
        end = 50 + pymupdf.get_text_length(lines[1], fontsize=20)
        baseline = top + 20 * 1.2  # the second line's (insert_text's line height: 1.2 em)
        page.insert_image(
            pymupdf.Rect(end, baseline - 32, end + 80, baseline + 12), stream=emoji, keep_proportion=False
        )
    path.write_bytes(doc.tobytes())
    return path


def test_pictures_set_in_a_line_of_text_are_type_not_a_figure(tmp_path: Path) -> None:
    """Layout class "inline pictogram": emojis at the ends of two neighbouring sentences joined into one
    figure before; a picture set in a text line is part of the type."""
    ex = extract_document(_slide_with_emojis(tmp_path / "slide.pdf"), ExtractSettings(workers=1, ocr=False))
    assert len(ex.figures) == 1
    assert box_iou(ex.figures[0].unit.bbox, SIDE_SHOT) > 0.9
