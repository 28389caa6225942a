"""Pages and slides that ask for too much work end in bounded work: near-linear clustering, per-page caps.

No timing here (speed lives in bench/): the clustering tests count box comparisons instead, and fail fast
(on the first comparison over budget) where the old pairwise clustering would run for minutes.
"""

from __future__ import annotations

import io
from pathlib import Path

import pymupdf
import pytest
from pptx import Presentation
from pptx.util import Inches

from figvault.errors import ExtractionError
from figvault.ingest import boxes as boxes_module
from figvault.ingest import pdf as pdf_module
from figvault.ingest import pdf_budget, pdf_layout
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import PDF_MIME, page_texts
from figvault.ingest.slide_render import deck_for_rendering
from figvault.settings import ExtractSettings
from tests.ingest import hostile_docs
from tests.ingest.pptx_decks import TITLE_ONLY, add_group_diagram

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
COMPARISONS_PER_BOX = 20
"""Budget of box comparisons per box: the old pairwise clustering needed thousands on these pages."""


@pytest.fixture
def comparison_budget(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Counts box comparisons (``boxes_near``) and fails at the first one past ``budget[0]``."""
    real = boxes_module.boxes_near
    budget = [0]
    calls = [0]

    def counting(a, b, gap):  # type: ignore[no-untyped-def]
        calls[0] += 1
        if calls[0] > budget[0]:
            raise AssertionError(f"more than {budget[0]:,} box comparisons: clustering is not near-linear")
        return real(a, b, gap)

    monkeypatch.setattr(boxes_module, "boxes_near", counting)
    monkeypatch.setattr(pdf_layout, "boxes_near", counting, raising=False)
    return budget, calls


def test_20k_overlapping_segments_cluster_with_few_comparisons(comparison_budget) -> None:
    budget, calls = comparison_budget
    segments = hostile_docs.random_segments(20_000)
    atoms = [
        pdf_layout.Cluster(box=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), path_count=1)
        for x0, y0, x1, y1 in segments
    ]
    budget[0] = COMPARISONS_PER_BOX * len(atoms)
    clusters = pdf_layout.cluster_boxes(atoms, pdf_layout.CLUSTER_GAP_PT)
    assert len(clusters) == 1 and clusters[0].path_count == 20_000
    assert calls[0] > 0


def test_clustering_keeps_separate_things_separate_and_joins_chains() -> None:
    # A chain of touching boxes is one group even when its ends are far apart; a box beyond the gap is not.
    chain = [(float(x), 100.0, x + 10.0, 110.0) for x in range(0, 500, 9)]
    far = [(300.0, 400.0, 320.0, 420.0)]
    groups = boxes_module.merge_touching(chain + far, 3.0)
    assert [len(members) for _, members in groups] == [len(chain), 1]
    assert groups[0][0] == (0.0, 100.0, chain[-1][2], 110.0)
    # A merged box that grows into a neighbour takes it too (the fixed point, not one pass).
    boxes = [(0.0, 0.0, 10.0, 10.0), (11.0, 0.0, 20.0, 50.0), (0.0, 48.0, 5.0, 60.0)]
    assert [m for _, m in boxes_module.merge_touching(boxes, 3.0)] == [[0, 1, 2]]


def test_pdf_page_of_20k_overlapping_segments_is_one_unit(tmp_path, comparison_budget, monkeypatch) -> None:
    budget, _ = comparison_budget
    budget[0] = COMPARISONS_PER_BOX * 20_000
    path = hostile_docs.segments_pdf(tmp_path / "segments.pdf", n=20_000)
    rendered: list[bool] = []
    real_render = pdf_module.render_region

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        rendered.append(kwargs.get("antialias", True))
        return real_render(*args, **kwargs)

    monkeypatch.setattr(pdf_module, "render_region", recording)
    ex = extract_document(path, ExtractSettings(workers=1))
    assert ex.warnings == []
    assert len(ex.figures) == 1
    x0, y0, x1, y1 = ex.figures[0].unit.bbox
    assert x0 < 70 and y0 < 210 and x1 > 540 and y1 > 730
    # 20,000 page-long strokes: anti-aliasing would be nearly the whole cost of the PNG.
    assert rendered == [False]


def _drawings_read_on(monkeypatch: pytest.MonkeyPatch, allowed: set[int]) -> list[int]:
    """Records the pages whose drawings are read; reading any other page's fails (fast) instead."""
    pages: list[int] = []
    real = pymupdf.Page.get_cdrawings

    def recording(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        pages.append(self.number + 1)
        if self.number + 1 not in allowed:
            raise AssertionError(f"the drawings of page {self.number + 1} were read")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(pymupdf.Page, "get_cdrawings", recording)
    return pages


def test_page_over_the_drawing_cap_is_one_unit_and_far_over_is_skipped(tmp_path, monkeypatch) -> None:
    path = hostile_docs.flood_pdf(tmp_path / "flood.pdf", [0, 3_000, 9_000])
    read = _drawings_read_on(monkeypatch, allowed={1})
    ex = extract_document(path, ExtractSettings(workers=1, max_page_drawing_ops=2_000))
    assert read == [1]  # the heavy pages' drawings are never read
    by_page = {f.unit.page: f.unit for f in ex.figures}
    assert set(by_page) == {1, 2}
    assert by_page[2].bbox == (0.0, 0.0, 612.0, 792.0) and by_page[2].caption == ""
    assert by_page[1].bbox != by_page[2].bbox
    assert any(w.startswith("page 2: 3,000 drawing operations") and "one unit" in w for w in ex.warnings)
    assert any(w.startswith("page 3: skipped, 9,000 drawing operations") for w in ex.warnings)
    assert len(ex.warnings) == 2


def test_200k_path_operators_on_a_page_stay_within_the_default_cap(tmp_path, monkeypatch) -> None:
    path = hostile_docs.flood_pdf(tmp_path / "ops.pdf", [200_000])
    assert path.stat().st_size < 1_000_000
    read = _drawings_read_on(monkeypatch, allowed=set())
    ex = extract_document(path, ExtractSettings(workers=1))
    assert read == []
    assert [f.unit.bbox for f in ex.figures] == [(0.0, 0.0, 612.0, 792.0)]
    assert ex.figures[0].unit.width <= 612  # rendered at 72 dpi or less
    assert ex.warnings == [
        "page 1: 200,000 drawing operations (extract.max_page_drawing_ops = 50,000): rendered as one unit,"
        " without layout analysis"
    ]


def test_a_form_painted_many_times_counts_every_use(tmp_path, monkeypatch) -> None:
    path = hostile_docs.form_flood_pdf(tmp_path / "form.pdf", paths_in_form=1_000, uses=300)
    read = _drawings_read_on(monkeypatch, allowed=set())
    ex = extract_document(path, ExtractSettings(workers=1))
    assert read == [] and ex.figures == []
    assert ex.warnings == [
        "page 1: skipped, 300,000 drawing operations (more than 4 x extract.max_page_drawing_ops = 50,000)"
    ]


def test_forms_nested_30_deep_count_every_painting(tmp_path, monkeypatch) -> None:
    # The count stopped 8 forms deep, so 2**30 strokes from 30 small forms looked like a cheap page and
    # MuPDF spent the document's whole time limit drawing them.
    path = hostile_docs.nested_forms_pdf(tmp_path / "forms.pdf", depth=30)

    def no_text(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the page was interpreted")

    monkeypatch.setattr(pymupdf.Page, "get_textpage", no_text)
    read = _drawings_read_on(monkeypatch, allowed=set())
    ex = extract_document(path, ExtractSettings(workers=1))
    assert read == [] and ex.figures == []
    assert ex.warnings == [
        "page 1: skipped, 1,073,741,823 drawing operations"
        " (more than 4 x extract.max_page_drawing_ops = 50,000)"
    ]


def test_a_form_painted_inside_itself_is_counted_once(tmp_path) -> None:
    path = hostile_docs.nested_forms_pdf(tmp_path / "cycle.pdf", depth=3)
    doc = pymupdf.open(path)
    last = doc.xref_length() - 1  # the innermost form paints the outer one: a cycle MuPDF refuses to draw
    doc.xref_set_key(last, "Resources", "<< /XObject << /F 5 0 R >> >>")
    doc.update_stream(last, b"0 0 1 RG 10 10 m 100 100 l S /F Do")
    cost = pdf_budget.ContentBudget(doc, 2**20).page_cost(doc[0], op_threshold=0)
    assert cost.operations == 7  # 1 + 2 + 4 strokes, the way back to the first form not followed


def test_content_bomb_page_is_skipped_and_the_next_page_is_read(tmp_path) -> None:
    path = hostile_docs.content_bomb_pdf(tmp_path / "bomb.pdf", inflated_mb=3)
    assert path.stat().st_size < 100_000
    ex = extract_document(path, ExtractSettings(workers=1, max_page_content_mb=2))
    assert ex.warnings == ["page 1: skipped, its content decompresses past 2 MiB"]
    assert [f.unit.page for f in ex.figures] == [2]
    texts = page_texts(path.read_bytes(), PDF_MIME, ExtractSettings(max_page_content_mb=2))
    assert set(texts) == {2}


def _deck_with_text_and_diagram() -> bytes:
    prs = Presentation()
    first = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    first.shapes.title.text = "Notes"
    first.shapes.add_textbox(Inches(1), Inches(2), Inches(6), Inches(3)).text_frame.text = "some text"
    second = prs.slides.add_slide(prs.slide_layouts[TITLE_ONLY])
    second.shapes.title.text = "Request path"
    add_group_diagram(second, ("Client", "Gateway", "Store"))
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


@pytest.fixture
def paragraph_flood(tmp_path: Path) -> Path:
    return hostile_docs.paragraph_flood_pptx(tmp_path / "flood.pptx", 150_000, _deck_with_text_and_diagram())


def test_slide_with_150k_paragraphs_is_skipped_alone(paragraph_flood: Path) -> None:
    assert paragraph_flood.stat().st_size < 100_000
    ex = extract_document(paragraph_flood, ExtractSettings(workers=1, libreoffice="off"))
    assert [f.unit.page for f in ex.figures] == [2]
    assert "Gateway" in ex.figures[0].unit.figure_text
    assert "slide 1: skipped, 450,0" in ex.warnings[0] and "extract.max_slide_elements" in ex.warnings[0]
    texts = page_texts(paragraph_flood.read_bytes(), PPTX_MIME)
    assert set(texts) == {2} and "Gateway" in texts[2]


def test_libreoffice_gets_the_deck_without_the_flooded_slide(paragraph_flood: Path) -> None:
    data, emptied = deck_for_rendering(paragraph_flood.read_bytes(), set(), 50_000)
    assert emptied == {1}
    prs = Presentation(io.BytesIO(data))
    assert len(prs.slides) == 2  # slide numbers stay aligned with the PDF pages
    assert len(prs.slides[0].shapes) == 0
    assert any(shape.shape_type == 6 for shape in prs.slides[1].shapes)  # the group diagram is still there
    untouched = _deck_with_text_and_diagram()
    assert deck_for_rendering(untouched, set(), 50_000) == (untouched, set())


def test_a_failed_allocation_fails_the_document_not_just_the_page(tmp_path, monkeypatch) -> None:
    """Under a worker's memory limit MuPDF reports "malloc (...) failed": that is the document's failure
    (the worker turns it into its memory-limit reason), not a damaged page to skip."""
    path = hostile_docs.flood_pdf(tmp_path / "chart.pdf", [0])

    def no_memory(page, textpage=None):  # type: ignore[no-untyped-def]
        raise RuntimeError("code=2: malloc (115201 bytes) failed")

    monkeypatch.setattr(pdf_module, "read_page", no_memory)
    with pytest.raises(ExtractionError) as err:
        extract_document(path, ExtractSettings(workers=1))
    assert isinstance(err.value.__cause__, MemoryError)


CELLS_PER_BOX = 64**2  # boxes.MAX_CELLS_SIDE squared
"""Budget of grid cells visited per drawn box: a merge of groups walks at most the grid's cells. With fixed
48 pt cells a group on a 14,400 pt page covers 90,000 of them, and the page took minutes."""


def test_a_poster_sized_page_walks_a_bounded_number_of_grid_cells(tmp_path, monkeypatch) -> None:
    path = hostile_docs.huge_page_pdf(tmp_path / "poster.pdf", side=14_400, lines=300)
    real, visited = boxes_module._cells, [0]
    budget = CELLS_PER_BOX * 300

    def counting(r):  # type: ignore[no-untyped-def]
        for cell in real(r):
            visited[0] += 1
            if visited[0] > budget:
                raise AssertionError(
                    f"more than {budget:,} grid cells visited: the grid ignores the page size"
                )
            yield cell

    monkeypatch.setattr(boxes_module, "_cells", counting)
    result = extract_document(path, ExtractSettings(libreoffice="off", ocr=False))
    assert len(result.figures) == 1
