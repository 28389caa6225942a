"""Generated hostile files of the fourth pass: page boxes that show nothing, text nodes over libxml2's limit,
patterns nested in pattern cells, and slow OCR against the document's deadline. Each file is a few KB to
a few MB; the cost is in the reading."""

from __future__ import annotations

from pathlib import Path

from tests.ingest.hostile_docs import _pdf_file, one_page_objects
from tests.ingest.hostile_third import HEADING, HELVETICA, _flate, bar_chart


def page_box_pdf(path: Path, box: bytes) -> Path:
    """A bar chart page whose ``/MediaBox`` entry is ``box`` (the array, and what follows it, such as
    ``/UserUnit 0``)."""
    objects = one_page_objects(b"/Font << /F1 5 0 R >>", _flate(HEADING + bar_chart()), HELVETICA)
    objects[2] = objects[2].replace(b"[0 0 612 792]", box)
    path.write_bytes(_pdf_file(objects))
    return path
