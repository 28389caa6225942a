"""A slide whose XML cannot be read is left out, not the deck. python-pptx parses every part when it opens a
deck: one slide nested deeper than libxml2 parses, or cut short, failed all of it (a PDF loses its bad page
alone), with libxml2's hints for programmers in the reason (a hostile-file audit, 2026-12-07)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from figvault.errors import ExtractionError, UnsupportedFileError
from figvault.ingest.extract import extract_document
from figvault.ingest.page_text import page_texts
from figvault.settings import ExtractSettings
from tests.ingest import pptx_decks as decks

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
SLIDE_2 = "ppt/slides/slide2.xml"


def _three_diagrams(path: Path) -> Path:
    prs = decks.new_deck()
    for number in range(1, 4):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
        slide.shapes.title.text = f"Request path {number}"
        decks.add_group_diagram(slide, (f"Client {number}", "Gateway", "Store"))
    return decks.save(prs, path)


def _with_part(path: Path, name: str, change: object) -> Path:
    with zipfile.ZipFile(path) as zin:
        parts = {info.filename: zin.read(info) for info in zin.infolist()}
    parts[name] = change(parts[name])  # type: ignore[operator]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for part_name, data in parts.items():
            zout.writestr(part_name, data)
    path.write_bytes(out.getvalue())
    return path


def _nested(xml: bytes) -> bytes:
    cut = xml.index(b"</p:spTree>")
    return xml[:cut] + b"<p:grpSp>" * 300 + b"</p:grpSp>" * 300 + xml[cut:]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_nested, "XML nested deeper than 256 levels"),
        (lambda xml: xml[: len(xml) // 2], ""),
    ],
)
def test_an_unreadable_slide_is_left_out_and_the_others_read(
    tmp_path: Path, change: object, reason: str
) -> None:
    deck = _with_part(_three_diagrams(tmp_path / "deck.pptx"), SLIDE_2, change)
    result = extract_document(deck, SETTINGS)
    assert sorted(f.unit.page for f in result.figures) == [1, 3]
    assert result.meta.pages == 3
    [warning] = [w for w in result.warnings if w.startswith(SLIDE_2)]
    assert warning.startswith(f"{SLIDE_2}: slide not read, its XML is unreadable (") and reason in warning
    assert "XML_PARSE_HUGE" not in warning
    texts = page_texts(deck.read_bytes(), result.meta.mime, SETTINGS)  # the page text the search reads too
    assert "Client 1" in texts[1] and "Client 3" in texts[3] and not texts.get(2)


def test_a_damaged_layout_still_fails_the_deck(tmp_path: Path) -> None:
    """A layout's, a master's damage reaches every slide: the deck is refused, the part named."""
    layout = "ppt/slideLayouts/slideLayout6.xml"
    deck = _with_part(_three_diagrams(tmp_path / "deck.pptx"), layout, lambda xml: xml[: len(xml) // 2])
    with pytest.raises(ExtractionError, match=f"not a readable PPTX package: {layout}: "):
        extract_document(deck, SETTINGS)


def test_a_deck_of_no_readable_slide_still_fails(tmp_path: Path) -> None:
    deck = _with_part(decks.diagram_deck(tmp_path / "deck.pptx"), "ppt/slides/slide1.xml", _nested)
    with pytest.raises(ExtractionError, match=r"slide1\.xml: XML nested deeper than 256 levels"):
        extract_document(deck, SETTINGS)


def test_many_unreadable_slides_cost_one_more_opening(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opened again per bad slide, each a parse of the whole deck and a copy of its zip (20 bad slides of
    400: 2.8 s against 0.07 s; a review): now the slides are parsed once and the deck opened twice."""
    from figvault.ingest import pptx_open

    deck = _three_diagrams(tmp_path / "deck.pptx")
    for number in (1, 2):
        _with_part(deck, f"ppt/slides/slide{number}.xml", _nested)
    opened: list[int] = []
    real = pptx_open._presentation
    monkeypatch.setattr(pptx_open, "_presentation", lambda data: opened.append(1) or real(data))
    result = extract_document(deck, SETTINGS)
    assert [f.unit.page for f in result.figures] == [3] and len(opened) == 2


def test_a_bad_slide_listed_twice_is_no_readable_slide(tmp_path: Path) -> None:
    """The deck's slides are its parts, not its list's entries: one bad part listed twice read no slide."""
    deck = _with_part(decks.diagram_deck(tmp_path / "deck.pptx"), "ppt/slides/slide1.xml", _nested)

    def listed_twice(xml: bytes) -> bytes:
        entry = xml[xml.index(b"<p:sldId ") : xml.index(b"/>", xml.index(b"<p:sldId ")) + 2]
        return xml.replace(entry, entry + entry.replace(b'id="256"', b'id="257"'))

    _with_part(deck, "ppt/presentation.xml", listed_twice)
    with pytest.raises(ExtractionError, match=r"slide1\.xml: XML nested deeper"):
        extract_document(deck, SETTINGS)


def test_a_slide_list_naming_another_kind_of_part_is_refused_in_words(tmp_path: Path) -> None:
    """A slide list entry naming the master's relationship: python-pptx failed with a bare AttributeError,
    and with the master damaged it was emptied as if a slide (a review)."""
    deck = decks.diagram_deck(tmp_path / "deck.pptx")
    rels = zipfile.ZipFile(deck).read("ppt/_rels/presentation.xml.rels")
    master = rels[: rels.index(b"slideMaster")].rsplit(b'Id="', 1)[1].split(b'"', 1)[0]

    def naming_the_master(xml: bytes) -> bytes:
        listed = xml[xml.index(b"<p:sldId ") : xml.index(b"/>", xml.index(b"<p:sldId ")) + 2]
        return xml.replace(listed, listed.split(b'r:id="')[0] + b'r:id="' + master + b'"/>')

    _with_part(deck, "ppt/presentation.xml", naming_the_master)
    with pytest.raises(
        UnsupportedFileError, match=r"names ppt/slideMasters/slideMaster1\.xml, a part of type"
    ):
        extract_document(deck, SETTINGS)


def test_a_slide_relationship_of_another_spelling_is_still_a_slide(tmp_path: Path) -> None:
    """The check follows what python-pptx relies on, the part's content type: a slide relationship whose Type
    is spelt in the strict namespace (python-pptx reads such a deck) is not refused (a review)."""
    transitional = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/slide"
    strict = b"http://purl.oclc.org/ooxml/officeDocument/relationships/slide"
    deck = _three_diagrams(tmp_path / "deck.pptx")
    _with_part(
        deck, "ppt/_rels/presentation.xml.rels", lambda xml: xml.replace(transitional + b'"', strict + b'"')
    )
    assert sorted(f.unit.page for f in extract_document(deck, SETTINGS).figures) == [1, 2, 3]
