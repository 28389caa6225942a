"""PPTX figure units: every kind, geometry, text, decorations and stable ids (LibreOffice not needed)."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from PIL import Image
from pptx import Presentation
from pptx.util import Emu, Inches

from figvault.ingest import ocr
from figvault.ingest.pptx import extract_pptx_units
from figvault.ingest.slide_render import SOFFICE_OFF
from figvault.ingest.slide_shapes import Box, iter_leaves
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction, FigureKind
from tests.generated_docs import clip_art_png, titled_picture_png
from tests.ingest import pptx_decks as decks

OFF = ExtractSettings(libreoffice="off")


def extract(path: Path, settings: ExtractSettings = OFF) -> DocumentExtraction:
    data = path.read_bytes()
    return extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)


def png_size(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as img:
        return img.size


def test_picture_unit_uses_the_embedded_image(tmp_path: Path) -> None:
    path = decks.picture_deck(tmp_path / "pic.pptx", notes="Mention the backup link.")
    result = extract(path)
    assert [f.unit.kind for f in result.figures] == [FigureKind.PICTURE]
    unit = result.figures[0].unit
    assert unit.page == 1
    assert unit.page_size == (720.0, 540.0)
    assert unit.bbox == (144.0, 144.0, 432.0, 360.0)  # 2in, 2in, 4in x 3in in points
    assert png_size(result.figures[0].png) == (300, 200) == (unit.width, unit.height)
    assert "Network overview" in unit.context
    assert "Mention the backup link." in unit.context
    assert result.warnings == []  # a picture needs no rendering, so no LibreOffice warning


def test_picture_is_capped_at_max_image_pixels(tmp_path: Path) -> None:
    path = decks.picture_deck(tmp_path / "big.pptx", blob=decks.png_bytes((1200, 800)))
    result = extract(path, ExtractSettings(libreoffice="off", max_image_pixels=120_000))
    width, height = png_size(result.figures[0].png)
    assert width * height <= 120_000
    assert abs(width / height - 1.5) < 0.02


def test_chart_unit_carries_type_title_categories_and_series(tmp_path: Path) -> None:
    result = extract(decks.chart_deck(tmp_path / "chart.pptx"))
    assert [f.unit.kind for f in result.figures] == [FigureKind.CHART]
    text = result.figures[0].unit.figure_text
    for expected in (
        "column clustered",
        "Units per product",
        "Alpha",
        "Beta",
        "Gamma",
        "Units sold",
        "7.5",
        "Returns",
    ):
        assert expected in text
    # Without LibreOffice the chart is sketched from its data: a real, non-blank image, and one warning.
    assert result.warnings == [SOFFICE_OFF]
    with Image.open(io.BytesIO(result.figures[0].png)) as img:
        assert img.convert("L").getextrema()[0] < 200


def test_slide_units_carry_the_slide_title_and_charts_their_own(tmp_path: Path) -> None:
    picture = extract(decks.picture_deck(tmp_path / "pic.pptx")).figures[0].unit
    assert picture.title == "Network overview" and picture.caption == ""
    diagram = extract(decks.diagram_deck(tmp_path / "diagram.pptx")).figures[0].unit
    assert diagram.title == "Request path"
    chart = extract(decks.chart_deck(tmp_path / "chart.pptx")).figures[0].unit
    assert chart.title == "Units per product"  # the chart's own title, not the slide's ("Sales")
    assert "Sales" in chart.context


def test_long_chart_series_are_named_not_listed_in_full(tmp_path: Path) -> None:
    path = decks.chart_deck(tmp_path / "long.pptx", points=500)
    text = extract(path).figures[0].unit.figure_text
    assert "Units sold" in text and "Returns" in text
    assert "(500 in all)" in text and len(text) < 2000


def test_grouped_shapes_and_connectors_are_one_diagram(tmp_path: Path) -> None:
    result = extract(decks.diagram_deck(tmp_path / "diagram.pptx"))
    assert len(result.figures) == 1
    unit = result.figures[0].unit
    assert unit.kind == FigureKind.DIAGRAM
    for label in ("Client", "Gateway", "Store"):
        assert label in unit.figure_text
    x0, y0, x1, y1 = unit.bbox
    assert (x0, y0) == pytest.approx((36.0, 216.0))  # first box at 0.5in, 3in
    assert x1 == pytest.approx(36 + 2 * 2.2 * 72 + 1.6 * 72)
    assert y1 == pytest.approx(216 + 72)
    assert "Request path" in unit.context


def test_loose_shapes_joined_by_a_connector_are_one_diagram(tmp_path: Path) -> None:
    result = extract(decks.loose_shapes_deck(tmp_path / "loose.pptx"))
    assert len(result.figures) == 1
    assert result.figures[0].unit.bbox == pytest.approx((72.0, 144.0, 468.0, 360.0))
    assert {"Source", "Sink"} <= set(result.figures[0].unit.figure_text.splitlines())


def test_group_children_map_through_the_group_transform(tmp_path: Path) -> None:
    path = decks.diagram_deck(tmp_path / "scaled.pptx", labels=("A", "B"))
    prs = Presentation(str(path))
    group = next(s for s in prs.slides[0].shapes if s.shape_type is not None and s.shape_type == 6)
    xfrm = group._element.grpSpPr.xfrm
    # Children span 0.5..4.3 in x 3..4 in of child space; show that span at half size from (1in, 1in).
    xfrm.chOff.x, xfrm.chOff.y = Emu(457200), Emu(2743200)
    xfrm.chExt.cx, xfrm.chExt.cy = Emu(3474720), Emu(914400)
    xfrm.off.x, xfrm.off.y = Emu(914400), Emu(914400)
    xfrm.ext.cx, xfrm.ext.cy = Emu(3474720 // 2), Emu(914400 // 2)
    leaves = [box for _, box in iter_leaves(group)]
    union = leaves[0]
    for box in leaves[1:]:
        union = union.union(box)
    assert (union.x0, union.y0) == pytest.approx((72.0, 72.0))
    assert (union.width, union.height) == pytest.approx((3.8 * 72 / 2, 36.0))
    first_box = leaves[0]
    assert isinstance(first_box, Box)
    assert (first_box.x0, first_box.width) == pytest.approx((72.0, 1.6 * 72 / 2))


def test_hidden_slide_keeps_numbering_and_notes_become_context(tmp_path: Path) -> None:
    result = extract(decks.hidden_slide_deck(tmp_path / "hidden.pptx"))
    pages = sorted(f.unit.page for f in result.figures)
    assert pages == [2, 3]  # the hidden slide still counts, and so does its figure
    red = next(f.unit for f in result.figures if f.unit.page == 3)
    assert "Red A" in red.figure_text and "Red pipeline" in red.context
    assert "Speaker notes about the red pipeline." in red.context
    assert result.meta.pages == 3


def test_caption_text_box_becomes_caption_and_label(tmp_path: Path) -> None:
    result = extract(decks.captioned_picture_deck(tmp_path / "caption.pptx"))
    assert len(result.figures) == 1
    unit = result.figures[0].unit
    assert unit.label == "Figure 4"
    assert unit.caption == "Figure 4: Latency before and after the cache."
    assert "Latency dropped by half." in unit.context
    assert "Figure 4" not in unit.figure_text


def test_backgrounds_and_repeated_logos_are_not_figures(tmp_path: Path) -> None:
    result = extract(decks.decorated_deck(tmp_path / "decorated.pptx", n_slides=5))
    assert [f.unit.page for f in result.figures] == [1, 2, 3, 4, 5]
    for fig in result.figures:
        assert fig.unit.kind == FigureKind.PICTURE
        assert fig.unit.bbox == (108.0, 108.0, 468.0, 396.0)


def test_a_mascot_moved_and_resized_from_slide_to_slide_is_decoration(tmp_path: Path) -> None:
    """Big on its section's divider, small in a corner after it: decoration. A screenshot shown again at
    the same size stays content on both slides."""
    prs = decks.new_deck()
    mascot = decks.png_bytes((120, 120), (250, 200, 60))
    screenshot = decks.png_bytes((400, 300), (20, 60, 90))
    places = ((Inches(4), Inches(3.5), Inches(2.4)), (Inches(8.9), Inches(0.2), Inches(0.9)))
    for n in range(4):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.BLANK])
        x, y, side = places[0] if n == 0 else places[1]
        slide.shapes.add_picture(io.BytesIO(mascot), x, y, side, side)
        if n in (2, 3):
            slide.shapes.add_picture(io.BytesIO(screenshot), Inches(1), Inches(1.5), Inches(6), Inches(4.5))
    result = extract(decks.save(prs, tmp_path / "mascot.pptx"))
    assert [(f.unit.page, f.unit.bbox) for f in result.figures] == [
        (3, (72.0, 108.0, 504.0, 432.0)),
        (4, (72.0, 108.0, 504.0, 432.0)),
    ]


def test_a_chart_shown_large_once_and_as_thumbnails_elsewhere_stays(tmp_path: Path) -> None:
    """Layout class "recap thumbnails": a chart that is one slide's main graphic, repeated small on agenda
    or recap slides, is content, not a roving mascot (those are never shown large)."""
    prs = decks.new_deck()
    chart = decks.png_bytes((400, 300), (30, 90, 160))
    for n in range(4):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.BLANK])
        if n == 0:
            slide.shapes.add_picture(io.BytesIO(chart), Inches(1), Inches(1.5), Inches(6), Inches(4.5))
        else:  # a thumbnail at a different spot and size on each recap slide
            slide.shapes.add_picture(
                io.BytesIO(chart), Inches(n), Inches(5), Inches(1 + n / 4), Inches(0.75 + n / 5)
            )
    result = extract(decks.save(prs, tmp_path / "recap.pptx"))
    assert (1, (72.0, 108.0, 504.0, 432.0)) in [(f.unit.page, f.unit.bbox) for f in result.figures]


def test_one_big_picture_alone_on_a_slide_stays(tmp_path: Path) -> None:
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.BLANK])
    slide.shapes.add_picture(io.BytesIO(decks.png_bytes((800, 600))), 0, 0, prs.slide_width, prs.slide_height)
    result = extract(decks.save(prs, tmp_path / "screenshot.pptx"))
    assert [(f.unit.kind, f.unit.bbox) for f in result.figures] == [
        (FigureKind.PICTURE, (0.0, 0.0, 720.0, 540.0))
    ]


def test_text_only_slides_give_no_units(tmp_path: Path) -> None:
    result = extract(decks.text_only_deck(tmp_path / "text.pptx"))
    assert result.figures == []
    assert result.meta.pages == 1


def test_unit_ids_are_stable(tmp_path: Path) -> None:
    path = decks.hidden_slide_deck(tmp_path / "stable.pptx")
    first = [f.unit.model_dump() for f in extract(path).figures]
    second = [f.unit.model_dump() for f in extract(path).figures]
    assert first == second
    assert len({u["unit_id"] for u in first}) == len(first)


def test_document_metadata(tmp_path: Path) -> None:
    prs = decks.new_deck()
    prs.core_properties.title, prs.core_properties.author = "Quarterly deck", "Ops team"
    prs.slides.add_slide(prs.slide_layouts[decks.BLANK])
    result = extract(decks.save(prs, tmp_path / "meta.pptx"))
    assert result.meta.title == "Quarterly deck"
    assert result.meta.author == "Ops team"
    assert result.meta.mime.endswith("presentationml.presentation")


def test_smartart_text_comes_from_its_data_part(tmp_path: Path) -> None:
    result = extract(decks.smartart_deck(tmp_path / "smartart.pptx"))
    assert len(result.figures) == 1
    unit = result.figures[0].unit
    assert unit.kind == FigureKind.DIAGRAM
    assert unit.figure_text.splitlines() == ["Plan", "Build", "Run"]
    assert unit.bbox == (72.0, 144.0, 576.0, 396.0)
    assert "Delivery cycle" in unit.context


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
@pytest.mark.parametrize(("photo", "units"), [(False, 1), (True, 2)], ids=["clip-art", "photograph"])
def test_a_wordless_clip_art_sticker_on_a_slide_is_decoration(
    tmp_path: Path, photo: bool, units: int
) -> None:
    """Layout class "wordless sticker" (as on PDF slides): a small picture in which OCR reads no word is
    decoration; a photograph of the same size (never read by OCR) and a screenshot with words stay."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "ETL pain points"
    lines = ("Source tables differ", "Vocabulary mapping", "Date shifting")
    shot = titled_picture_png("Known issues", lines)
    slide.shapes.add_picture(io.BytesIO(shot), Inches(1), Inches(1.8), Inches(5), Inches(2))
    sticker = clip_art_png(photo=photo)
    slide.shapes.add_picture(io.BytesIO(sticker), Inches(7.6), Inches(5.6), Inches(1.5), Inches(1.5))
    result = extract(decks.save(prs, tmp_path / "sticker.pptx"))
    assert len(result.figures) == units
    assert "Vocabulary mapping" in result.figures[0].unit.figure_text


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
@pytest.mark.parametrize("where", ["below", "beside"])
def test_a_screenshot_beside_its_own_text_is_read(tmp_path: Path, where: str) -> None:
    """Layout class "picture beside its own text" (as pdf._needs_ocr): a screenshot with a description of
    more than 60 characters under it (joined to the figure) or beside it (its labels) is still read, as the
    text beside a picture says nothing of the words in it; only text drawn over the picture counts."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Loading the source data"
    shot = titled_picture_png("Known issues", ("Source tables differ", "Vocabulary mapping", "Date shifting"))
    slide.shapes.add_picture(io.BytesIO(shot), Inches(1), Inches(1.8), Inches(5), Inches(2))
    at = (Inches(1), Inches(3.9), Inches(5), Inches(0.8)) if where == "below" else (
        Inches(6.2), Inches(2.2), Inches(3), Inches(1.2))  # fmt: skip
    note = slide.shapes.add_textbox(*at)
    note.text_frame.word_wrap = True
    note.text_frame.text = "The issues list the team keeps while the ETL for the first sites is built."
    result = extract(decks.save(prs, tmp_path / "shot.pptx"))
    assert len(result.figures) == 1
    assert "Vocabulary mapping" in result.figures[0].unit.figure_text
