"""Hostile files of the fifth pass (``hostile_fifth``): each is read or refused alone, within its bounds,
and says why it gives no unit."""

from __future__ import annotations

from pathlib import Path

import pymupdf
import pytest

from figvault.errors import ExtractionError
from figvault.ingest.extract import extract_document
from figvault.ingest.pdf_budget import ContentBudget
from figvault.settings import ExtractSettings
from tests.ingest import hostile_fifth as h5

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)
SKIPPED = "page 1: skipped, {} drawing operations (more than 4 x extract.max_page_drawing_ops = 50,000)"
OVER_BYTES = "page 1: skipped, its content decompresses past 16 MiB"


def _cost(path: Path) -> int:
    with pymupdf.open(path) as doc:
        return ContentBudget(doc, 16 * 2**20).page_cost(doc[0], 50_000).operations


def test_an_annotation_written_inline_is_counted_with_its_page(tmp_path: Path) -> None:
    # Before: an annotation inside the page's /Annots (MuPDF's xref 0) was not counted (58 operations);
    # MuPDF drew its appearance of 300,000 squares with the page: 4.0 CPU-s and 530 MB, one unit.
    page = h5.inline_annotation_pdf(tmp_path / "inline.pdf", 300_000)
    operations = _cost(page)
    assert operations >= 300_000
    result = extract_document(page, SETTINGS)
    assert result.figures == [] and result.warnings == [SKIPPED.format(f"{operations:,}")]
    small = extract_document(h5.inline_annotation_pdf(tmp_path / "small.pdf", 4), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_a_pattern_selected_inside_a_cells_form_is_counted(tmp_path: Path) -> None:
    # Before: the form a cell paints counted its own operators, not its fills with a pattern (667 for the
    # page): MuPDF read 600,000 paths as drawings, past 300 s (the worker's limit: the document lost).
    page = h5.pattern_in_cell_form_pdf(tmp_path / "cell.pdf", fills=100, inner_paths=1_000)
    operations = _cost(page)
    assert operations >= 6 * 100 * 1_000
    result = extract_document(page, SETTINGS)
    assert result.figures == [] and result.warnings == [SKIPPED.format(f"{operations:,}")]
    hatch = extract_document(h5.pattern_in_cell_form_pdf(tmp_path / "hatch.pdf", 2, 2), SETTINGS)
    assert not hatch.warnings and len(hatch.figures) == 1


@pytest.mark.parametrize("as_pattern", [False, True])
def test_a_mesh_shading_counts_its_data_against_the_page_cap(tmp_path: Path, as_pattern: bool) -> None:
    # Before: a mesh was one ``sh`` (or no operator at all, as a shading pattern); MuPDF decoded and drew
    # it at each painting: 20 million triangles (3.5 MB of file) took 19 CPU-s, 58 s of wall time at load 9.
    mesh = h5.mesh_shading_pdf(tmp_path / "mesh.pdf", 1_000_000, as_pattern)  # 24 MB of triangles
    result = extract_document(mesh, SETTINGS)
    assert result.figures == [] and result.warnings == [OVER_BYTES]
    small = extract_document(h5.mesh_shading_pdf(tmp_path / "small.pdf", 1_000, as_pattern), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_a_sampled_function_counts_its_samples_against_the_page_cap(tmp_path: Path) -> None:
    # Before: a function-based shading sampling 4,000 x 4,000 RGB values (48 KB of file) was read: 0.6 CPU-s
    # and 320 MB for one, 37 CPU-s (145 s of wall time at load 14) for ten on a page.
    for stitched in (False, True):  # True: inside a stitching function written in the shading (322 MB)
        result = extract_document(h5.sampled_shading_pdf(tmp_path / "sampled.pdf", 4_000, stitched), SETTINGS)
        assert result.figures == [] and result.warnings == [OVER_BYTES]
        small = extract_document(h5.sampled_shading_pdf(tmp_path / "small.pdf", 16, stitched), SETTINGS)
        assert not small.warnings and len(small.figures) == 1


def test_a_colour_spaces_tint_transform_counts_its_samples_against_the_page_cap(tmp_path: Path) -> None:
    # Before: a Separation space whose tint transform samples 16,000,000 x 3 values (48 KB) was read
    # uncounted: 0.63 CPU-s and 321 MB for one, towards the worker's 2 GiB for a few.
    result = extract_document(h5.tint_pdf(tmp_path / "tint.pdf", 16_000_000), SETTINGS)
    assert result.figures == [] and result.warnings == [OVER_BYTES]
    small = extract_document(h5.tint_pdf(tmp_path / "small.pdf", 256), SETTINGS)
    assert not small.warnings and len(small.figures) == 1


def test_an_image_painted_many_times_counts_each_painting(tmp_path: Path) -> None:
    # Before: ``Do`` was no painting operator, so a page painting one 4 x 4 image 200,000 times (47 KB of
    # file) counted the chart's 9 operations; MuPDF listed every painting: 8.1 CPU-s and 456 MB (30 s of
    # wall time at load 18), and about 1.6 KB more a painting towards the worker's 2 GiB.
    page = h5.image_flood_pdf(tmp_path / "images.pdf", 60_000)
    operations = _cost(page)
    assert operations >= 60_000
    result = extract_document(page, SETTINGS)
    assert len(result.figures) == 1 and result.warnings == [
        f"page 1: {operations:,} drawing operations (extract.max_page_drawing_ops = 50,000): rendered as one"
        " unit, without layout analysis"
    ]
    few = extract_document(h5.image_flood_pdf(tmp_path / "few.pdf", 20), SETTINGS)
    assert not few.warnings and len(few.figures) == 1


@pytest.mark.parametrize(
    ("encrypt", "reason"),
    [
        (b"/Filter /FooBarSecurity /V 9 /R 9", "code=7: unknown encryption handler: 'FooBarSecurity'"),
        (
            b"/Filter /Standard /V 4 /R 9 /Length 128 /O <%s> /U <%s> /P -4" % (b"00" * 32, b"00" * 32),
            "code=7: unknown crypt revision 9",
        ),
    ],
)
def test_an_encryption_mupdf_cannot_decrypt_says_so(tmp_path: Path, encrypt: bytes, reason: str) -> None:
    # Before: "corrupt PDF: Failed to open stream" (PyMuPDF's words; MuPDF's reason was in the cause).
    path = h5.odd_encryption_pdf(tmp_path / "odd.pdf", encrypt)
    with pytest.raises(ExtractionError) as failed:
        extract_document(path, SETTINGS)
    assert str(failed.value) == f"encrypted PDF that cannot be decrypted ({reason})"


def test_a_pdf_mupdf_cannot_open_gives_mupdfs_reason(tmp_path: Path) -> None:
    path = tmp_path / "garbage.pdf"
    path.write_bytes(b"%PDF-1.4\n" + b"\x00\xff" * 300)
    with pytest.raises(ExtractionError) as failed:
        extract_document(path, SETTINGS)
    assert str(failed.value).startswith("corrupt PDF: ") and "Failed to open stream" not in str(failed.value)
