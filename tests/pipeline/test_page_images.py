"""Kept originals, page images with their cache, and the 2-D map maths (no server, no models)."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pymupdf
import pytest
from PIL import Image

from figvault.ingest.extract import PDF_MIME, PPTX_MIME
from figvault.ingest.samples import sample_pdf_bytes, sample_pptx_bytes
from figvault.pipeline import extract_worker, page_images, sources
from figvault.pipeline.ingest_job import queue_upload_job
from figvault.pipeline.jobs import JobState, JobStore, run_here
from figvault.pipeline.page_cache import PageCache
from figvault.pipeline.page_images import (
    PAGE_DPI,
    RENDER_SLOTS,
    UNAVAILABLE_RETRY_S,
    PageImageRenderer,
    PageNotFoundError,
    PageRenderBusyError,
)
from figvault.pipeline.sources import (
    OriginalNotKeptError,
    RenderFailedError,
    SlidesUnavailableError,
    SourceStore,
    SourceUnavailableError,
)
from figvault.retrieval import unit_map
from figvault.retrieval.unit_map import near_duplicate_pairs, project_2d
from figvault.settings import Settings
from figvault.storage import Storage
from tests.generated_docs import figure_pdf
from tests.ingest.hostile_sixth import page_count_pdf
from tests.pipeline.hostile_docs import overlapping_segments_pdf
from tests.pipeline.test_extract_worker import workers_alive


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assert_page_pixels(size: tuple[int, int], points: tuple[float, float]) -> None:
    # MuPDF rounds a page's pixel box outward: one pixel more at most.
    for pixels, pt in zip(size, points, strict=True):
        assert 0 <= pixels - pt * PAGE_DPI / 72 <= 1, (size, points)


def three_page_pdf() -> bytes:
    doc = pymupdf.open()
    for i, (w, h) in enumerate([(595, 842), (842, 595), (300, 300)]):
        page = doc.new_page(width=w, height=h)
        page.insert_text((40, 60), f"page {i + 1}", fontsize=20)
    return doc.tobytes()


def test_keep_is_content_addressed_and_idempotent(offline_settings: Settings, tmp_path: Path) -> None:
    data = three_page_pdf()
    store = SourceStore.from_settings(offline_settings)
    first = store.keep(sha(data), data, PDF_MIME)
    path = tmp_path / "copy.pdf"
    path.write_bytes(data)
    again = store.keep(sha(data), path)  # from a path, type sniffed
    assert first == again == store.original(sha(data))
    assert first.read_bytes() == data
    assert first.parent.parent == offline_settings.data_dir / "sources"
    assert len(list((offline_settings.data_dir / "sources").rglob("*.pdf"))) == 1


def test_keep_refuses_bytes_that_do_not_match_the_hash(offline_settings: Settings) -> None:
    store = SourceStore.from_settings(offline_settings)
    data = three_page_pdf()
    with pytest.raises(SourceUnavailableError, match="changed"):
        store.keep(sha(b"other"), data, PDF_MIME)
    assert store.original(sha(b"other")) is None


@pytest.mark.parametrize("bad", ["../../etc/passwd", "ab" * 31, "A" * 64, ""])
def test_malformed_hash_never_becomes_a_path(offline_settings: Settings, bad: str) -> None:
    store = SourceStore.from_settings(offline_settings)
    with pytest.raises(SourceUnavailableError, match="not a document hash"):
        store.original(bad)
    with pytest.raises(SourceUnavailableError):
        PageImageRenderer(offline_settings).render(bad, 1)


def test_ingest_hook_never_raises(offline_settings: Settings, caplog: pytest.LogCaptureFixture) -> None:
    sources.keep(offline_settings, sha(b"not a document"), b"not a document", "")
    assert "not kept" in caplog.text
    assert not (offline_settings.data_dir / "sources").exists() or not any(
        (offline_settings.data_dir / "sources").rglob("*.*")
    )


def test_an_original_not_kept_is_named_by_its_file(
    offline_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a full disk an ingest warned "original of 7b23c0d9b22e not kept": a hash prefix, no document."""
    report = tmp_path / "q3-report.pdf"
    report.write_bytes(sample_pdf_bytes())

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sources.SourceStore, "keep", full)
    sources.keep(offline_settings, sha(report.read_bytes()), report, PDF_MIME)
    assert "original of q3-report.pdf not kept" in caplog.text


def test_an_upload_s_original_not_kept_is_named_by_the_document(
    offline_settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An upload is stored as 0000.pdf: the warning named that, not the document the editor uploaded."""
    offline_settings.extract.workers = 1
    jobs = JobStore.open(offline_settings)
    spooled = figure_pdf(tmp_path / "spool.pdf", seed=3)
    job = queue_upload_job(
        offline_settings, jobs, [("Quarterly.pdf", spooled)], groups=["eng"], tenant="acme", started_by="ann"
    )

    def full(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sources.SourceStore, "keep", full)
    assert run_here(offline_settings, job).state == JobState.SUCCEEDED
    assert "original of Quarterly.pdf not kept" in caplog.text


def test_pdf_pages_rendered_at_page_dpi_and_cached(offline_settings: Settings) -> None:
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    renderer = PageImageRenderer(offline_settings)
    image = renderer.render(sha(data), 2)
    with Image.open(io.BytesIO(image.png)) as png:
        # Page 2 is landscape A4: 842 x 595 pt at 110 dpi.
        assert_page_pixels(png.size, (842, 595))
    assert image.etag == renderer.etag(sha(data), 2)
    cached = renderer.cache_path(sha(data), 2)
    assert cached.read_bytes() == image.png
    # A cached page is served from the cache even when the original is gone.
    shutil.rmtree(offline_settings.data_dir / "sources")
    assert renderer.render(sha(data), 2).png == image.png
    with pytest.raises(OriginalNotKeptError, match="not kept"):
        renderer.render(sha(data), 1)


def test_missing_page_is_reported(offline_settings: Settings) -> None:
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    renderer = PageImageRenderer(offline_settings)
    for page in (0, 4):
        with pytest.raises(PageNotFoundError):
            renderer.render(sha(data), page)


def test_the_service_process_never_parses_a_pdf_original(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SourceStore.page_source`` opened a kept PDF with MuPDF here to count its pages: an untrusted file
    parsed in the service process, outside the extraction limits. Now only the limited worker opens it."""
    data = three_page_pdf()
    store = SourceStore.from_settings(offline_settings)
    store.keep(sha(data), data, PDF_MIME)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an untrusted original was parsed in the service process")

    monkeypatch.setattr(pymupdf, "open", refuse)
    monkeypatch.setattr(pymupdf, "Document", refuse)
    source = store.page_source(sha(data), offline_settings)
    assert source.pdf == store.original(sha(data)) and source.index_of(3) == 2
    renderer = PageImageRenderer(offline_settings)
    assert renderer.render(sha(data), 3).png.startswith(b"\x89PNG")  # rendered in the worker
    with pytest.raises(PageNotFoundError):
        renderer.render(sha(data), 4)


def test_pptx_slides_need_libreoffice_and_say_so(offline_settings: Settings) -> None:
    data = sample_pptx_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PPTX_MIME)
    offline_settings.extract.libreoffice = "off"
    with pytest.raises(SlidesUnavailableError, match="LibreOffice"):
        PageImageRenderer(offline_settings).render(sha(data), 1)


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_pptx_slides_rendered_through_libreoffice(offline_settings: Settings) -> None:
    data = sample_pptx_bytes()
    store = SourceStore.from_settings(offline_settings)
    store.keep(sha(data), data, PPTX_MIME)
    renderer = PageImageRenderer(offline_settings)
    image = renderer.render(sha(data), 2)
    with Image.open(io.BytesIO(image.png)) as png:
        width, height = png.size
    assert width > height  # a 16:9 slide
    source = store.page_source(sha(data), offline_settings)
    assert source.pdf.name.endswith(".pptx.pdf") and source.index_of(2) == 1
    with pytest.raises(PageNotFoundError):
        renderer.render(sha(data), 99)


def test_rendered_pdf_handed_over_is_used(offline_settings: Settings) -> None:
    deck = sample_pptx_bytes()
    rendering = three_page_pdf()  # any PDF stands for LibreOffice's output here
    store = SourceStore.from_settings(offline_settings)
    store.keep(sha(deck), deck, PPTX_MIME, rendered_pdf=rendering)
    offline_settings.extract.libreoffice = "off"  # so a conversion would fail
    assert PageImageRenderer(offline_settings).render(sha(deck), 3).png.startswith(b"\x89PNG")


def test_a_hostile_page_fails_alone_under_the_extraction_limits(
    offline_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """20,000 overlapping segments take MuPDF many seconds to paint: the first view renders in a worker
    process under extract.doc_timeout_s (set far below what the page needs), fails with the reason, and
    leaves a marker so later views answer at once instead of rendering it again."""
    # Its CPU-time limit: the wall backstop (10 times the 0.5 s) out of the way. At load 30-40 the niced
    # worker got 0.1-0.2 CPU-s in its 5 s and was stopped by the backstop, with the backstop's reason
    # (tests/pipeline/test_extract_worker_cpu.py tests the backstop).
    monkeypatch.setattr(extract_worker, "WALL_FACTOR", 1000)
    data = overlapping_segments_pdf(tmp_path / "dense.pdf", 20_000).read_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    offline_settings.extract.doc_timeout_s = 0.5
    renderer = PageImageRenderer(offline_settings)
    with pytest.raises(RenderFailedError, match=r"took longer than 0.5 s to render this page") as first:
        renderer.render(sha(data), 1)
    assert workers_alive() == []
    assert not renderer.cache_path(sha(data), 1).exists()
    with pytest.raises(RenderFailedError) as again:  # a second view: the marker's answer
        renderer.render(sha(data), 1)
    assert str(again.value) == str(first.value)


def test_a_hostile_deck_is_converted_in_a_limited_worker(offline_settings: Settings, tmp_path: Path) -> None:
    """A deck whose first view converts it (no rendering kept at ingest): python-pptx and LibreOffice ran
    in the service process, so a zip bomb inflated there. Now the conversion runs in a worker under the
    extraction limits: the deck fails alone with the reason, this process never holds the inflated XML,
    and no worker or LibreOffice is left."""
    import resource

    from tests.ingest.hostile_docs import slide_bomb_pptx

    inflated_mb = 600
    data = slide_bomb_pptx(tmp_path / "bomb.pptx", sample_pptx_bytes(), inflated_mb).read_bytes()
    assert len(data) < 2 * 2**20
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PPTX_MIME)
    offline_settings.extract.libreoffice = shutil.which("soffice") or shutil.which("true") or "/bin/true"
    offline_settings.extract.doc_memory_mb = 300
    offline_settings.extract.doc_timeout_s = 60
    offline_settings.extract.libreoffice_timeout_s = 20
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    renderer = PageImageRenderer(offline_settings)
    # Since convert_deck opens the deck as extraction does (safety.opened_pptx), the guard refuses it from
    # the zip's directory, in the worker, before python-pptx or LibreOffice ("... to convert this deck").
    with pytest.raises(RenderFailedError, match=r"zip bomb guard: member 'ppt/slides/slide1\.xml' inflates"):
        renderer.render(sha(data), 1)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak_mb < inflated_mb / 2
    assert workers_alive() == []
    good = sample_pdf_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(good), good, PDF_MIME)
    assert renderer.render(sha(good), 1).png.startswith(b"\x89PNG")  # the next file is shown as before


def test_an_unavailable_page_is_tried_again_after_the_cool_down_or_with_higher_limits(
    offline_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The marker holds for UNAVAILABLE_RETRY_S under the same limits (no render meanwhile), then one view
    renders again; raising extract.doc_timeout_s retries at once."""
    data = overlapping_segments_pdf(tmp_path / "dense.pdf", 20_000).read_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    offline_settings.extract.doc_timeout_s = 0.5
    renders: list[float] = []

    def counted(*args: object, **kwargs: object) -> bytes:
        renders.append(offline_settings.extract.doc_timeout_s)
        return real(*args, **kwargs)

    real = page_images.run_limited
    monkeypatch.setattr(page_images, "run_limited", counted)
    now = [1_000_000.0]
    renderer = PageImageRenderer(offline_settings, clock=lambda: now[0])

    def view() -> str:
        with pytest.raises(RenderFailedError) as failed:
            renderer.render(sha(data), 1)
        return str(failed.value)

    first = view()
    now[0] += UNAVAILABLE_RETRY_S - 1
    assert view() == first and len(renders) == 1  # the marker answers, nothing renders
    now[0] += 1
    assert view() == first and len(renders) == 2  # cool-down over: rendered once more, marker renewed
    assert view() == first and len(renders) == 2
    offline_settings.extract.doc_timeout_s = 0.75  # the operator raises the limit: tried at once
    assert "0.75 s" in view() and renders == [0.5, 0.5, 0.75]


def test_a_deck_whose_conversion_overran_is_not_converted_again_for_each_page(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The overrun was marked on the viewed page only: a view of each other page converted the whole deck
    again in a worker (up to extract.doc_timeout_s each, a render slot held). The deck is marked: its other
    pages answer at once with the reason until the cool-down ends, then one view converts it again."""
    from figvault.errors import ExtractionError

    data = sample_pptx_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PPTX_MIME)
    offline_settings.extract.libreoffice = shutil.which("soffice") or shutil.which("true") or "/bin/true"
    conversions: list[str] = []

    def overran(target: object, args: object, limits: object, *, verb: str, **_: object) -> object:
        conversions.append(verb)
        raise ExtractionError(f"needed more than 300 MiB of memory to {verb}")

    monkeypatch.setattr(extract_worker, "run_limited", overran)
    now = [1_000_000.0]
    renderer = PageImageRenderer(offline_settings, clock=lambda: now[0])
    for page in (1, 2, 3, 1):
        with pytest.raises(RenderFailedError, match="to convert this deck"):
            renderer.render(sha(data), page)
    assert conversions == ["convert this deck"]
    now[0] += UNAVAILABLE_RETRY_S
    with pytest.raises(RenderFailedError, match="to convert this deck"):
        renderer.render(sha(data), 2)
    assert len(conversions) == 2


def test_a_marker_of_an_older_release_is_retried_and_a_success_removes_it(offline_settings: Settings) -> None:
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    renderer = PageImageRenderer(offline_settings)
    key = renderer.cache_key(sha(data), 1) + page_images.UNAVAILABLE_SUFFIX
    renderer.cache.write(key, b"took longer than 120 s to render this page")  # plain text: no time kept
    assert renderer.render(sha(data), 1).png.startswith(b"\x89PNG")
    assert not renderer.cache.exists(key)


def test_first_renders_beyond_the_slots_are_told_to_retry(offline_settings: Settings) -> None:
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    renderer = PageImageRenderer(offline_settings)
    for _ in range(RENDER_SLOTS):
        assert page_images._slots.acquire(blocking=False)
    try:
        with pytest.raises(PageRenderBusyError):
            renderer.render(sha(data), 1)
    finally:
        for _ in range(RENDER_SLOTS):
            page_images._slots.release()
    assert renderer.render(sha(data), 1).png.startswith(b"\x89PNG")


def test_projection_separates_clusters_and_is_deterministic() -> None:
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64)) * 5
    vectors = np.vstack([c + rng.normal(scale=0.1, size=(20, 64)) for c in centres]).astype(np.float32)
    first = project_2d(vectors)
    second = project_2d(vectors[::-1].copy())
    assert first.points.shape == (60, 2)
    assert first.explained[0] >= first.explained[1] > 0
    assert sum(first.explained) > 0.9  # three clusters live in a plane
    # Same map whatever the row order (signs fixed): compare the reversed run row by row.
    np.testing.assert_allclose(first.points, second.points[::-1], atol=1e-6)
    # Points of one cluster are much closer to each other than to the other clusters.
    labels = np.repeat(np.arange(3), 20)
    centroid = np.array([first.points[labels == k].mean(axis=0) for k in range(3)])
    spread = max(np.linalg.norm(first.points[labels == k] - centroid[k], axis=1).max() for k in range(3))
    gaps = [np.linalg.norm(centroid[a] - centroid[b]) for a in range(3) for b in range(a + 1, 3)]
    assert min(gaps) > 5 * spread


def test_projection_edge_cases() -> None:
    assert project_2d(np.zeros((0, 8))).points.shape == (0, 2)
    assert project_2d(np.ones((1, 8))).points.tolist() == [[0.0, 0.0]]
    assert project_2d(np.ones((4, 8))).points.tolist() == [[0.0, 0.0]] * 4


def test_near_duplicates_found_and_ranked() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(50, 32)).astype(np.float32)
    vectors[10] = vectors[3] * 2.0  # same direction, other length: cosine 1
    vectors[40] = vectors[7] + rng.normal(scale=0.05, size=32)
    pairs = near_duplicate_pairs(vectors, threshold=0.98)
    assert [(i, j) for i, j, _ in pairs] == [(3, 10), (7, 40)]
    assert pairs[0][2] == pytest.approx(1.0, abs=1e-5)
    assert near_duplicate_pairs(vectors, threshold=0.98, limit=1) == pairs[:1]
    assert near_duplicate_pairs(vectors[:1]) == []


def _all_pairs_then_sorted(vectors: np.ndarray, threshold: float, limit: int) -> list[tuple[int, int, float]]:
    """The former near_duplicate_pairs: every pair collected, sorted, cut (the same block products)."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    pairs: list[tuple[int, int, float]] = []
    step = max(1, min(unit_map._BLOCK, unit_map._BLOCK_CELLS // len(unit)))
    for start in range(0, len(unit), step):
        block = unit[start : start + step] @ unit.T
        for r, c in zip(*np.nonzero(block >= threshold), strict=True):
            if start + r < c:
                pairs.append((int(start + r), int(c), float(block[r, c])))
    pairs.sort(key=lambda p: (-p[2], p[0], p[1]))
    return pairs[:limit]


@pytest.mark.parametrize("limit", [1, 7, 50, 5000])
def test_near_duplicates_kept_block_by_block_are_the_best_of_all_pairs(
    monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    """Ties (copies of one vector), near copies and blocks of a few rows: the same pairs in the same order
    as collecting every pair and sorting them."""
    rng = np.random.default_rng(7)
    vectors = rng.normal(size=(300, 16)).astype(np.float32)
    vectors[:40] = vectors[0]  # a logo on every slide
    vectors[100:130] = vectors[100] + rng.normal(scale=0.01, size=(30, 16)).astype(np.float32)
    vectors[200:210] = vectors[5] * 3.0
    monkeypatch.setattr(unit_map, "_BLOCK_CELLS", 300 * 13)  # blocks of 13 rows
    every = _all_pairs_then_sorted(vectors, 0.98, 10**9)
    assert len(every) > 1000 and len({score for _, _, score in every}) < len(every)  # many ties
    assert near_duplicate_pairs(vectors, threshold=0.98, limit=limit) == every[:limit]


def test_near_duplicates_of_many_copies_hold_a_block_of_memory_not_every_pair() -> None:
    """2,000 units sharing one vector (a logo on every slide) are 2 million pairs: each was kept as a tuple
    before the 200 best were cut (a scale audit: 5,000 such units took 148 s and 3.1 GiB in
    ``GET /v1/admin/map``). Now a block's scores are the most held at once."""
    import tracemalloc

    vectors = np.tile(np.random.default_rng(3).normal(size=(1, 64)).astype(np.float32), (2000, 1))
    tracemalloc.start()
    try:
        pairs = near_duplicate_pairs(vectors)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(i, j) for i, j, _ in pairs] == [(0, j) for j in range(1, 201)]
    assert peak < 160 * 2**20, f"{peak / 2**20:.0f} MiB"  # 40 bytes per cell of a block (2**22 cells)


def test_sample_pdf_page_image(offline_settings: Settings) -> None:
    data = sample_pdf_bytes()
    sources.keep(offline_settings, sha(data), data, PDF_MIME)
    png = PageImageRenderer(offline_settings).render(sha(data), 1).png
    with Image.open(io.BytesIO(png)) as image:
        assert_page_pixels(image.size, (595, 842))
        # Not a blank page: the demo report draws a chart and a diagram.
        assert len(set(image.convert("L").getdata())) > 16


def test_a_decks_skipped_pictures_are_not_handed_to_libreoffice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A picture member over the zip bomb ratio is skipped by extraction (emptied: safety.opened_pptx);
    before, convert_deck opened the stored original with python-pptx and handed it to LibreOffice whole,
    so the skipped member was inflated by both."""
    import zipfile

    from figvault.ingest import slide_render
    from figvault.settings import ExtractSettings

    deck = tmp_path / "flat.pptx"
    base = zipfile.ZipFile(io.BytesIO(sample_pptx_bytes()))
    with base as zin, zipfile.ZipFile(deck, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            zout.writestr(item, zin.read(item))
        zout.writestr("ppt/media/flat.png", bytes(17 * 2**20))
    handed: list[bytes] = []

    def render_deck(data: bytes, *args: object) -> None:
        handed.append(data)
        raise slide_render.RenderError("stopped by the test")

    monkeypatch.setattr(slide_render, "render_deck", render_deck)
    with pytest.raises(RenderFailedError, match="stopped by the test"):
        sources.convert_deck(deck, "soffice", ExtractSettings())
    with zipfile.ZipFile(io.BytesIO(handed[0])) as zf:
        assert zf.getinfo("ppt/media/flat.png").file_size == 0


@pytest.mark.parametrize("count", [1_000_000, -5, 0])
def test_a_page_tree_whose_count_lies_gives_its_page_image(
    offline_settings: Settings, tmp_path: Path, count: int
) -> None:
    # Before: the worker opened the file with MuPDF itself: 'Invalid number of pages' / 'no page 1', the page
    # marked unavailable, though extraction reads it (its tree counted again, ingest/pdf_page_tree.py).
    data = page_count_pdf(tmp_path / "count.pdf", count).read_bytes()
    sources.keep(offline_settings, sha(data), data, PDF_MIME)
    png = PageImageRenderer(offline_settings).render(sha(data), 1).png
    with Image.open(io.BytesIO(png)) as image:
        assert_page_pixels(image.size, (612, 792))
        assert len(set(image.convert("L").getdata())) > 2  # the heading and the bars, not a blank page


def test_one_caller_never_warms_anothers_page_render_or_deck_conversion(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Renders and deck conversions of one document are kept per caller: whether a view is served from the
    cache (4 ms against 213 ms for a first render, seconds for a deck's conversion) told a reader that
    someone else who may see the document had viewed that page. Before (2026-12-05, eighth red-team pass)
    the second caller got the first's render and conversion. Deleting the document removes every caller's."""
    from figvault.pipeline.document_files import LeftFiles, remove_left_files

    deck, pdf = sample_pptx_bytes(), three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(deck), deck, PPTX_MIME)
    SourceStore.from_settings(offline_settings).keep(sha(pdf), pdf, PDF_MIME)
    converted: list[str] = []

    def convert(store: SourceStore, sha256: str, original: Path, settings: Settings, scope: str) -> None:
        converted.append(scope)  # any PDF stands for LibreOffice's output here
        store._store_rendering(sha256, three_page_pdf(), {1: 0, 2: 1, 3: 2}, scope)

    monkeypatch.setattr(SourceStore, "_convert_deck", convert)
    scope = page_images.document_scope("acme", "doc_x")
    ana, bo = (PageImageRenderer(offline_settings, caller=c, scope=scope) for c in ("acme\0ana", "acme\0bo"))
    for data in (pdf, deck):
        ana.render(sha(data), 2)
        assert ana.cached(sha(data), 2) is not None
        assert bo.cached(sha(data), 2) is None, "another caller's render is not this caller's"
        bo.render(sha(data), 2)
    assert len(converted) == 2 and converted[0] != converted[1], "each caller converts the deck itself"
    pages = Storage.from_settings(offline_settings).area(page_images.CACHE_AREA)
    assert pages.list(f"doc/{scope}/*/*/*.png") and sources_under(offline_settings, scope)

    remove_left_files(offline_settings, None, "acme", "doc_x", LeftFiles())  # no blobs, no original to drop
    assert pages.list(f"doc/{scope}/**") == [] and sources_under(offline_settings, scope) == []
    assert SourceStore.from_settings(offline_settings).original(sha(deck)), "the original stays"


def sources_under(settings: Settings, scope: str) -> list[str]:
    return SourceStore.from_settings(settings).storage.list(f"doc/{scope}/**")


def cached_files(settings: Settings) -> dict[str, int]:
    """Every page render and per-caller deck conversion on disk, with its size (the cache's entries)."""
    pages = Storage.from_settings(settings).area(page_images.CACHE_AREA).files()
    decks = SourceStore.from_settings(settings).storage.files("doc")
    return {key: size for key, size, _ in [*pages, *decks]}


def test_the_page_cache_keeps_to_its_bound_evicting_the_least_recently_used(
    offline_settings: Settings,
) -> None:
    """Renders are kept per document and caller, so the cache grew with callers x pages opened and nothing
    removed them but the document's deletion. Now past ``storage.page_cache_mb`` the least recently used
    render goes (a view refreshes it), and its caller's next view simply renders it again. Before
    (2026-12-05), every render stayed: ana's page 2 was still there and the cache over its bound."""
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    scope = page_images.document_scope("acme", "doc_x")
    offline_settings.storage.page_cache_mb = 0  # no bound while the pages are measured
    ana = PageImageRenderer(offline_settings, caller="acme\0ana", scope=scope)
    sizes = {n: len(ana.render(sha(data), n).png) for n in (1, 2, 3)}
    for n in (1, 2, 3):  # written in this order, a second apart
        os.utime(ana.cache_path(sha(data), n), (1_000_000 + n, 1_000_000 + n))
    assert ana.cached(sha(data), 1) is not None  # a view: page 1 is now the most recently used
    # bo's page 1 passes the bound; evicting page 2 (the least recently used) brings it under 0.9 of it
    kept = sizes[1] + sizes[3] + sizes[1]
    offline_settings.storage.page_cache_mb = (kept + sizes[2] // 2) / 2**20
    bo = PageImageRenderer(offline_settings, caller="acme\0bo", scope=scope)
    bo.render(sha(data), 1)
    PageCache.from_settings(offline_settings).settle()  # the walk runs apart from the render

    assert ana.cached(sha(data), 2) is None, "the least recently used render was evicted"
    assert ana.cached(sha(data), 1) is not None and ana.cached(sha(data), 3) is not None
    assert bo.cached(sha(data), 1) is not None
    assert sum(cached_files(offline_settings).values()) <= offline_settings.storage.page_cache_mb * 2**20
    assert len(ana.render(sha(data), 2).png) == sizes[2], "an evicted page is rendered again for its caller"


def test_a_deck_conversion_counts_in_the_cache_and_is_evicted_whole(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deck's conversion is a whole PDF per caller: it counts in the bound, and is evicted with its slide
    map (a reader that finds the PDF finds its map), then made again on its caller's next view."""
    deck = sample_pptx_bytes()
    SourceStore.from_settings(offline_settings).keep(sha(deck), deck, PPTX_MIME)
    rendering = three_page_pdf()  # any PDF stands for LibreOffice's output here
    converted: list[str] = []

    def convert(store: SourceStore, sha256: str, original: Path, settings: Settings, scope: str) -> int:
        converted.append(scope)
        store._store_rendering(sha256, rendering, {1: 0, 2: 1, 3: 2}, scope)
        return len(rendering)

    monkeypatch.setattr(SourceStore, "_convert_deck", convert)
    scope = page_images.document_scope("acme", "doc_x")
    ana = PageImageRenderer(offline_settings, caller="acme\0ana", scope=scope)
    ana.render(sha(deck), 3)
    one_caller = sum(cached_files(offline_settings).values())  # a conversion, its map and a 300 pt page
    offline_settings.storage.page_cache_mb = one_caller * 1.15 / 2**20
    bo = PageImageRenderer(offline_settings, caller="acme\0bo", scope=scope)
    bo.render(sha(deck), 3)
    PageCache.from_settings(offline_settings).settle()

    store = SourceStore.from_settings(offline_settings)
    ana_pdf, ana_map = store.rendering_keys(sha(deck), ana.prefix)
    assert not store.storage.exists(ana_pdf) and not store.storage.exists(ana_map), "evicted whole"
    assert all(store.storage.exists(k) for k in store.rendering_keys(sha(deck), bo.prefix))
    assert sum(cached_files(offline_settings).values()) <= offline_settings.storage.page_cache_mb * 2**20
    assert ana.cached(sha(deck), 3) is None
    ana.render(sha(deck), 3)
    assert converted == [ana.prefix, bo.prefix, ana.prefix], "converted again for its caller"


def test_a_render_never_waits_for_the_walk_of_every_callers_entries(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The walk that keeps the bound reads every caller's entries (about 18 us each): run inside the render
    that set it off, a caller timing its own first views learnt once a minute how many pages all others,
    of every tenant, had opened. Before (2026-12-05), the render waited for the walk: here it never
    returned while the walk was held."""
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    offline_settings.storage.page_cache_mb = 64
    walking, release = threading.Event(), threading.Event()
    walk = PageCache._entries

    def held_walk(cache: PageCache) -> Any:
        walking.set()
        release.wait(120)
        return walk(cache)

    monkeypatch.setattr(PageCache, "_entries", held_walk)
    ana = PageImageRenderer(offline_settings, caller="acme\0ana", scope="s" * 32)
    rendered: list[bytes] = []
    render = threading.Thread(target=lambda: rendered.append(ana.render(sha(data), 1).png))
    try:
        render.start()
        assert walking.wait(120), "the first write of a process walks the cache"
        render.join(60)
        assert rendered, "the render waited for the walk"
    finally:
        release.set()
        render.join(120)
        PageCache.from_settings(offline_settings).settle()


def test_an_entry_a_render_holds_is_never_evicted(offline_settings: Settings) -> None:
    data = three_page_pdf()
    SourceStore.from_settings(offline_settings).keep(sha(data), data, PDF_MIME)
    ana = PageImageRenderer(offline_settings, caller="acme\0ana", scope="s" * 32)
    ana.render(sha(data), 1)
    offline_settings.storage.page_cache_mb = 1 / 2**20  # one byte: everything is over it
    cache = PageCache.from_settings(offline_settings)
    cache.settle()  # the render's own walk (a process's first write walks): trim() skips while one runs
    with cache.holding(f"{ana.prefix}{sha(data)[:2]}/{sha(data)}"):
        cache.trim()
        assert ana.cached(sha(data), 1) is not None, "held by a render of this process"
    cache.trim()
    assert ana.cached(sha(data), 1) is None and cached_files(offline_settings) == {}


def test_deck_conversion_locks_do_not_outlive_their_use(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One conversion lock per deck and caller was made and never dropped: a dict that grew with every
    caller who opened a deck, for the process's life (before 2026-12-05: 40 entries here)."""
    deck = sample_pptx_bytes()
    store = SourceStore.from_settings(offline_settings)
    store.keep(sha(deck), deck, PPTX_MIME)

    def convert(store: SourceStore, sha256: str, original: Path, settings: Settings, scope: str) -> int:
        store._store_rendering(sha256, three_page_pdf(), {1: 0, 2: 1, 3: 2}, scope)
        return 1

    monkeypatch.setattr(SourceStore, "_convert_deck", convert)
    for n in range(40):
        store.page_source(sha(deck), offline_settings, scope=f"doc/{n:032x}/")
    assert len(sources._conversion_locks) == 0


def test_a_conversion_lock_still_makes_a_second_request_wait() -> None:
    inside, release, order = threading.Event(), threading.Event(), []

    def first() -> None:
        with sources._conversion_lock("deck"):
            inside.set()
            release.wait(5)
            order.append("first")

    def second() -> None:
        with sources._conversion_lock("deck"):
            order.append("second")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    assert inside.wait(5)
    threads[1].start()
    threads[1].join(0.2)
    assert order == [], "the second waits while the first converts"
    release.set()
    for thread in threads:
        thread.join(5)
    assert order == ["first", "second"] and sources._conversion_locks == {}
