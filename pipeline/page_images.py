"""Whole-page (or whole-slide) images for the page viewer, rendered once and cached in the storage.

A cached image is named by what determines its pixels — the document's sha256, the page and the dpi — so
it never goes stale: a changed document has another hash. The cache is the storage area ``cache/pages``
(shared by replicas when ``storage.url`` is set: a page rendered by one is served by all). Access is not
this module's concern: the route checks the caller may see the document before asking for its pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from figvault.ingest.render import region_dpi
from figvault.pipeline.sources import SourceStore, SourceUnavailableError, checked_sha256
from figvault.settings import Settings
from figvault.storage import Storage

PAGE_DPI = 110
"""Readable on a laptop screen at full width, small enough to load fast (an A4 page is about 100 KB)."""
CACHE_AREA = "cache/pages"
MAX_PAGE_PIXELS = 12_000_000
"""Posters and huge slides are rendered at a lower dpi rather than as 100-megapixel images."""


class PageNotFoundError(SourceUnavailableError):
    """The document has no such page or slide."""


@dataclass(frozen=True)
class PageImage:
    png: bytes
    etag: str
    """Quoted, as the ETag header wants it."""


class PageImageRenderer:
    def __init__(self, settings: Settings, *, dpi: int = PAGE_DPI) -> None:
        self.settings = settings
        self.dpi = dpi
        self.sources = SourceStore.from_settings(settings)
        self.cache = Storage.from_settings(settings).area(CACHE_AREA)

    def etag(self, sha256: str, page: int) -> str:
        return f'"{sha256[:32]}-p{page}-{self.dpi}"'

    def cache_key(self, sha256: str, page: int) -> str:
        return f"{sha256[:2]}/{sha256}-p{page}-{self.dpi}.png"

    def cache_path(self, sha256: str, page: int) -> Path | None:
        """The cached render's file on a local storage (None on a remote one)."""
        return self.cache.local_path(self.cache_key(sha256, page))

    def render(self, sha256: str, page: int) -> PageImage:
        """The PNG of ``page`` (1-based) of the document with this hash; raises SourceUnavailableError."""
        if page < 1:
            raise PageNotFoundError(f"no page {page}")
        checked_sha256(sha256)
        key = self.cache_key(sha256, page)
        try:
            return PageImage(png=self.cache.read(key), etag=self.etag(sha256, page))
        except KeyError:
            pass
        png = self._rasterise(sha256, page)
        self.cache.write(key, png)
        return PageImage(png=png, etag=self.etag(sha256, page))

    def _rasterise(self, sha256: str, page: int) -> bytes:
        import pymupdf

        source = self.sources.page_source(sha256, self.settings)
        index = source.index_of(page)
        if index is None:
            raise PageNotFoundError(f"no page {page}")
        with pymupdf.open(source.pdf) as doc:
            if index >= doc.page_count:
                raise PageNotFoundError(f"no page {page}")
            pdf_page = doc[index]
            dpi = region_dpi(pdf_page.rect.width, pdf_page.rect.height, self.dpi, MAX_PAGE_PIXELS)
            pixmap = pdf_page.get_pixmap(dpi=max(1, int(dpi)), alpha=False)
            return pixmap.tobytes("png")
