"""Multi-panel vector figure grids and slide-like pages: one titled unit per chart panel, slide titles."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.ingest.boxes import box_iou
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction
from tests.generated_docs import figure_png, stacked_bar_panel, survey_page_pdf

TITLES = ("Role", "Clusters under management", "Oldest version in production")


def _extract(path: Path) -> DocumentExtraction:
    return extract_document(path, ExtractSettings(workers=1, ocr=False))


def _matched(ex: DocumentExtraction, boxes: list[tuple[float, float, float, float]]) -> list[str]:
    """The title of the unit that covers each drawn panel (IoU > 0.8), in the order of the boxes."""
    titles = []
    for box in boxes:
        hits = [f.unit for f in ex.figures if box_iou(f.unit.bbox, box) > 0.8]
        assert len(hits) == 1, (box, [f.unit.bbox for f in ex.figures])
        titles.append(hits[0].title)
    return titles


@pytest.mark.parametrize("backdrop", [False, True], ids=["on-white", "on-a-shared-card"])
def test_titled_chart_panels_under_a_page_title_are_one_unit_each(tmp_path: Path, backdrop: bool) -> None:
    path, boxes = survey_page_pdf(tmp_path / "survey.pdf", TITLES, backdrop=backdrop)
    ex = _extract(path)
    assert len(ex.figures) == 3
    assert _matched(ex, boxes) == list(TITLES)
    for figure in ex.figures:
        assert figure.unit.caption == "" and figure.unit.label is None
        assert "Production readiness" not in figure.unit.figure_text  # the page title glues nothing
        assert "Answer 1" in figure.unit.figure_text  # the legend belongs to its panel


def test_a_grid_of_four_panels_on_a_portrait_page(tmp_path: Path) -> None:
    titles = ("Cluster count", "Node count", "Upgrade cadence", "Release channel")
    path, boxes = survey_page_pdf(tmp_path / "grid.pdf", titles, size=(612, 792), backdrop=True)
    ex = _extract(path)
    assert len(ex.figures) == 4
    assert _matched(ex, boxes) == list(titles)


def test_untitled_side_by_side_charts_are_separate_units(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    boxes = [
        stacked_bar_panel(page, (60, 100, 290, 260), None, 1),
        stacked_bar_panel(page, (320, 100, 550, 260), None, 2),
    ]
    path = tmp_path / "pair.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 2
    assert _matched(ex, boxes) == ["", ""]  # a portrait page has no slide title to fall back on


def test_slide_like_page_gives_its_title_to_an_uncaptioned_figure(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 70), "Hub and spoke network topology", fontsize=32, fontname="hebo")
    page.insert_text((60, 130), "Shared services sit in the hub", fontsize=16)
    picture = (300, 150, 900, 500)
    page.insert_image(pymupdf.Rect(picture), stream=figure_png(7, (600, 350)))
    path = tmp_path / "slide.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert box_iou(unit.bbox, picture) > 0.9
    assert unit.title == "Hub and spoke network topology"
    assert unit.caption == ""


def test_portrait_page_heading_is_no_title_of_a_figure_far_below_it(tmp_path: Path) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=612, height=792)
    page.insert_text((72, 70), "Annual report", fontsize=24, fontname="hebo")
    page.insert_image(pymupdf.Rect(100, 300, 500, 550), stream=figure_png(3, (400, 250)))
    path = tmp_path / "report.pdf"
    path.write_bytes(doc.tobytes())
    ex = _extract(path)
    assert [f.unit.title for f in ex.figures] == [""]
