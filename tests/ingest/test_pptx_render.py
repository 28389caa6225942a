"""LibreOffice rendering of drawn PPTX units: right slide (hidden slides counted), right crop, not blank."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from pptx.dml.color import RGBColor

from figvault.ingest.pptx import extract_pptx_units
from figvault.ingest.slide_render import SOFFICE_MISSING, find_soffice
from figvault.settings import ExtractSettings
from figvault.units import FigureKind
from tests.ingest import pptx_decks as decks

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"
)


def mean_rgb(png: bytes) -> tuple[float, ...]:
    with Image.open(io.BytesIO(png)) as img:
        return tuple(ImageStat.Stat(img.convert("RGB")).mean)


@needs_soffice
def test_diagram_after_a_hidden_slide_is_cropped_from_its_own_slide(tmp_path: Path) -> None:
    path = decks.hidden_slide_deck(tmp_path / "hidden.pptx", fill=RGBColor(0xE0, 0x10, 0x10))
    data = path.read_bytes()
    settings = ExtractSettings(libreoffice="auto", dpi=72)
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert result.warnings == []
    by_page = {f.unit.page: f for f in result.figures}
    assert set(by_page) == {2, 3}
    red, blue = by_page[3], by_page[2]
    assert red.unit.kind == FigureKind.DIAGRAM
    # 72 dpi: one pixel per point, so the PNG is the bbox's size.
    x0, y0, x1, y1 = red.unit.bbox
    assert (red.unit.width, red.unit.height) == (round(x1 - x0), round(y1 - y0))
    r, g, b = mean_rgb(red.png)
    assert r > 120 and g < 110 and b < 110, (r, g, b)  # the red boxes, not the hidden slide's blue ones
    r, g, b = mean_rgb(blue.png)
    assert b > 120 and r < 110, (r, g, b)


@needs_soffice
def test_native_chart_is_rendered_not_sketched(tmp_path: Path) -> None:
    path = decks.chart_deck(tmp_path / "chart.pptx")
    data = path.read_bytes()
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), ExtractSettings(dpi=100))
    assert result.warnings == []
    (fig,) = result.figures
    assert fig.unit.kind == FigureKind.CHART
    with Image.open(io.BytesIO(fig.png)) as img:
        gray = img.convert("L")
        assert gray.getextrema()[0] < 100  # dark text and bars on a light page
        assert img.size == ((8 * 100), (5 * 100))


def test_missing_soffice_is_reported_once_and_units_still_come(tmp_path: Path) -> None:
    path = decks.hidden_slide_deck(tmp_path / "hidden.pptx")
    data = path.read_bytes()
    settings = ExtractSettings(libreoffice=str(tmp_path / "no-such-soffice"))
    assert find_soffice(settings.libreoffice) is None
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert result.warnings == [SOFFICE_MISSING]
    assert sorted(f.unit.page for f in result.figures) == [2, 3]
    assert all(f.png.startswith(b"\x89PNG") for f in result.figures)


def fake_soffice(folder: Path, body: str) -> Path:
    script = folder / "soffice"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def test_hanging_libreoffice_is_killed_at_the_wall_backstop(tmp_path: Path) -> None:
    """A soffice that waits uses no CPU: it ends at WALL_FACTOR times extract.libreoffice_timeout_s."""
    import time

    path = decks.diagram_deck(tmp_path / "diagram.pptx")
    data = path.read_bytes()
    soffice = fake_soffice(tmp_path, "sleep 60 & sleep 60")  # a child too: the whole group must go
    settings = ExtractSettings(libreoffice=str(soffice), libreoffice_timeout_s=1)
    started = time.perf_counter()
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert time.perf_counter() - started < 30
    assert len(result.warnings) == 1 and "timed out after 10 s (wall time" in result.warnings[0]
    assert [f.unit.kind for f in result.figures] == [FigureKind.DIAGRAM]  # sketched, still there


def test_a_spinning_libreoffice_is_killed_at_its_cpu_seconds(tmp_path: Path) -> None:
    """extract.libreoffice_timeout_s counts the CPU seconds of soffice's whole process tree: four spinning
    children reach 1 CPU-s long before the 10 s wall backstop, and all four end with it."""
    path = decks.diagram_deck(tmp_path / "diagram.pptx")
    data = path.read_bytes()
    spin = "for i in 1 2 3 4; do (while :; do :; done) & done; wait"
    settings = ExtractSettings(libreoffice=str(fake_soffice(tmp_path, spin)), libreoffice_timeout_s=1)
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert len(result.warnings) == 1 and "timed out after 1 s (CPU time" in result.warnings[0]
    assert [f.unit.kind for f in result.figures] == [FigureKind.DIAGRAM]


@needs_soffice
def test_a_conversion_slowed_by_a_busy_machine_is_not_cut(tmp_path: Path) -> None:
    """A conversion waiting for the CPU (a busy machine: here a soffice that first sleeps 5 s) uses no CPU
    seconds meanwhile and is not stopped. Before, extract.libreoffice_timeout_s was wall time: this deck
    was sketched with 'LibreOffice timed out after 4 s'."""
    path = decks.diagram_deck(tmp_path / "diagram.pptx")
    data = path.read_bytes()
    slow = fake_soffice(tmp_path, f'sleep 5; exec {shutil.which("soffice")} "$@"')
    settings = ExtractSettings(libreoffice=str(slow), libreoffice_timeout_s=4, dpi=72)
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert result.warnings == []  # rendered: no sketch warning
    assert [f.unit.kind for f in result.figures] == [FigureKind.DIAGRAM]


def test_failing_libreoffice_is_a_warning_not_a_failure(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The warning is the document's, read by its uploader over HTTP: LibreOffice's stderr, which names this
    machine's temp folders and its own source files, goes to the operator's log only (before, its last
    line was the warning: ``... <file:///tmp/figvault-lo-9upw570_/deck.pdf> failed ... sfxbasemodel.cxx``)."""
    path = decks.chart_deck(tmp_path / "chart.pptx")
    data = path.read_bytes()
    said = "Error: impl_store <file:///tmp/figvault-lo-x1/deck.pdf> failed at ./sfx2/model.cxx:3207"
    soffice = fake_soffice(tmp_path, f"echo '{said}' >&2; exit 1")
    result = extract_pptx_units(
        path, data, hashlib.sha256(data).hexdigest(), ExtractSettings(libreoffice=str(soffice))
    )
    assert len(result.warnings) == 1 and "could not convert the deck (exit code 1)" in result.warnings[0]
    assert "/tmp/" not in result.warnings[0] and ".cxx" not in result.warnings[0]
    assert "figvault-lo-x1" in caplog.text  # the operator still reads why
    assert [f.unit.kind for f in result.figures] == [FigureKind.CHART]
