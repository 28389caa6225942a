"""Original documents, kept so that their pages can be shown later (the page viewer of the search page).

Each ingested file is stored once under ``<data_dir>/sources``, named by the sha256 of its bytes: the same
file ingested twice (or under two doc ids) takes the space once, and a name never points at other bytes.
A PPTX cannot be rasterised directly; its LibreOffice PDF rendering is kept beside it, made on first need
(or handed over by the caller when it already has one), together with which PDF page shows which slide.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from figvault.errors import FigvaultError
from figvault.ingest.extract import PDF_MIME, PPTX_MIME, sniff_mime
from figvault.settings import Settings
from figvault.storage import write_atomic

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = {PDF_MIME: ".pdf", PPTX_MIME: ".pptx"}

# One LibreOffice conversion per deck at a time, process-wide (stores are cheap, short-lived objects);
# other requests for that deck wait for its result.
_conversion_locks: dict[str, threading.Lock] = {}
_conversion_locks_guard = threading.Lock()


def _conversion_lock(sha256: str) -> threading.Lock:
    with _conversion_locks_guard:
        return _conversion_locks.setdefault(sha256, threading.Lock())


class SourceUnavailableError(FigvaultError):
    """The pages of a document cannot be shown; the message says why (one line)."""


@dataclass(frozen=True)
class PageSource:
    """A PDF to rasterise, and which of its pages (0-based) shows each page or slide (1-based)."""

    pdf: Path
    page_index: dict[int, int]

    def index_of(self, page: int) -> int | None:
        return self.page_index.get(page)


def checked_sha256(sha256: str) -> str:
    """``sha256`` when it is a well-formed hex digest: only such a value ever becomes part of a path."""
    if not _SHA256.match(sha256):
        raise SourceUnavailableError(f"not a document hash: {sha256[:80]!r}")
    return sha256


class SourceStore:
    """Content-addressed originals: ``<root>/<sha[:2]>/<sha>.pdf|.pptx``, PPTX renderings as ``.pptx.pdf``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def from_settings(cls, settings: Settings) -> SourceStore:
        return cls(settings.data_dir / "sources")

    def _base(self, sha256: str) -> Path:
        return self.root / sha256[:2] / checked_sha256(sha256)

    def original(self, sha256: str) -> Path | None:
        base = self._base(sha256)
        for suffix in _SUFFIX.values():
            path = base.with_name(base.name + suffix)
            if path.exists():
                return path
        return None

    def keep(
        self, sha256: str, source: bytes | Path, mime: str = "", *, rendered_pdf: bytes | None = None
    ) -> Path:
        """Store ``source`` (the bytes or the path of a PDF or PPTX whose sha256 is ``sha256``); idempotent.

        ``mime`` as extraction found it; empty: sniffed from the bytes. Returns the stored file's path.
        """
        base = self._base(sha256)
        target = self.original(sha256)
        if target is None:
            data = source if isinstance(source, bytes) else Path(source).read_bytes()
            if hashlib.sha256(data).hexdigest() != sha256:
                # Pages are found by this hash: other bytes under it would show the wrong pages.
                raise SourceUnavailableError(f"the file changed since it was read (sha256 {sha256[:12]}...)")
            mime = mime if mime in _SUFFIX else sniff_mime(data)
            target = base.with_name(base.name + _SUFFIX[mime])
            write_atomic(target, data)
        if rendered_pdf is not None and target.suffix == ".pptx":
            self._store_rendering(sha256, rendered_pdf, _identity_pages(rendered_pdf))
        return target

    def page_source(self, sha256: str, settings: Settings) -> PageSource:
        """The PDF that shows this document's pages; converts a PPTX with LibreOffice on first use."""
        original = self.original(sha256)
        if original is None:
            raise SourceUnavailableError(
                "its original file was not kept (ingested before originals were); re-ingest it to see pages"
            )
        if original.suffix == ".pdf":
            import pymupdf

            with pymupdf.open(original) as doc:
                count = doc.page_count
            return PageSource(pdf=original, page_index={i + 1: i for i in range(count)})
        rendering = self._rendering_paths(sha256)
        with _conversion_lock(sha256):
            if not rendering[0].exists():
                self._convert_deck(sha256, original.read_bytes(), settings)
        return self._read_rendering(sha256)

    # ---- PPTX renderings -------------------------------------------------------------------------

    def _rendering_paths(self, sha256: str) -> tuple[Path, Path]:
        base = self._base(sha256)
        return base.with_name(base.name + ".pptx.pdf"), base.with_name(base.name + ".pptx.pages.json")

    def _store_rendering(self, sha256: str, pdf: bytes, page_index: dict[int, int]) -> None:
        pdf_path, map_path = self._rendering_paths(sha256)
        # The map first: a reader that finds the PDF always finds its map too.
        write_atomic(map_path, json.dumps({str(k): v for k, v in page_index.items()}).encode())
        write_atomic(pdf_path, pdf)

    def _read_rendering(self, sha256: str) -> PageSource:
        pdf_path, map_path = self._rendering_paths(sha256)
        raw = json.loads(map_path.read_text())
        return PageSource(pdf=pdf_path, page_index={int(k): int(v) for k, v in raw.items()})

    def _convert_deck(self, sha256: str, data: bytes, settings: Settings) -> None:
        from pptx import Presentation

        from figvault.ingest import slide_render

        soffice = slide_render.find_soffice(settings.extract.libreoffice)
        if soffice is None:
            raise SourceUnavailableError("slides cannot be shown: LibreOffice (soffice) is missing or off")
        prs = Presentation(io.BytesIO(data))
        slides = list(prs.slides)
        hidden = {i + 1 for i, s in enumerate(slides) if s._element.get("show") == "0"}
        try:
            deck = slide_render.render_deck(data, len(slides), hidden, soffice, settings.extract)
        except slide_render.RenderError as exc:
            raise SourceUnavailableError(f"slides cannot be shown: {exc}") from None
        try:
            page_index = {
                slide: index
                for slide in range(1, len(slides) + 1)
                if (index := deck.page_index(slide)) is not None
            }
            pdf = deck.pdf.tobytes()
        finally:
            deck.close()
        log.info("rendered deck %s for page images in %.1f s", sha256[:12], deck.seconds)
        self._store_rendering(sha256, pdf, page_index)


def _identity_pages(pdf: bytes) -> dict[int, int]:
    import pymupdf

    with pymupdf.open(stream=pdf, filetype="pdf") as doc:
        return {i + 1: i for i in range(doc.page_count)}


def keep(settings: Settings, sha256: str, source: bytes | Path, mime: str = "") -> None:
    """The ingest hook: keep one original. Never fails the ingest: a full disk costs page images only."""
    try:
        SourceStore.from_settings(settings).keep(sha256, source, mime)
    except (OSError, FigvaultError) as exc:
        log.warning("original of %s not kept (page images will be unavailable): %s", sha256[:12], exc)
