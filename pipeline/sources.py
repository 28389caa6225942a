"""Original documents, kept so that their pages can be shown later (the page viewer of the search page).

Each ingested file is stored once in the storage area ``sources`` (the data folder's ``sources/`` by default,
or ``storage.url`` shared by replicas), named by the sha256 of its bytes: the same file ingested twice (or
under two doc ids) takes the space once, and a name never points at other bytes. On a remote storage the
file is copied into ``<data_dir>/cache/sources`` when a page is rendered (content-addressed: never stale).
A PPTX cannot be rasterised directly; its LibreOffice PDF rendering is kept beside it, made on first need
(or handed over by the caller when it already has one), together with which PDF page shows which slide.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from figvault.errors import FigvaultError
from figvault.ingest.extract import PDF_MIME, PPTX_MIME, sniff_mime
from figvault.ingest.pdf_open import open_pdf
from figvault.settings import ExtractSettings, Settings
from figvault.storage import Storage, write_atomic

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = {PDF_MIME: ".pdf", PPTX_MIME: ".pptx"}

DECK_RENDERING = ".pptx.pdf"
DECK_RENDERING_MAP = ".pptx.pages.json"

# One LibreOffice conversion per deck (and scope) at a time, process-wide (stores are cheap, short-lived
# objects); other requests for it wait for its result. A lock lives while someone holds or waits for it
# (the count beside it): one per deck and caller ever opened would grow for the process's life.
_conversion_locks: dict[str, tuple[threading.Lock, int]] = {}
_conversion_locks_guard = threading.Lock()


@contextmanager
def _conversion_lock(key: str) -> Iterator[None]:
    with _conversion_locks_guard:
        lock, users = _conversion_locks.get(key, (threading.Lock(), 0))
        _conversion_locks[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _conversion_locks_guard:
            lock, users = _conversion_locks[key]
            if users > 1:
                _conversion_locks[key] = (lock, users - 1)
            else:
                del _conversion_locks[key]


class SourceUnavailableError(FigvaultError):
    """The pages of a document cannot be shown; the message says why (one line). The subclasses below
    name the reasons a reader may be told (the route answers a fixed sentence per class)."""


class OriginalNotKeptError(SourceUnavailableError):
    """The document's original file was not kept (ingested before originals were): re-ingest it."""


class SlidesUnavailableError(SourceUnavailableError):
    """Slides cannot be shown on this server: LibreOffice is missing or turned off."""


class RenderFailedError(SourceUnavailableError):
    """Rendering the file failed: over the extraction limits, the worker crashed, or the file is malformed."""


@dataclass(frozen=True)
class PageSource:
    """A PDF to rasterise, and which of its pages (0-based) shows each page or slide (1-based)."""

    pdf: Path
    page_index: dict[int, int] | None
    """None: a PDF original, page ``n`` is at ``n - 1`` (the limited worker that renders it checks it is
    there: the service process never opens the untrusted file to count its pages)."""
    made_bytes: int = 0
    """The bytes of a deck rendering made for this request (0: it was there), for the cache's size."""

    def index_of(self, page: int) -> int | None:
        if self.page_index is None:
            return page - 1 if page >= 1 else None
        return self.page_index.get(page)


def checked_sha256(sha256: str) -> str:
    """``sha256`` when it is a well-formed hex digest: only such a value ever becomes part of a path."""
    if not _SHA256.match(sha256):
        raise SourceUnavailableError(f"not a document hash: {sha256[:80]!r}")
    return sha256


class SourceStore:
    """Content-addressed originals: ``<sha[:2]>/<sha>.pdf|.pptx``, PPTX renderings as ``.pptx.pdf``."""

    AREA = "sources"

    def __init__(self, root: Path | Storage, cache_dir: Path | None = None) -> None:
        self.storage = root if isinstance(root, Storage) else Storage(root)
        self.cache_dir = cache_dir

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceStore:
        return cls(Storage.from_settings(settings).area(cls.AREA), settings.data_dir / "cache" / cls.AREA)

    @staticmethod
    def _key(sha256: str, suffix: str) -> str:
        return f"{sha256[:2]}/{checked_sha256(sha256)}{suffix}"

    def _local(self, key: str) -> Path:
        """A local file with the bytes of ``key``: the file itself, or a cached copy of a remote one."""
        local = self.storage.local_path(key)
        if local is not None:
            return local
        if self.cache_dir is None:
            raise SourceUnavailableError("no local cache folder for originals on a remote storage")
        cached = self.cache_dir / key
        if not cached.exists():
            write_atomic(cached, self.storage.read(key))
        return cached

    def _stored_key(self, sha256: str) -> str | None:
        for suffix in _SUFFIX.values():
            key = self._key(sha256, suffix)
            if self.storage.exists(key):
                return key
        return None

    def original(self, sha256: str) -> Path | None:
        key = self._stored_key(sha256)
        return self._local(key) if key is not None else None

    def keep(
        self,
        sha256: str,
        source: bytes | Path,
        mime: str = "",
        *,
        rendered_pdf: bytes | None = None,
        max_bytes: int | None = None,
    ) -> Path:
        """Store ``source`` (the bytes or the path of a PDF or PPTX whose sha256 is ``sha256``); idempotent.

        ``mime`` as extraction found it; empty: sniffed from the bytes. Returns a local path of the file.
        """
        key = self._stored_key(sha256)
        if key is None:
            data = source if isinstance(source, bytes) else _read_bounded(Path(source), max_bytes)
            if hashlib.sha256(data).hexdigest() != sha256:
                # Pages are found by this hash: other bytes under it would show the wrong pages.
                raise SourceUnavailableError(f"the file changed since it was read (sha256 {sha256[:12]}...)")
            mime = mime if mime in _SUFFIX else sniff_mime(data)
            key = self._key(sha256, _SUFFIX[mime])
            self.storage.write(key, data)
        if rendered_pdf is not None and key.endswith(".pptx"):
            self._store_rendering(sha256, rendered_pdf, _identity_pages(rendered_pdf))
        return self._local(key)

    def forget(self, sha256: str) -> None:
        """Remove the kept original of these bytes, its deck rendering and their local cached copies (no
        document holds the bytes any more: ``pipeline/document_files.py``)."""
        for key in (*(self._key(sha256, s) for s in _SUFFIX.values()), *self.rendering_keys(sha256)):
            self.storage.delete(key)
            if self.cache_dir is not None:
                (self.cache_dir / key).unlink(missing_ok=True)

    def page_source(self, sha256: str, settings: Settings, *, scope: str = "") -> PageSource:
        """The PDF that shows this document's pages; converts a PPTX with LibreOffice on first use, in a
        limited worker (ExtractionError when it overruns the limits or crashes). Nothing is parsed here.
        ``scope``: a key prefix for a deck's rendering (``page_images``: one document's, one caller's), so
        whether a deck was converted already tells nothing of other viewers; "": the file's."""
        key = self._stored_key(sha256)
        if key is None:
            raise OriginalNotKeptError(
                "its original file was not kept (ingested before originals were); re-ingest it to see pages"
            )
        if key.endswith(".pdf"):  # bytes only: the page is looked for by the worker that renders it
            return PageSource(pdf=self._local(key), page_index=None)
        pdf_key, _ = self.rendering_keys(sha256, scope)
        made = 0
        with _conversion_lock(pdf_key):  # per scope: one viewer never waits on another's conversion
            if not self.storage.exists(pdf_key):
                made = self._convert_deck(sha256, self._local(key), settings, scope)
        return replace(self._read_rendering(sha256, scope), made_bytes=made)

    def forget_scope(self, scope: str) -> None:
        """Remove every rendering kept under ``scope`` (a deleted document's), local copies included."""
        self.storage.delete_tree(scope)
        if self.cache_dir is not None:
            shutil.rmtree(self.cache_dir / scope, ignore_errors=True)

    # ---- PPTX renderings -------------------------------------------------------------------------

    def rendering_keys(self, sha256: str, scope: str = "") -> tuple[str, str]:
        """The keys of a deck's PDF rendering and of its slide map, kept under ``scope``."""
        return scope + self._key(sha256, DECK_RENDERING), scope + self._key(sha256, DECK_RENDERING_MAP)

    def _store_rendering(self, sha256: str, pdf: bytes, page_index: dict[int, int], scope: str = "") -> None:
        pdf_key, map_key = self.rendering_keys(sha256, scope)
        # The map first: a reader that finds the PDF always finds its map too.
        self.storage.write(map_key, json.dumps({str(k): v for k, v in page_index.items()}).encode())
        self.storage.write(pdf_key, pdf)

    def _read_rendering(self, sha256: str, scope: str) -> PageSource:
        pdf_key, map_key = self.rendering_keys(sha256, scope)
        raw = json.loads(self.storage.read(map_key))
        return PageSource(pdf=self._local(pdf_key), page_index={int(k): int(v) for k, v in raw.items()})

    def _convert_deck(self, sha256: str, original: Path, settings: Settings, scope: str) -> int:
        """The deck's PDF rendering, made in a limited worker process (``run_limited``: the extraction
        limits, the LibreOffice child included): a hostile deck (a zip bomb, huge XML, thousands of slides)
        fails alone with ExtractionError, and the service process never parses it. Returns the bytes kept."""
        from figvault.ingest import slide_render
        from figvault.pipeline.extract_worker import ExtractLimits, run_limited

        soffice = slide_render.find_soffice(settings.extract.libreoffice)
        if soffice is None:
            raise SlidesUnavailableError("slides cannot be shown: LibreOffice (soffice) is missing or off")
        limits = ExtractLimits.from_settings(settings.extract)
        args = (original, soffice, settings.extract)
        pdf, page_index, seconds = run_limited(convert_deck, args, limits, verb="convert this deck")
        log.info("rendered deck %s for page images in %.1f s", sha256[:12], seconds)
        self._store_rendering(sha256, pdf, page_index, scope)
        return len(pdf)


def convert_deck(
    original: Path, soffice: str, settings: ExtractSettings
) -> tuple[bytes, dict[int, int], float]:
    """The PDF rendering of the deck ``original``, which PDF page shows each slide, and LibreOffice's
    seconds, made here: run it in a limited worker, it parses an untrusted file."""
    from figvault.ingest import slide_render
    from figvault.ingest.pptx_open import open_presentation
    from figvault.ingest.safety import opened_pptx

    # As extraction opens it: a picture member the zip bomb guard skips is emptied, never inflated, and a
    # slide whose XML cannot be read is an empty one.
    data, _ = opened_pptx(original.read_bytes(), settings.max_pptx_uncompressed_mb)
    prs, data, _ = open_presentation(data)
    slides = list(prs.slides)
    hidden = {i + 1 for i, s in enumerate(slides) if s._element.get("show") == "0"}
    try:
        deck = slide_render.render_deck(data, len(slides), hidden, soffice, settings)
    except slide_render.RenderError as exc:
        raise RenderFailedError(f"slides cannot be shown: {exc}") from None
    try:
        pages = range(1, len(slides) + 1)
        page_index = {slide: index for slide in pages if (index := deck.page_index(slide)) is not None}
        return deck.pdf.tobytes(), page_index, deck.seconds
    finally:
        deck.close()


def _identity_pages(pdf: bytes) -> dict[int, int]:
    with open_pdf(pdf) as doc:
        return {i + 1: i for i in range(doc.page_count)}


def _read_bounded(path: Path, max_bytes: int | None) -> bytes:
    """The file's bytes, read as extraction reads it (``open_regular``: a pipe swapped in never blocks, a
    device is refused) and at most ``max_bytes`` (a link to a huge file or ``/dev/zero`` swapped in after the
    extraction was read into memory whole, 2026-12-06); the caller compares them with the hash."""
    from figvault.ingest.extract import open_regular

    with open_regular(path) as fh:
        data = fh.read(-1 if max_bytes is None else max_bytes + 1)
    if max_bytes is not None and len(data) > max_bytes:
        raise SourceUnavailableError("the file grew past the size limit since it was read")
    return data


def keep(settings: Settings, sha256: str, source: bytes | Path, mime: str = "", name: str = "") -> None:
    """The ingest hook: keep one original. Never fails the ingest: a full disk costs page images only.
    ``name``: the document's, for the warning (an upload's file is stored under a name of its own)."""
    try:
        limit = settings.extract.max_file_mb * 2**20
        SourceStore.from_settings(settings).keep(sha256, source, mime, max_bytes=limit)
    except (OSError, FigvaultError) as exc:
        # the file's name where there is one: the operator looks for a document, not a hash
        what = name or (source.name if isinstance(source, Path) else sha256[:12])
        log.warning("original of %s not kept (page images will be unavailable): %s", what, exc)
