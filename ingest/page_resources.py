"""What a PDF page's resources hold (images, forms, fonts), listed once per resource dictionary.

Many producers write one /Resources dictionary for the whole document (one object every page names, or one
on the page-tree node every page inherits): each page's resources then hold every image, form and font of
the file. PyMuPDF's ``page.get_images``, ``get_xobjects`` and ``get_fonts`` walk that whole dictionary on
every page, and ``page.get_image_info(xrefs=True)`` decodes every image in it on every page to compare
pixels: a 200-page report of two photographs a page (400 images of one camera's size) took 15 s, 600 pages
passed the 120 s budget (a scale audit). The lists depend on the dictionary alone (PyMuPDF's
``_getPageInfo`` reads nothing else of the page), so they are kept per dictionary, and an image object's
pixel digest per document.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import pymupdf

MAX_TREE_DEPTH = 64
"""Page-tree levels climbed to find inherited resources; deeper (or a cycle): not found."""

RESOURCES_ATTR = "_figvault_resources"
"""Where a document keeps its ``ResourceLists``: on the document, never outliving it or serving another."""

ResourceKey = tuple[str, int]

KEPT_DICTIONARIES = 8
"""Resource dictionaries whose lists are kept at once, the most recently used: pages that share one use it
page after page, and a file of a dictionary per page (each naming one shared list of thousands of images)
kept every page's lists for nothing (a review: 1 GB for 1,500 pages)."""


class Recent(OrderedDict[Any, Any]):
    """The ``most`` entries last used; ``kept(key, read)`` reads what is not kept."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def kept(self, key: Any, read: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = read()
        if len(self) > self.most:
            self.popitem(last=False)
        return value


class ResourceLists:
    """One document's resource dictionaries, each listed once (``resource_lists``)."""

    def __init__(self, doc: pymupdf.Document) -> None:
        self.doc = doc
        self._images = Recent(KEPT_DICTIONARIES)
        self._xobjects = Recent(KEPT_DICTIONARIES)
        self._fonts = Recent(KEPT_DICTIONARIES)
        self._sizes = Recent(KEPT_DICTIONARIES)
        self._digest_xrefs = Recent(KEPT_DICTIONARIES)
        self._digests: dict[int, bytes] = {}
        """Image xref -> its pixels' digest: 16 bytes an image object of the file, kept for the document."""

    def images(self, page: pymupdf.Page) -> list[tuple[Any, ...]]:
        """``page.get_images(full=True)``."""
        return self._kept(self._images, page, lambda: page.get_images(full=True))

    def image_sizes(self, page: pymupdf.Page) -> dict[tuple[int, int], list[int]]:
        """(width, height) -> the xrefs of the page's image objects of that pixel size."""

        def read() -> dict[tuple[int, int], list[int]]:
            sizes: dict[tuple[int, int], list[int]] = {}
            for xref, _, width, height, *_ in self.images(page):
                sizes.setdefault((width, height), []).append(xref)
            return sizes

        return self._kept(self._sizes, page, read)

    def xobjects(self, page: pymupdf.Page) -> list[tuple[Any, ...]]:
        """``page.get_xobjects()``."""
        return self._kept(self._xobjects, page, page.get_xobjects)

    def fonts(self, page: pymupdf.Page) -> list[tuple[Any, ...]]:
        """``page.get_fonts(full=True)``."""
        return self._kept(self._fonts, page, lambda: page.get_fonts(full=True))

    def xref_of_digest(self, page: pymupdf.Page) -> dict[bytes, int]:
        """Pixel digest -> xref of the page's image objects, as ``page.get_image_info(xrefs=True)`` builds it
        (a later object of equal pixels wins); each object is decoded once a document."""
        return self._kept(
            self._digest_xrefs, page, lambda: {self._digest(item[0]): item[0] for item in self.images(page)}
        )

    def _digest(self, xref: int) -> bytes:
        if xref not in self._digests:  # a failure is raised, as get_image_info raises it, and not kept
            pixmap = pymupdf.Pixmap(self.doc, xref)
            self._digests[xref] = pixmap.digest
            del pixmap
        return self._digests[xref]

    def _kept(self, lists: Recent, page: pymupdf.Page, read: Callable[[], Any]) -> Any:
        key = self._key(page)
        return read() if key is None else lists.kept(key, read)

    def _key(self, page: pymupdf.Page) -> ResourceKey | None:
        """The resource dictionary the page uses, as MuPDF finds it (its own /Resources, else the nearest
        page-tree node's): ("object", n) for an indirect dictionary, ("node", n) for one written in the
        page-tree node n; None for one written in the page itself (no other page has it) or not found."""
        holder = resource_holder(self.doc, page.xref) if page.xref else None
        if holder is None or self.doc.xref_get_key(holder, "Resources")[0] not in ("xref", "dict"):
            return None
        key = dictionary_key(self.doc, holder)
        return None if key == ("node", page.xref) else key


def resource_holder(doc: pymupdf.Document, page: int) -> int | None:
    """Object ``page`` (a page's xref) when it has /Resources, else the nearest page-tree node above it that
    has them (MuPDF's inheritance); None when none within ``MAX_TREE_DEPTH`` levels does."""
    holder = page
    for _ in range(MAX_TREE_DEPTH):
        if doc.xref_get_key(holder, "Resources")[0] != "null":
            return holder
        kind, parent = doc.xref_get_key(holder, "Parent")
        if kind != "xref":
            return None
        holder = int(parent.split()[0])
    return None


def dictionary_key(doc: pymupdf.Document, holder: int) -> ResourceKey:
    """Which resource dictionary object ``holder`` (a page, page-tree node, form, pattern or Type 3 font)
    has: ("object", n) when its /Resources names object n (other holders may name it too), else
    ("node", holder) for one written in it (or none)."""
    kind, value = doc.xref_get_key(holder, "Resources")
    return ("object", int(value.split()[0])) if kind == "xref" else ("node", holder)


def resource_lists(doc: pymupdf.Document) -> ResourceLists:
    """The document's ``ResourceLists``, made on first use. Code that changes a document's pages or
    resources (none in extraction) calls ``forget_resource_lists`` first."""
    kept = getattr(doc, RESOURCES_ATTR, None)
    if kept is None:
        kept = ResourceLists(doc)
        setattr(doc, RESOURCES_ATTR, kept)
    return kept


def forget_resource_lists(doc: pymupdf.Document) -> None:
    """Drop what ``resource_lists`` kept for the document."""
    if getattr(doc, RESOURCES_ATTR, None) is not None:
        setattr(doc, RESOURCES_ATTR, None)
