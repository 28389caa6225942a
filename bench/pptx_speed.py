"""PPTX extraction speed on the corpus decks, with and without LibreOffice rendering; prints a table.

    .venv/bin/python bench/pptx_speed.py [--corpus DIR]

Slides/s are reported three ways: with LibreOffice (total wall time), the same run minus the LibreOffice
conversion time, and with LibreOffice off (units sketched). Quality is bench/extraction.py's job.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

# Imported before timing: measure extraction, not module loading.
import pptx  # noqa: F401
import pymupdf  # noqa: F401

from figvault.ingest import slide_render
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings

DECKS = (
    "alz-networking-diagrams.pptx",
    "alz-process-visuals.pptx",
    "raft-user-study-2013.pptx",
    "waf-review-template.pptx",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_corpus = Path(__file__).resolve().parents[2] / "shared" / "corpus"
    parser.add_argument("--corpus", type=Path, default=default_corpus)
    args = parser.parse_args()

    libreoffice_seconds = 0.0
    render = slide_render.render_deck

    def timed_render(*a: object, **k: object) -> slide_render.RenderedDeck:
        nonlocal libreoffice_seconds
        deck = render(*a, **k)  # type: ignore[arg-type]
        libreoffice_seconds += deck.seconds
        return deck

    slide_render.render_deck = timed_render  # type: ignore[assignment]
    print(f"{'libreoffice':12} {'deck':32} {'slides':>6} {'units':>5} {'seconds':>8}")
    for mode in ("auto", "off"):
        libreoffice_seconds, total, slides = 0.0, 0.0, 0
        for name in DECKS:
            started = time.perf_counter()
            result = extract_document(args.corpus / "docs" / name, ExtractSettings(libreoffice=mode))
            seconds = time.perf_counter() - started
            total += seconds
            slides += result.meta.pages
            print(f"{mode:12} {name:32} {result.meta.pages:6} {len(result.figures):5} {seconds:8.2f}")
        rest = total - libreoffice_seconds
        print(
            f"{mode:12} {'TOTAL':32} {slides:6} {'':5} {total:8.2f}   {slides / total:.1f} slides/s;"
            f" LibreOffice {libreoffice_seconds:.1f} s; without it {slides / rest:.1f} slides/s"
        )


if __name__ == "__main__":
    main()
