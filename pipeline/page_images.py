"""Whole-page (or whole-slide) images for the page viewer, rendered once and cached in the storage.

A cached image is named by what determines its pixels — the document's sha256, the page and the dpi — so it
never goes stale: a changed document has another hash; and, for the route, by the document it was rendered
for (``document_scope``: tenant and document id) and by the caller it was rendered for (``viewer_scope``).
Two documents of the same bytes (two tenants or groups holding one file) keep their renders apart: otherwise
whether a page of one is served from the cache (at once, never told to wait) would tell a holder of the other
that someone holds and reads that file. Two callers who may see one document keep theirs apart too, deck
conversions included: a first view took 213 ms (seconds for a deck or a real page) and a view after another
caller's 4 ms, which told a reader that someone else had read that page. The price: each caller renders each
page it views once (and converts each deck it views once), and the cache holds a copy per caller (about 100
KB a page). The cache is the storage area ``cache/pages`` (shared by replicas when ``storage.url`` is set: a
page a caller had rendered by one is served to it by all). Access is not this module's concern: the route
checks the caller may see the document before asking for its pages.

A first render parses an untrusted file, so it runs in a worker process under the extraction limits
(``extract.doc_timeout_s``, ``extract.doc_memory_mb``; ``pipeline/extract_worker.py``), never in the
service's threads, and at most ``RENDER_SLOTS`` at a time per process, one of them per caller (``caller``: a
reader cannot keep every slot busy with one heavy document's pages) (a deck is shown through its PDF
rendering, made on its caller's first view by python-pptx and LibreOffice in such a worker too, then kept:
``sources.convert_deck``; ingest does not hand over the rendering its extraction made). A page that overruns
them (a deck whose conversion overruns: each of its pages) gets a marker in the cache instead of an image
(the reason, when, and under which limits): its later views answer at once with the reason, until the marker
is ``UNAVAILABLE_RETRY_S`` old or the limits are raised above those it failed under; then the next view
renders it once more (a success replaces the marker, a failure renews it). A re-ingest of the same bytes
changes nothing here; changed bytes are another hash, hence other cache entries.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from figvault.errors import ExtractionError, FigvaultError
from figvault.ingest.pdf_open import open_pdf
from figvault.ingest.render import region_dpi
from figvault.pipeline.extract_worker import ExtractLimits, run_limited
from figvault.pipeline.page_cache import CACHE_AREA, PageCache
from figvault.pipeline.sources import RenderFailedError, SourceStore, SourceUnavailableError, checked_sha256
from figvault.settings import Settings
from figvault.storage import Storage

PAGE_DPI = 110
"""Readable on a laptop screen at full width, small enough to load fast (an A4 page is about 100 KB)."""
MAX_PAGE_PIXELS = 12_000_000
"""Posters and huge slides are rendered at a lower dpi rather than as 100-megapixel images."""
RENDER_SLOTS = 2
"""First renders running at once in one service process; a render past them is told to retry (the
service's page route queues its first renders fairly in front of them: ``service/admission.py``
``render_gate``)."""
UNAVAILABLE_SUFFIX = ".unavailable"
UNAVAILABLE_RETRY_S = 3600.0
"""How long a page that overran the limits answers "unavailable" before one view renders it again (a
transient overload does not hide a page for good; a hostile page costs one limited render an hour)."""
_slots = threading.BoundedSemaphore(RENDER_SLOTS)
_rendering_for: set[str] = set()
"""Callers with a first render running in this process (one each)."""
_rendering_guard = threading.Lock()


class PageNotFoundError(SourceUnavailableError):
    """The document has no such page or slide."""


class PageRenderBusyError(FigvaultError):
    """``RENDER_SLOTS`` first renders are running already; try again in a few seconds."""


class CallerRenderBusyError(PageRenderBusyError):
    """This caller has a first render running already; try again once it is done."""


@dataclass(frozen=True)
class PageImage:
    png: bytes
    etag: str
    """Quoted, as the ETag header wants it."""


class PageImageRenderer:
    def __init__(
        self,
        settings: Settings,
        *,
        dpi: int = PAGE_DPI,
        clock: Callable[[], float] = time.time,
        caller: str | None = None,
        scope: str = "",
    ) -> None:
        """``caller``: who asks (the route's tenant and user), allowed one first render at a time, and
        whose renders these are within ``scope``; None: no such limit, the renders of the scope (code of this
        process). ``scope``: the document whose renders these are (``document_scope``; "": the file's, shared
        by every document of its bytes)."""
        self.settings = settings
        self.caller = caller
        self.prefix = _cache_prefix(scope, caller)
        self.dpi = dpi
        self.clock = clock
        self.sources = SourceStore.from_settings(settings)
        self.cache = Storage.from_settings(settings).area(CACHE_AREA)
        self.budget = PageCache(self.cache, self.sources, settings.storage.page_cache_mb)

    def etag(self, sha256: str, page: int) -> str:
        return f'"{sha256[:32]}-p{page}-{self.dpi}"'

    def cache_key(self, sha256: str, page: int) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}-p{page}-{self.dpi}.png"

    def deck_key(self, sha256: str) -> str:
        """Where a deck whose conversion overran is marked: every page of it waits, not only the one viewed
        (each view of another page converted the whole deck again)."""
        return f"{self.prefix}{sha256[:2]}/{sha256}-deck"

    def cache_path(self, sha256: str, page: int) -> Path | None:
        """The cached render's file on a local storage (None on a remote one)."""
        return self.cache.local_path(self.cache_key(sha256, page))

    def render(self, sha256: str, page: int) -> PageImage:
        """The PNG of ``page`` (1-based) of the document with this hash; raises SourceUnavailableError
        (PageNotFoundError for a page it lacks) or PageRenderBusyError (CallerRenderBusyError: the caller's
        own first render is running)."""
        cached, marked = self._lookup(sha256, page)
        if cached is not None:
            return cached
        key = self.cache_key(sha256, page)
        limits = ExtractLimits.from_settings(self.settings.extract)
        # The document's entries of this caller are not evicted while its render reads or writes them.
        with _one_render_of(self.caller), self.budget.holding(f"{self.prefix}{sha256[:2]}/{sha256}"):
            if not _slots.acquire(blocking=False):
                raise PageRenderBusyError(f"{RENDER_SLOTS} page images are being rendered; try again shortly")
            try:
                png = self._render_limited(sha256, page, key, limits)
            finally:
                _slots.release()
            self.cache.write(key, png)
            for stale in marked:
                self.cache.delete(stale + UNAVAILABLE_SUFFIX)
            self.budget.wrote(len(png))
        return PageImage(png=png, etag=self.etag(sha256, page))

    def cached(self, sha256: str, page: int) -> PageImage | None:
        """The page's cached PNG, or None when it needs a first render; raises as ``render`` does for a page
        it lacks or one marked unavailable (so a caller queues for a render slot only to render)."""
        return self._lookup(sha256, page)[0]

    def _lookup(self, sha256: str, page: int) -> tuple[PageImage | None, list[str]]:
        """The cached PNG (or None) and the unavailable markers that no longer hold (to delete after a
        render); RenderFailedError while a marker holds."""
        if page < 1:
            raise PageNotFoundError(f"no page {page}")
        checked_sha256(sha256)
        key = self.cache_key(sha256, page)
        try:
            image = PageImage(png=self.cache.read(key), etag=self.etag(sha256, page))
        except KeyError:
            pass
        else:
            self.budget.used(key)
            return image, []
        limits = ExtractLimits.from_settings(self.settings.extract)
        return None, [k for k in (key, self.deck_key(sha256)) if self._raise_if_marked(k, limits)]

    def _render_limited(self, sha256: str, page: int, key: str, limits: ExtractLimits) -> bytes:
        try:  # a deck's first view converts it, in a limited worker too (sources.convert_deck)
            pdf, index = self._page_file(sha256, page)
        except ExtractionError as exc:  # the deck overran: all its pages (or the moment, retried)
            raise self._marked(self.deck_key(sha256), exc, limits) from None
        try:
            return run_limited(rasterise, (pdf, index, page, self.dpi), limits, verb="render this page")
        except ExtractionError as exc:  # over time or memory, crashed: the page (or the moment, retried)
            raise self._marked(key, exc, limits) from None

    def _marked(self, key: str, exc: ExtractionError, limits: ExtractLimits) -> RenderFailedError:
        """Mark ``key`` unavailable (the reason, when, under which limits); the error to raise."""
        marker = {
            "reason": str(exc),
            "at": self.clock(),
            "seconds": limits.seconds,
            "memory_mb": limits.memory_mb,
        }
        raw = json.dumps(marker).encode()
        self.cache.write(key + UNAVAILABLE_SUFFIX, raw)
        self.budget.wrote(len(raw))
        return RenderFailedError(str(exc))

    def _page_file(self, sha256: str, page: int) -> tuple[Path, int]:
        """A local PDF that shows ``page`` and the page's index in it (the worker checks it is there)."""
        # A PDF: the original (bytes only, nothing parsed here). A deck: its kept PDF rendering, or made
        # now in a limited worker (python-pptx and LibreOffice under the extraction limits).
        source = self.sources.page_source(sha256, self.settings, scope=self.prefix)
        if source.made_bytes:
            self.budget.wrote(source.made_bytes)
        elif source.page_index is not None:  # a deck's kept conversion: used now
            self.budget.used_deck(sha256, self.prefix)
        index = source.index_of(page)
        if index is None:
            raise PageNotFoundError(f"no page {page}")
        return source.pdf, index

    def _raise_if_marked(self, key: str, limits: ExtractLimits) -> bool:
        """RenderFailedError with the marker's reason while it holds; whether a marker is there (one
        that no longer holds: the page is rendered again)."""
        try:
            raw = self.cache.read(key + UNAVAILABLE_SUFFIX)
        except KeyError:
            return False
        try:
            marker = json.loads(raw)
            reason, at = str(marker["reason"]), float(marker["at"])
            seconds, memory_mb = float(marker["seconds"]), int(marker["memory_mb"])
        except (ValueError, KeyError, TypeError):  # a marker from before it recorded when: retried once
            return True
        raised = limits.seconds > seconds or limits.memory_mb > memory_mb
        if raised or self.clock() - at >= UNAVAILABLE_RETRY_S:
            return True
        raise RenderFailedError(reason)


def document_scope(tenant: str, doc_id: str) -> str:
    """The cache scope of one document's page renders (a hash: a document id may be a legacy file name,
    never part of a path)."""
    return hashlib.sha256(f"{tenant}\x00{doc_id}".encode()).hexdigest()[:32]


def viewer_scope(caller: str) -> str:
    """The part of a cache key that is one caller's (a hash: a caller key holds a tenant and a user name)."""
    return hashlib.sha256(caller.encode()).hexdigest()[:32]


def _cache_prefix(scope: str, caller: str | None) -> str:
    """Where a renderer's entries live: the file's (no scope), a document's (``doc/<scope>/``), or one
    caller's of a document (``doc/<scope>/<viewer>/``: one viewer never warms another's entry). Every
    entry of a document sits under ``doc/<scope>/``, which its deletion removes."""
    if not scope:
        return ""
    return f"doc/{scope}/" if caller is None else f"doc/{scope}/{viewer_scope(caller)}/"


@contextmanager
def _one_render_of(caller: str | None) -> Iterator[None]:
    """Holds ``caller``'s one first render; CallerRenderBusyError when it has one running already."""
    if caller is None:
        yield
        return
    with _rendering_guard:
        if caller in _rendering_for:
            raise CallerRenderBusyError("a page image of this caller is being rendered; try again shortly")
        _rendering_for.add(caller)
    try:
        yield
    finally:
        with _rendering_guard:
            _rendering_for.discard(caller)


def rasterise(pdf: Path, index: int, page: int, dpi: int) -> bytes:
    """The PNG of the page at ``index`` of ``pdf`` (page ``page`` of its document), made here: run it in a
    limited worker, it parses an untrusted file."""
    with open_pdf(pdf) as doc:  # as extraction opens it (a lying page tree counted again)
        if not 0 <= index < doc.page_count:
            raise PageNotFoundError(f"no page {page}")
        pdf_page = doc[index]
        page_dpi = region_dpi(pdf_page.rect.width, pdf_page.rect.height, dpi, MAX_PAGE_PIXELS)
        pixmap = pdf_page.get_pixmap(dpi=max(1, int(page_dpi)), alpha=False)
        return pixmap.tobytes("png")
