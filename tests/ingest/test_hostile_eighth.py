"""Hostile files of the eighth pass (``hostile_eighth``), the classes the fuzz campaign found
(bench/fuzz_files.py, docs/extraction.md): each is read, or refused with a reason in words, never with the
bare name of an exception a parser raised (``FzErrorFormat: ...``, ``AttributeError: 'SlidePart' ...``)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from figvault.errors import ExtractionError
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import page_texts
from figvault.settings import ExtractSettings
from tests.ingest import hostile_eighth as h8

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
BARE_EXCEPTION = re.compile(r"^([a-z_]+\.)*[A-Za-z_][A-Za-z0-9_]*: ")
"""A reason that is an exception's class and message: what extraction says of an error it did not expect."""


def refusal(path: Path) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_document(path, SETTINGS)
    return str(caught.value)


def test_a_page_tree_listing_itself_is_read_as_the_pages_it_holds(tmp_path: Path) -> None:
    # Before: MuPDF maps the whole tree on the first page's load and refused it, "FzErrorFormat: code=7: cycle
    # in page tree", the document lost; now the tree is counted again, each node and page once.
    path = h8.page_tree_cycle_pdf(tmp_path / "cycle.pdf")
    result = extract_document(path, SETTINGS)
    assert "page tree: code=7: cycle in page tree; read as the 2 page(s) its tree holds" in result.warnings
    assert sorted({f.unit.page for f in result.figures}) == [1, 2]
    texts = page_texts(
        path.read_bytes(), "application/pdf", SETTINGS
    )  # the text channel opens it the same way
    assert sorted(texts) == [1, 2] and "Report 4" in texts[2]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            h8.deep_page_tree_pdf,
            "corrupt PDF: no pages",
        ),  # was FzErrorLimit: code=5: exception stack overflow!
        (h8.page_tree_gone_pdf, "corrupt PDF: no pages"),  # was FzErrorArgument: code=4: not a dict (null)
    ],
)
def test_a_page_tree_mupdf_cannot_parse_fails_with_a_reason(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    assert refusal(make(tmp_path / "tree.pdf")) == reason


@pytest.mark.parametrize(
    ("part", "holding", "reason"),
    [
        # was AttributeError: 'CT_SlideLayout' object has no attribute 'sldSz'
        (
            "ppt/presentation.xml",
            "ppt/slideLayouts/slideLayout1.xml",
            "_rels/.rels: its officeDocument relationship 'rId1' names ppt/presentation.xml,"
            " which is <sldLayout>",
        ),
        # was AttributeError: 'CT_SlideLayout' object has no attribute 'relationship_lst'
        (
            "ppt/slides/_rels/slide1.xml.rels",
            "ppt/slideLayouts/slideLayout1.xml",
            "ppt/slides/_rels/slide1.xml.rels is not a relationships part (its root element is"
            " <{http://schemas.openxmlformats.org/presentationml/2006/main}sldLayout>)",
        ),
        # was AttributeError: 'lxml.etree._Element' object has no attribute 'created_datetime'
        ("docProps/core.xml", "docProps/app.xml", "its core-properties relationship"),
    ],
)
def test_a_part_of_another_kind_than_its_relationship_says_is_refused_by_name(
    tmp_path: Path, part: str, holding: str, reason: str
) -> None:
    said = refusal(h8.part_swapped_pptx(tmp_path / "swapped.pptx", part, holding))
    assert said.startswith("not a readable PPTX package: ") and reason in said


def test_a_relationships_part_in_another_namespace_is_refused_by_name(tmp_path: Path) -> None:
    # Before: AttributeError: 'lxml.etree._Element' object has no attribute 'relationship_lst' (fuzz seed 12)
    said = refusal(h8.rels_namespace_pptx(tmp_path / "ns.pptx"))
    assert said == (
        "not a readable PPTX package: ppt/slides/_rels/slide1.xml.rels is not a relationships part (its root"
        " element is <{http://schemas.openxmlformats.org/package/2006/relationshiis}Relationships>)"
    )


def test_a_chart_relationship_naming_a_slide_is_refused_by_name(tmp_path: Path) -> None:
    # Before: AttributeError: 'SlidePart' object has no attribute 'chart'
    said = refusal(h8.chart_rel_to_slide_pptx(tmp_path / "chart.pptx"))
    assert said.startswith(
        "not a readable PPTX package: ppt/slides/_rels/slide2.xml.rels: its chart relationship"
    )
    assert "names ppt/slides/slide1.xml, which is <sld>" in said


def test_a_layout_relationship_naming_a_slide_is_read_as_before(tmp_path: Path) -> None:
    # The first version of the part check refused this deck (a layout relationship naming a slide); the code
    # before it read the deck, as it reads any layout, master, theme or picture relationship naming the wrong
    # part: only the relationships whose wrong target failed the deck are checked.
    result = extract_document(h8.layout_rel_to_slide_pptx(tmp_path / "layout.pptx"), SETTINGS)
    assert sorted(f.unit.page for f in result.figures) == [1, 2]


@pytest.mark.parametrize(
    ("member", "rels"),
    [
        ("ppt/slides/slide2.xml", "ppt/_rels/presentation.xml.rels"),
        ("ppt/charts/chart1.xml", "ppt/slides/_rels/slide2.xml.rels"),
    ],
)
def test_a_slide_or_chart_missing_from_the_package_is_refused_by_name(
    tmp_path: Path, member: str, rels: str
) -> None:
    # Before: KeyError: "no relationship with key 'rId3'" (python-pptx leaves out a relationship to a missing
    # part, then looks its id up); fuzz seed 11, a member removed.
    said = refusal(h8.member_removed_pptx(tmp_path / "gone.pptx", member))
    assert said.startswith(f"not a readable PPTX package: {rels}: its ")
    assert said.endswith(f"names {member}, which is not in the package")


def test_a_slide_list_naming_no_relationship_is_refused_by_name(tmp_path: Path) -> None:
    # Before: KeyError: "no relationship with key 'rId7'" (fuzz seed 13: the presentation's .rels removed)
    said = refusal(h8.member_removed_pptx(tmp_path / "list.pptx", "ppt/_rels/presentation.xml.rels"))
    assert said.startswith("not a readable PPTX package: ppt/presentation.xml lists slide 'rId")
    assert said.endswith("which its relationships (ppt/_rels/presentation.xml.rels) do not name")


def test_a_picture_missing_from_the_package_is_read_without_it(tmp_path: Path) -> None:
    # A missing picture, as before the check: the deck is read (the chart slide's unit).
    result = extract_document(h8.member_removed_pptx(tmp_path / "pic.pptx", "ppt/media/image1.png"), SETTINGS)
    assert 2 in {f.unit.page for f in result.figures}


def test_a_member_with_damaged_deflate_data_is_a_readable_reason(tmp_path: Path) -> None:
    # Before: "error: Error -3 while decompressing data: invalid block type" (zlib.error's bare name)
    said = refusal(h8.damaged_deflate_pptx(tmp_path / "deflate.pptx"))
    assert said == "not a readable PPTX package: Error -3 while decompressing data: invalid block type"


def test_a_main_part_of_another_type_names_no_object_address(tmp_path: Path) -> None:
    # Before: "file '<_io.BytesIO object at 0x7fa5aaac7650>' is not a PowerPoint file": a memory address
    said = refusal(h8.main_part_retyped_pptx(tmp_path / "typed.pptx"))
    assert said == (
        "not a readable PPTX package: the package is not a PowerPoint file, content type is 'application/xml'"
    )


def test_an_unreadable_content_types_part_is_left_to_python_pptx(tmp_path: Path) -> None:
    # The part check found no content type for any part and refused the deck for its core properties ("which
    # is <coreProperties> (no content type)"): a wrong reason (a fuzzed upload's). Now python-pptx says why.
    said = refusal(h8.content_types_damaged_pptx(tmp_path / "types.pptx"))
    assert said == "not a readable PPTX package: Bad CRC-32 for file '[Content_Types].xml'"


def test_the_unchanged_deck_is_read_whole(tmp_path: Path) -> None:
    """The part check passes a deck python-pptx wrote: both slides' units come back."""
    path = tmp_path / "deck.pptx"
    path.write_bytes(h8._two_slide_deck(path))
    result = extract_document(path, SETTINGS)
    assert sorted(f.unit.page for f in result.figures) == [1, 2]
    assert not any(BARE_EXCEPTION.match(w) for w in result.warnings)


@pytest.mark.parametrize(
    ("rels", "target"),
    [
        ("ppt/slides/_rels/slide2.xml.rels", "../charts/chart1.xml"),
        ("ppt/_rels/presentation.xml.rels", "slides/slide2.xml"),
        ("_rels/.rels", "docProps/core.xml"),
        ("_rels/.rels", "ppt/presentation.xml"),
    ],
)
def test_a_followed_relationship_pointing_outside_the_package_is_refused_by_name(
    tmp_path: Path, rels: str, target: str
) -> None:
    # Before (fuzz seed 21, outside_link; chart, slide, core properties): ValueError: `.target_part` property
    # on _Relationship is undefined when target-mode is external. The deck is refused, nothing is fetched.
    said = refusal(h8.rel_made_external_pptx(tmp_path / "out.pptx", rels, target))
    assert said.startswith(f"not a readable PPTX package: {rels}: its ")
    assert "points outside the package (TargetMode 'External')" in said
