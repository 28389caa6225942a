"""Generated hostile files of the fourth pass: page boxes that show nothing, text nodes over libxml2's limit,
patterns nested in pattern cells, and slow OCR against the document's deadline. Each file is a few KB to
a few MB; the cost is in the reading."""

from __future__ import annotations

from pathlib import Path

from tests.ingest.hostile_docs import _pdf_file, one_page_objects
from tests.ingest.hostile_fresh import rewrite_pptx
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def page_box_pdf(path: Path, box: bytes) -> Path:
    """A bar chart page whose ``/MediaBox`` entry is ``box`` (the array, and what follows it, such as
    ``/UserUnit 0``)."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects[2] = objects[2].replace(b"[0 0 612 792]", box)
    path.write_bytes(_pdf_file(objects))
    return path


def long_text_pptx(path: Path, base: bytes, text_bytes: int, unit: bytes = "é&amp;".encode()) -> Path:
    """``base`` (``pptx_decks.picture_deck``) with a text box under its picture holding ``unit`` repeated to
    ``text_bytes`` bytes in one ``<a:t>`` (default: a 2-byte letter and an entity, so that a cut lands inside
    one of them)."""
    text = unit * (text_bytes // len(unit))
    box = (
        b'<p:sp><p:nvSpPr><p:cNvPr id="9" name="Notes"/><p:cNvSpPr txBox="1"/><p:nvPr/></p:nvSpPr><p:spPr>'
        b'<a:xfrm><a:off x="457200" y="5943600"/><a:ext cx="8229600" cy="457200"/></a:xfrm></p:spPr>'
        b"<p:txBody><a:bodyPr/><a:lstStyle/><a:p><a:r><a:t>" + text + b"</a:t></a:r></a:p></p:txBody></p:sp>"
    )

    def edit(name: str, data: bytes) -> bytes:
        return data.replace(b"</p:spTree>", box + b"</p:spTree>") if name == "ppt/slides/slide1.xml" else data

    return rewrite_pptx(path, base, edit)
