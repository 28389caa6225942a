"""Figure titles on generated pages: which line above or inside a graphic is its own title (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.ingest.boxes import Box, box_iou
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from tests.generated_docs import stacked_bar_panel, survey_page_pdf

SLIDE_TITLE = "Quality checks: peak calling"


def _slide_with_flowchart(edge_labels: tuple[str, ...]) -> pymupdf.Document:
    """A slide whose flowchart has a decision box between two callers, its two branches labelled
    (small bold words on one row, right above the connectors' level and the decision box's top)."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((50, 60), SLIDE_TITLE, fontsize=32, fontname="hebo")
    boxes = {
        "Narrow peak caller": (100, 215, 250, 245),
        "Binding profile": (400, 215, 560, 255),
        "Broad peak caller": (710, 215, 860, 245),
        "Calculate QC metrics": (100, 300, 250, 330),
        "Troubleshoot": (710, 300, 860, 330),
    }
    for label, box in boxes.items():
        page.draw_rect(box, color=(0, 0, 0), fill=(0.9, 0.9, 0.95), width=1)
        page.insert_text((box[0] + 8, box[1] + 19), label, fontsize=11, fontname="hebo")
    for a, b in (((250, 230), (400, 230)), ((560, 230), (710, 230)), ((175, 245), (175, 300))):
        page.draw_line(a, b, color=(0.2, 0.2, 0.2), width=1.2)
    page.draw_line((785, 245), (785, 300), color=(0.2, 0.2, 0.2), width=1.2)
    for x, label in zip((300, 610), edge_labels, strict=False):
        page.insert_text((x, 211), label, fontsize=9, fontname="hebo", color=(0.8, 0, 0))
    return doc


def test_a_row_of_edge_labels_over_a_diagram_is_no_title(tmp_path: Path) -> None:
    """Layout class "labelled branches": the short bold labels of a diagram's branches, side by side on one
    row at its top edge, are labels, not the figure's title; the slide title stays its title."""
    path = tmp_path / "flow.pdf"
    path.write_bytes(_slide_with_flowchart(("Narrow", "Broad/Mixed")).tobytes())
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    assert len(ex.figures) == 1
    unit = ex.figures[0].unit
    assert box_iou(unit.bbox, (100, 202, 860, 330)) > 0.9
    assert unit.title == SLIDE_TITLE
    assert "Broad/Mixed" in unit.figure_text


def test_a_panel_title_wrapped_over_two_lines_is_whole(tmp_path: Path) -> None:
    """Layout class "wrapped panel title": a survey question set as the chart's title over two lines is the
    title whole, not its last line (the line nearest the plot)."""
    titles = (
        "Which container runtime do you run\nin production today?",
        "How often do you upgrade\nyour clusters?",
        "Audit logging",
    )
    path, boxes = survey_page_pdf(tmp_path / "survey.pdf", titles)
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    assert len(ex.figures) == 3
    got = {}
    for box in boxes:
        hits = [f.unit for f in ex.figures if box_iou(f.unit.bbox, box) > 0.8]
        assert len(hits) == 1, (box, [f.unit.bbox for f in ex.figures])
        got[box] = hits[0].title
    assert list(got.values()) == [title.replace("\n", " ") for title in titles]


def _regular_title_panel(page: pymupdf.Page, box: Box, title: str | None, seed: int) -> Box:
    """A chart panel under a title set larger than its labels but not bold (a chart tool's default title
    style), wrapped where the title holds a newline."""
    lines = (title or "").split("\n")
    for k, line in enumerate(lines):
        page.insert_text((box[0], box[1] + 12 + 15 * k), line, fontsize=12, fontname="helv")
    stacked_bar_panel(page, (box[0], box[1] + 22 + 15 * (len(lines) - 1), box[2], box[3]), None, seed)
    return box


def test_a_question_title_set_large_but_not_bold_is_the_title(tmp_path: Path) -> None:
    """Layout class "regular-weight chart title": a survey question of six words or more, larger than the
    body but not bold, is the panel's title (it reads as a sentence, so it was body text before); a lead-in
    sentence ending in a colon above a panel is not."""
    titles = (
        "Which container runtime do you run in production?",
        "Where do you run your Kubernetes\nclusters today?",
        "The clusters we asked about are listed below:",
        "Audit logging",
    )
    path, boxes = survey_page_pdf(tmp_path / "survey.pdf", titles, draw=_regular_title_panel)
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    got = []
    for box in boxes:
        hits = [f.unit for f in ex.figures if box_iou(f.unit.bbox, box) > 0.7]
        assert len(hits) == 1, (box, [f.unit.bbox for f in ex.figures])
        got.append(hits[0].title)
    assert got[:2] == [titles[0], titles[1].replace("\n", " ")]
    assert got[2] != titles[2]
    assert got[3] == "Audit logging"


SLIDE_TITLE_2 = "Revenue growth by quarter"


def _slide_with_wrapped_title(
    second: tuple[float, float, float] | None, text: str = "in the enterprise segment"
) -> pymupdf.Document:
    """A 16:9 slide: a 44 pt title line, ``second`` (x, baseline, size) a further line, each written on its
    own (LibreOffice writes a centred title's second line as a text block of its own), and a column chart
    whose top comes within 5 pt of the second line."""
    doc = pymupdf.open()
    page = doc.new_page(width=960, height=540)
    page.insert_text((119, 60), SLIDE_TITLE_2, fontsize=44)
    if second is not None:
        page.insert_text(second[:2], text, fontsize=second[2])
    for i, h in enumerate((170, 280, 220, 340)):
        page.draw_rect(
            pymupdf.Rect(150 + i * 160, 480 - h, 250 + i * 160, 480), color=None, fill=(0.2, 0.4, 0.8)
        )
    page.draw_line((140, 480), (820, 480))
    page.draw_line((140, 128), (140, 480))
    for i, name in enumerate(("North", "South", "East", "West")):
        page.insert_text((170 + i * 160, 498), name, fontsize=18)
    return doc


def _slide_units(tmp_path: Path, second: tuple[float, float, float] | None, text: str = "") -> list:
    path = tmp_path / "slide.pdf"
    path.write_bytes(_slide_with_wrapped_title(second, *([text] if text else [])).tobytes())
    return [f.unit for f in extract_document(path, ExtractSettings(workers=1, ocr=False)).figures]


def test_a_slide_title_wrapped_into_a_block_of_its_own_is_whole(tmp_path: Path) -> None:
    """Layout class "wrapped slide title": the title's second line, centred under the first in a block of
    its own, goes on the title (it was cut after the first line), and the chart under it does not grow
    into it nor take it as its own title."""
    units = _slide_units(tmp_path, (150, 112, 44))
    assert len(units) == 1
    assert units[0].title == "Revenue growth by quarter in the enterprise segment"
    assert units[0].bbox[1] >= 120  # the second title line ends at ~123 pt


def test_lines_that_do_not_wrap_a_slide_title_stay_apart(tmp_path: Path) -> None:
    """Not the title's wrap: a smaller line right under it (a subtitle: the chart right under it takes it
    as its own title), and a line in its size more than 1.3 line heights below it (a second statement)."""
    for second, title in (((150, 100, 30), "in the enterprise segment"), ((150, 140, 44), SLIDE_TITLE_2)):
        units = _slide_units(tmp_path, second)
        assert [u.title for u in units] == [title], second


@pytest.mark.parametrize("second", ["March 2025", "Q3 2025", "• Revenue up in every region"])
def test_a_date_or_a_bullet_under_a_slide_title_is_not_its_wrap(tmp_path: Path, second: str) -> None:
    """A review: a date line or a first bullet set in the title's size right under it joined the title
    ("Quarterly results March 2025")."""
    units = _slide_units(tmp_path, (150, 112, 44), second)
    assert units and units[0].title != f"{SLIDE_TITLE_2} {second}"  # the chart may take it as its own
