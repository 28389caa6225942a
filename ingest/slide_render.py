"""Render slides through LibreOffice (deck -> PDF once) and crop unit regions out of the PDF pages.

Charts, grouped shapes and SmartArt exist only as drawing instructions in a PPTX; LibreOffice draws them
the way PowerPoint does (native charts included). LibreOffice's PDF export skips hidden slides, so hidden
slides are unhidden in a temporary copy first and page i of the PDF is always slide i + 1.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pymupdf

from figvault.errors import ExtractionError
from figvault.ingest import deadline, soffice_profiles
from figvault.ingest.cpu_limited import tree_cpu_seconds
from figvault.ingest.render import forget_drawing, render_region
from figvault.ingest.safety import without_external_targets, without_oversized_images
from figvault.ingest.slide_shapes import element_count
from figvault.settings import ExtractSettings

SOFFICE_MISSING = (
    "LibreOffice (soffice) not found: chart, diagram and SmartArt units of PPTX files are drawn as a"
    " simple sketch from the slide's data instead of a true rendering (install libreoffice-impress)"
)

SOFFICE_OFF = (
    "LibreOffice rendering is off (extract.libreoffice = off): chart, diagram and SmartArt units of PPTX"
    " files are drawn as a simple sketch from the slide's data"
)

MAX_RENDER_SLIDES = 1_000
"""LibreOffice converts every slide of a deck: 5,000 empty slides around one diagram (3.3 MB) took the
extraction worker past its 2 GiB limit in 25 s and the whole deck was lost. Past this many slides the deck
is read without it (its charts and diagrams sketched)."""

log = logging.getLogger(__name__)


class RenderError(ExtractionError):
    """LibreOffice failed on one deck; the extractor falls back and reports it as a warning."""


def find_soffice(setting: str) -> str | None:
    """The soffice executable for ``settings.extract.libreoffice`` (auto / off / a path); None when absent."""
    if setting == "off":
        return None
    if setting == "auto":
        return shutil.which("soffice") or shutil.which("libreoffice")
    return setting if Path(setting).is_file() and os.access(setting, os.X_OK) else None


@dataclass
class RenderedDeck:
    pdf: pymupdf.Document
    seconds: float
    """Wall time of the LibreOffice conversion."""
    _pages: dict[int, int] = field(default_factory=dict)

    def page_index(self, slide_no: int) -> int | None:
        return self._pages.get(slide_no)

    def close(self) -> None:
        forget_drawing(self.pdf)
        self.pdf.close()


def deck_for_rendering(data: bytes, hidden: set[int], max_elements: int) -> tuple[bytes, set[int]]:
    """The deck LibreOffice converts, and the slides emptied in it.

    Hidden slides are shown (LibreOffice skips them otherwise). A slide with more than ``max_elements`` XML
    elements (150,000 paragraphs in a 60 KB file kept LibreOffice busy past its timeout) keeps its place
    but loses its shapes, so that the other slides still render. The deck is parsed only when some slide
    could be over the cap (its XML part holds more than ``max_elements`` * 4 bytes) or has to be shown.
    """
    if not hidden and not _may_exceed(data, max_elements):
        return data, set()
    from pptx import Presentation

    prs = Presentation(io.BytesIO(data))
    emptied: set[int] = set()
    for number, slide in enumerate(prs.slides, start=1):
        slide._element.attrib.pop("show", None)
        if element_count(slide._element) > max_elements:
            tree = slide.shapes._spTree
            for child in list(tree)[2:]:  # keep nvGrpSpPr and grpSpPr, the tree's required head
                # Emptied first: lxml moves a removed subtree node by node (minutes for 150k paragraphs).
                child.clear()
                tree.remove(child)
            emptied.add(number)
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue(), emptied


def _may_exceed(data: bytes, max_elements: int) -> bool:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return any(
            info.filename.startswith("ppt/slides/slide") and info.file_size > 4 * max_elements
            for info in zf.infolist()
        )


def render_deck(
    data: bytes, n_slides: int, hidden: set[int], soffice: str, settings: ExtractSettings
) -> RenderedDeck:
    """Convert the deck to PDF with LibreOffice; raises RenderError with a one-line reason.

    The profile is the one this context reuses (``soffice_profiles.reusing``: a batch's extraction slot),
    else a fresh one for this call; a reused one is scrubbed after a conversion and discarded after a
    failed one."""
    if n_slides > MAX_RENDER_SLIDES:
        raise RenderError(f"LibreOffice not run: {n_slides:,} slides (more than {MAX_RENDER_SLIDES:,})")
    source, _ = deck_for_rendering(data, hidden, settings.max_slide_elements)
    source = without_external_targets(source)  # LibreOffice would load linked files and URLs
    source = without_oversized_images(source, settings.max_source_image_pixels)  # it would decode them
    reused = soffice_profiles.current()
    with tempfile.TemporaryDirectory(prefix="figvault-lo-") as tmp:
        tmp_path = Path(tmp)
        try:
            seconds, pdf_path = _convert(soffice, source, reused or tmp_path / "profile", tmp_path, settings)
        except RenderError:
            if reused is not None:
                soffice_profiles.discard(reused)
            raise
        if reused is not None:
            soffice_profiles.scrub(reused)
        pdf = pymupdf.open(stream=pdf_path.read_bytes(), filetype="pdf")

    if pdf.page_count == n_slides:
        pages = {i + 1: i for i in range(n_slides)}
    elif pdf.page_count == n_slides - len(hidden):
        # The unhidden copy was not honoured: map around the skipped slides instead.
        visible = [s for s in range(1, n_slides + 1) if s not in hidden]
        pages = {slide: i for i, slide in enumerate(visible)}
    else:
        pdf.close()
        raise RenderError(f"LibreOffice produced {pdf.page_count} pages for {n_slides} slides")
    return RenderedDeck(pdf=pdf, seconds=seconds, _pages=pages)


def soffice_pdf_command(soffice: str, profile: Path, outdir: Path, decks: Sequence[Path]) -> list[str]:
    """The headless soffice command that saves ``decks`` as PDF into ``outdir``, on the user ``profile``."""
    return [
        soffice,
        f"-env:UserInstallation={profile.as_uri()}",
        "--headless",
        "--norestore",
        "--convert-to",
        "pdf",
        "--outdir",
        str(outdir),
        *map(str, decks),
    ]


def _convert(
    soffice: str, source: bytes, profile: Path, tmp_path: Path, settings: ExtractSettings
) -> tuple[float, Path]:
    """``source`` converted to PDF in ``tmp_path`` by soffice on ``profile`` (one soffice at a time per
    profile: concurrent ones lock each other out): its wall time and the PDF's path."""
    deck = tmp_path / "deck.pptx"
    deck.write_bytes(source)
    cmd = soffice_pdf_command(soffice, profile, tmp_path, [deck])
    soffice_profiles.lock_down(profile)  # no link followed, no macro run, whatever the deck holds
    env = {**os.environ, "HOME": str(tmp_path)}
    limit = _limit(settings)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        start_new_session=True,  # so a limit can end soffice.bin too, not only its launcher
    )
    try:
        stderr = _wait(proc, limit)
    except BaseException:  # over a limit, or interrupted here (Ctrl-C, a cancel): end soffice's session too
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    seconds = time.perf_counter() - started
    pdf_path = tmp_path / "deck.pdf"
    if proc.returncode != 0 or not pdf_path.exists():
        # Its stderr names this machine's temp folders and LibreOffice's source files, and the reason is
        # a document warning that uploaders read over HTTP: the operator's log has it, the reason not.
        detail = stderr.decode(errors="replace").strip().splitlines()
        log.warning("LibreOffice could not convert a deck (exit code %s): %s", proc.returncode, detail[-3:])
        raise RenderError(f"LibreOffice could not convert the deck (exit code {proc.returncode})")
    return seconds, pdf_path


POLL_S = 0.1
"""How often a running conversion's CPU time is read (its process tree from /proc: about a millisecond)."""


@dataclass(frozen=True)
class _Limit:
    """What a conversion may use: ``cpu_s`` CPU seconds of soffice's processes, ``wall_s`` seconds; each
    with the reason it is stopped for."""

    cpu_s: float
    wall_s: float
    cpu_reason: str
    wall_reason: str


def _limit(settings: ExtractSettings) -> _Limit:
    """``extract.libreoffice_timeout_s`` CPU seconds, WALL_FACTOR times that in wall time (a soffice that
    waits or is stopped uses no CPU), both within what the document has left for its optional steps (a
    worker killed at its limit would lose the whole deck); raises RenderError when nothing is left."""
    cpu_s = float(settings.libreoffice_timeout_s)
    wall_s = deadline.WALL_FACTOR * cpu_s
    cpu_reason = f"LibreOffice timed out after {cpu_s:g} s (CPU time, limit extract.libreoffice_timeout_s)"
    wall_reason = (
        f"LibreOffice timed out after {wall_s:g} s (wall time, {deadline.WALL_FACTOR} times the limit"
        " extract.libreoffice_timeout_s): it was blocked or the machine is overloaded"
    )
    document = deadline.current()
    if document is not None:
        cpu_left, wall_left = document.cpu_left(), document.wall_left()
        if min(cpu_left, wall_left) <= 0:
            raise RenderError(f"LibreOffice not run: {deadline.TIME_SPENT}")
        if cpu_left < cpu_s:
            cpu_s, cpu_reason = (
                cpu_left,
                f"LibreOffice stopped after {cpu_left:.0f} CPU-s: {deadline.TIME_SPENT}",
            )
        if wall_left < wall_s:
            wall_s, wall_reason = (
                wall_left,
                f"LibreOffice stopped after {wall_left:.0f} s: {deadline.TIME_SPENT}",
            )
    return _Limit(cpu_s, wall_s, cpu_reason, wall_reason)


def _wait(proc: subprocess.Popen[bytes], limit: _Limit) -> bytes:
    """soffice's stderr once it ended; raises RenderError (soffice still running) past either limit. The CPU
    seconds are those of soffice's whole process tree (its launcher starts soffice.bin), so a busy machine,
    which stretches a conversion's wall time, does not stop it."""
    started = time.monotonic()
    tree = psutil.Process(proc.pid)
    while True:
        try:
            return proc.communicate(timeout=POLL_S)[1]
        except subprocess.TimeoutExpired:
            pass
        if tree_cpu_seconds(tree) > limit.cpu_s:
            raise RenderError(limit.cpu_reason)
        if time.monotonic() - started > limit.wall_s:
            raise RenderError(limit.wall_reason)


def crop_region_png(
    deck: RenderedDeck,
    slide_no: int,
    bbox: tuple[float, float, float, float],
    slide_size: tuple[float, float],
    dpi: int,
    max_pixels: int,
) -> tuple[bytes, int, int, str] | None:
    """PNG of ``bbox`` (slide points, top-left origin) on the rendered slide, its size and perceptual hash;
    None when out of the page."""
    index = deck.page_index(slide_no)
    if index is None:
        return None
    page = deck.pdf[index]
    scale = page.rect.width / slide_size[0] if slide_size[0] else 1.0
    clip = pymupdf.Rect(*(v * scale for v in bbox)) & page.rect
    if clip.is_empty or clip.width < 1 or clip.height < 1:
        return None
    region = render_region(page, clip, dpi, max_pixels)
    return region.png, region.width, region.height, region.phash
