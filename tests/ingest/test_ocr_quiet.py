"""Leptonica, the image library under Tesseract, printed its own errors ("Error in boxClipToRectangle: box
outside rectangle", "Error in pixScanForForeground: invalid box") to the terminal of `figvault ingest`, in
the middle of its progress lines, about pictures that were read anyway (first-hour audit, 2026-12-06).
An engine loaded by figvault sets the library's message level to none."""

from __future__ import annotations

import ctypes

import pytest

from figvault.ingest import ocr


def _loaded_leptonica() -> str:
    with open("/proc/self/maps") as maps:
        found = sorted({line.split()[-1] for line in maps if "leptonica" in line or "liblept" in line})
    assert found, "tesserocr loaded no Leptonica"
    return found[0]


def test_an_engine_loaded_here_leaves_leptonica_silent() -> None:
    pytest.importorskip("tesserocr")
    if not ocr.tessdata_dir():
        pytest.skip("no Tesseract language data")
    ocr._api("eng")
    library = ctypes.CDLL(_loaded_leptonica())
    # setMsgSeverity answers the level it replaces: the one the engine's loading left.
    assert library.setMsgSeverity(ocr.L_SEVERITY_NONE) == ocr.L_SEVERITY_NONE
