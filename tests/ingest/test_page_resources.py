"""Pages sharing one resource dictionary: what it holds is listed, and each image decoded, once a document."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pymupdf
import pytest

from figvault.ingest.extract import extract_document
from figvault.ingest.image_xrefs import drawn_images
from figvault.ingest.pdf_budget import ContentBudget
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_png

IMAGES = 10
PAGES = 5


def shared_resources_pdf(path: Path, holder: str) -> Path:
    """PAGES pages, each drawing two of IMAGES same-sized pictures, all listed in one dictionary: an object
    every page names (``holder="object"``) or one written in the page-tree node they inherit (``"node"``)."""
    doc = pymupdf.open()
    first = doc.new_page()
    for k in range(IMAGES):
        # one pixel size for all (a camera's photographs): only pixels tell them apart
        first.insert_image(pymupdf.Rect(10, 10 + 5 * k, 250, 170 + 5 * k), stream=figure_png(k))
    first.insert_text((10, 800), "Figure", fontsize=10)  # a font for the captions, in the same dictionary
    names = [item[7] for item in first.get_images(full=True)]
    font = first.get_fonts(full=True)[0][4]
    kind, value = doc.xref_get_key(first.xref, "Resources")
    resources = value if kind == "dict" else doc.xref_object(int(value.split()[0]))
    shared = doc.get_new_xref()
    doc.update_object(shared, resources)
    tree = int(doc.xref_get_key(doc.pdf_catalog(), "Pages")[1].split()[0])
    if holder == "node":
        doc.xref_set_key(tree, "Resources", resources)
    for number in range(PAGES):
        page = first if number == 0 else doc.new_page()
        doc.xref_set_key(page.xref, "Resources", f"{shared} 0 R" if holder == "object" else "null")
        drawn = [names[(2 * number + j) % IMAGES] for j in range(2)]
        ops = " ".join(
            f"q 300 0 0 200 100 {520 - 360 * j} cm /{name} Do Q BT /{font} 9 Tf 100 {500 - 360 * j} Td"
            f" (Figure {2 * number + j + 1}: site photograph {j} of district {number + 1}.) Tj ET"
            for j, name in enumerate(drawn)
        )
        contents = doc.get_new_xref()
        doc.update_object(contents, "<<>>")
        doc.update_stream(contents, ops.encode())
        doc.xref_set_key(page.xref, "Contents", f"{contents} 0 R")
    doc.save(path)
    return path


class _CountingPixmap(pymupdf.Pixmap):
    """pymupdf.Pixmap, counting the image objects decoded (``Pixmap(doc, xref)``)."""

    decoded: ClassVar[list[int]] = []

    def __init__(self, *args: Any) -> None:
        if len(args) == 2 and isinstance(args[0], pymupdf.Document) and isinstance(args[1], int):
            _CountingPixmap.decoded.append(args[1])
        super().__init__(*args)


@pytest.mark.parametrize("holder", ["object", "node"])
def test_xrefs_are_pymupdfs_with_each_image_decoded_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, holder: str
) -> None:
    path = shared_resources_pdf(tmp_path / "shared.pdf", holder)
    with pymupdf.open(path) as doc:
        expected = [[(tuple(i["bbox"]), i["xref"]) for i in page.get_image_info(xrefs=True)] for page in doc]
        assert all(len(page.get_images()) == IMAGES for page in doc)  # each page's resources list every image
    assert all(len(page) == 2 and all(xref for _, xref in page) for page in expected)
    monkeypatch.setattr(pymupdf, "Pixmap", _CountingPixmap)
    _CountingPixmap.decoded = []
    with pymupdf.open(path) as doc:
        got = [[(tuple(i["bbox"]), i["xref"]) for i in drawn_images(page)] for page in doc]
    assert got == expected
    assert sorted(_CountingPixmap.decoded) == sorted(set(_CountingPixmap.decoded))  # once each
    assert len(_CountingPixmap.decoded) == IMAGES  # PyMuPDF's way: IMAGES on every page


def test_the_budget_lists_a_shared_dictionary_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_resources_pdf(tmp_path / "shared.pdf", "object")
    calls: list[str] = []
    for name in ("get_xobjects", "get_fonts"):
        original = getattr(pymupdf.Page, name)

        def counted(page: pymupdf.Page, *args: Any, _name: str = name, _f: Any = original, **kw: Any) -> Any:
            calls.append(_name)
            return _f(page, *args, **kw)

        monkeypatch.setattr(pymupdf.Page, name, counted)
    with pymupdf.open(path) as doc:
        budget = ContentBudget(doc, 2**24)
        costs = [budget.page_cost(page, 50_000) for page in doc]
    assert all(not cost.over_bytes for cost in costs)
    assert sorted(calls) == ["get_fonts", "get_xobjects"]


def test_a_document_of_shared_resources_gives_each_page_its_own_pictures(tmp_path: Path) -> None:
    path = shared_resources_pdf(tmp_path / "shared.pdf", "object")
    extraction = extract_document(path, ExtractSettings(workers=1, ocr=False))
    assert len(extraction.figures) == PAGES * 2
    assert {figure.unit.page for figure in extraction.figures} == set(range(1, PAGES + 1))


def test_a_direct_font_of_a_shared_dictionary_is_copied_once(tmp_path: Path) -> None:
    """A font written in the shared dictionary itself (no object of its own) is copied to an object so the
    budget can read it (``ContentBudget._font_object``): once for the dictionary, not once a page."""
    path = shared_resources_pdf(tmp_path / "shared.pdf", "object")
    with pymupdf.open(path) as doc:
        font_xref, *_, name, _, _ = doc[0].get_fonts(full=True)[0]
        shared = int(doc.xref_get_key(doc[0].xref, "Resources")[1].split()[0])
        doc.xref_set_key(shared, f"Font/{name}", doc.xref_object(font_xref, compressed=True))
        doc.save(tmp_path / "direct.pdf")
    with pymupdf.open(tmp_path / "direct.pdf") as doc:
        assert doc[0].get_fonts(full=True)[0][0] == 0  # written in the dictionary: MuPDF lists it as xref 0
        objects = doc.xref_length()
        budget = ContentBudget(doc, 2**24)
        for page in doc:
            budget.page_cost(page, 50_000)
        assert doc.xref_length() == objects + 1


def test_a_dictionary_per_page_is_not_kept_page_after_page(tmp_path: Path) -> None:
    """Each page with a resource dictionary of its own, all naming one shared list of images: no page uses
    another's dictionary, and keeping every page's lists held 1 GB for 1,500 pages (a review). The last
    few dictionaries used are kept; the xrefs stay PyMuPDF's."""
    from figvault.ingest.page_resources import KEPT_DICTIONARIES, resource_lists

    path = shared_resources_pdf(tmp_path / "shared.pdf", "object")
    with pymupdf.open(path) as doc:
        shared = int(doc.xref_get_key(doc[0].xref, "Resources")[1].split()[0])
        for _ in range(3):  # 20 pages, each drawing what one of the first 5 does
            for number in range(PAGES):
                copy = doc.new_page()
                doc.xref_set_key(copy.xref, "Contents", doc.xref_get_key(doc[number].xref, "Contents")[1])
        for page in doc:
            own = doc.get_new_xref()
            doc.update_object(own, doc.xref_object(shared))
            doc.xref_set_key(page.xref, "Resources", f"{own} 0 R")
        doc.save(tmp_path / "own.pdf")
    with pymupdf.open(tmp_path / "own.pdf") as doc:
        expected = [[i["xref"] for i in page.get_image_info(xrefs=True)] for page in doc]
    with pymupdf.open(tmp_path / "own.pdf") as doc:
        assert len(doc) == 4 * PAGES
        got = [[i["xref"] for i in drawn_images(page)] for page in doc]
        kept = resource_lists(doc)
        assert 0 < len(kept._images) <= KEPT_DICTIONARIES and len(kept._digest_xrefs) <= KEPT_DICTIONARIES
    assert got == expected
