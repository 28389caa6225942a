"""A deck whose XML holds a number that is none (``hostile_numbers``) is read: what the bad value places is
left out or read by a default, the other slides' units are those of the intact deck, and a warning names
the bad value's place where something is lost. Each of these failed the whole deck with a bare
``ValueError`` or ``InvalidXmlError`` before (``BARE_EXCEPTION``), except the picture's offset (left out
without a word) and the negative point counts (the chart's categories and series lost)."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
from figvault.units import DocumentExtraction
from tests.ingest import hostile_numbers as h
from tests.ingest import pptx_decks as decks
from tests.ingest.test_hostile_eighth import BARE_EXCEPTION

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)


def read(path: Path) -> DocumentExtraction:
    result = extract_document(path, SETTINGS)
    assert not any(BARE_EXCEPTION.match(w) for w in result.warnings), result.warnings
    return result


def units(result: DocumentExtraction) -> list[tuple[int, str, tuple[float, ...], str]]:
    return [(f.unit.page, f.unit.kind.value, f.unit.bbox, f.unit.title) for f in result.figures]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h.three_slides(tmp_path_factory.mktemp("numbers") / "three.pptx")


@pytest.fixture(scope="module")
def intact(three: Path) -> list[tuple[int, str, tuple[float, ...], str]]:
    found = units(read(three))
    assert [u[0] for u in found] == [1, 2, 3]
    return found


@pytest.mark.parametrize(
    ("attr", "value", "shown"),
    [("cy", "abc", 'cy="abc"'), ("cx", "1e9", 'cx="1e9"'), ("cx", "", 'cx=""'), ("cx", None, "no cx")],
)
def test_a_slide_size_that_is_no_number_is_read_as_the_default(
    tmp_path: Path, three: Path, intact: list, attr: str, value: str | None, shown: str
) -> None:
    path = h.with_value(tmp_path / "size.pptx", three, "ppt/presentation.xml", "p:sldSz", attr, value)
    result = read(path)
    assert units(result) == intact
    assert {f.unit.page_size for f in result.figures} == {(720.0, 540.0)}
    said = [w for w in result.warnings if "slide size" in w]
    assert said == [f"ppt/presentation.xml: slide size {shown} is no size; read as 720 x 540 pt"]


def test_a_slide_size_keeps_the_dimension_it_can_read(tmp_path: Path, three: Path) -> None:
    """A 16:9 deck (12,192,000 EMU wide) whose height is ``abc``: 960 pt wide, 540 pt high."""
    wide = h.with_value(tmp_path / "wide.pptx", three, "ppt/presentation.xml", "p:sldSz", "cx", "12192000")
    path = h.with_value(tmp_path / "size.pptx", wide, "ppt/presentation.xml", "p:sldSz", "cy", "abc")
    result = read(path)
    assert {f.unit.page_size for f in result.figures} == {(960.0, 540.0)}
    assert [f.unit.page for f in result.figures] == [1, 2, 3]


def test_numbers_with_leading_zeros_are_numbers(tmp_path: Path, three: Path, intact: list) -> None:
    """xsd:long allows leading zeros (and ``int()`` reads them): a deck so written lost its size and its
    figure to the tolerant reader (a review)."""
    for attr, value in (("cx", "9144000"), ("cy", "6858000")):
        three = h.with_value(
            tmp_path / f"{attr}.pptx", three, "ppt/presentation.xml", "p:sldSz", attr, "0" * 20 + value
        )
    result = read(three)
    assert units(result) == intact and not any("slide size" in w for w in result.warnings)


def test_a_number_of_thousands_of_leading_zeros_is_none() -> None:
    """A review: past 4,300 digits ``int()`` raises (Python's limit on integer strings), and a first pattern
    allowing any number of leading zeros let that through: the deck failed with a raw ValueError."""
    from figvault.ingest.xml_numbers import xml_int

    assert xml_int("0" * 5000 + "1") is None and xml_int("0" * 64 + "9144000") == 9144000


@pytest.mark.parametrize(
    ("tag", "attr", "value", "shown"),
    [
        ("a:off", "y", "1e9", "1e9"),
        ("a:ext", "cx", "", ""),
        ("a:chOff", "x", "abc", "abc"),
        ("a:chExt", "cy", "1" * 30, "1" * 24 + "..."),  # past xsd:long
    ],
)
def test_a_group_whose_frame_is_no_number_is_left_out_with_a_warning(
    tmp_path: Path, three: Path, intact: list, tag: str, attr: str, value: str, shown: str
) -> None:
    path = h.with_value(
        tmp_path / "g.pptx", three, "ppt/slides/slide2.xml", tag, attr, value, after="<p:grpSp>"
    )
    result = read(path)
    assert units(result) == [u for u in intact if u[0] != 2]
    place = f'<{tag} {attr}="{shown}">'
    assert f"slide 2: shape 'Group 2' ({place}) left out: its position cannot be read" in result.warnings


def test_a_picture_whose_offset_is_no_number_is_left_out_with_a_warning(
    tmp_path: Path, three: Path, intact: list
) -> None:
    """python-pptx's own read of a shape's frame raised, and the shape was left out without a word."""
    path = h.with_value(
        tmp_path / "p.pptx", three, "ppt/slides/slide1.xml", "a:off", "x", "1e9", after="<p:pic>"
    )
    result = read(path)
    assert units(result) == [u for u in intact if u[0] != 1]
    assert (
        "slide 1: shape 'Picture 2' (<a:off x=\"1e9\">) left out: its position cannot be read"
        in result.warnings
    )


def test_a_nested_group_that_cannot_be_placed_leaves_its_parent_the_rest(tmp_path: Path) -> None:
    base = h.nested_groups(tmp_path / "nested.pptx")
    whole = read(base)
    assert [f.unit.bbox for f in whole.figures] == [(72.0, 144.0, 432.0, 252.0)]
    path = h.with_value(
        tmp_path / "bad.pptx", base, "ppt/slides/slide1.xml", "a:off", "y", "", after='"Inner"'
    )
    result = read(path)
    assert [f.unit.bbox for f in result.figures] == [(288.0, 144.0, 432.0, 252.0)]  # the box "Out" alone
    assert "slide 1: shape 'Inner' (<a:off y=\"\">) left out: its position cannot be read" in result.warnings


@pytest.fixture(scope="module")
def kpi_deck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h.kpi_and_heading(tmp_path_factory.mktemp("kpi") / "kpi.pptx")


def test_a_font_size_that_is_no_number_is_an_unknown_size(tmp_path: Path, kpi_deck: Path) -> None:
    """Two KPI tiles are no figure; one whose number's size cannot be read is no tile, so the pair is a
    diagram (as a tile whose size is inherited is); the chart slide is read as in the intact deck."""
    intact = units(read(kpi_deck))
    assert [u[0] for u in intact] == [2]
    path = h.with_value(tmp_path / "sz.pptx", kpi_deck, "ppt/slides/slide1.xml", "a:rPr", "sz", "1e9")
    result = units(read(path))
    assert [u[:2] for u in result] == [(1, "diagram"), (2, "chart")]
    assert result[1] == intact[0]


def test_a_bold_flag_that_is_no_boolean_is_not_bold(tmp_path: Path, kpi_deck: Path) -> None:
    """The chart's bold heading is its title; a heading whose ``b`` is ``x`` is no bold one: the slide's."""
    assert [u[3] for u in units(read(kpi_deck))] == ["Units by region"]
    path = h.with_value(tmp_path / "b.pptx", kpi_deck, "ppt/slides/slide2.xml", "a:rPr", "b", "x")
    assert [u[3] for u in units(read(path))] == ["Sales"]


@pytest.mark.parametrize("value", ["nan%", "inf%"])
def test_a_crop_that_is_no_finite_share_is_not_applied(tmp_path: Path, value: str) -> None:
    base = h.cropped_picture(tmp_path / "crop.pptx")
    assert [(f.unit.width, f.unit.height) for f in read(base).figures] == [(270, 200)]
    path = h.with_value(tmp_path / "bad.pptx", base, "ppt/slides/slide1.xml", "a:srcRect", "l", value)
    assert [(f.unit.width, f.unit.height) for f in read(path).figures] == [(300, 200)]


def test_negative_point_counts_keep_the_chart_series_names(tmp_path: Path) -> None:
    """``c:ptCount val="-1"``: no points, but the chart's series are still named in its text (a negative
    count made ``islice`` raise, and all of the chart's categories and series were lost)."""
    path = h.with_point_counts(tmp_path / "neg.pptx", decks.chart_deck(tmp_path / "chart.pptx"), "-1")
    text = read(path).figures[0].unit.figure_text
    assert "series Units sold" in text and "series Returns" in text


def test_a_chart_lower_than_its_sketch_margins_is_sketched(tmp_path: Path, kpi_deck: Path) -> None:
    """Found by the attribute sweep (``cy="-1"``), true of a chart frame of 40 pt too (50 pt was drawn; at
    the default 150 dpi): the sketch gave its bars a negative height and PIL refused them (``ValueError: y1
    must be greater than or equal to y0``), failing the deck where LibreOffice is off. A 30 pt chart under
    its heading is one unit."""
    path = h.with_value(
        tmp_path / "low.pptx",
        kpi_deck,
        "ppt/slides/slide2.xml",
        "a:ext",
        "cy",
        "381000",
        after="<p:graphicFrame>",
    )
    result = read(path)
    assert [(u[0], u[2]) for u in units(result)] == [(2, (72.0, 144.0, 648.0, 210.0))]
    assert result.figures[0].png
