"""Extraction time of one page holding hundreds of small figures; prints a table.

    .venv/bin/python bench/dense_pages.py [--counts 50 200 500 1000] [--kinds charts thumbs]
        [--captions yes no] [--old PKG_DIR] [--out DIR]

Each generated document is one page with N small figures in a grid (the page grows with N, a poster or a
catalogue sheet): vector bar charts (axes, 8 bars, tick labels) or raster thumbnails (a distinct 64 x 48
pixel picture each), with or without a short caption under each ("Figure 12: panel 11."). Each file is
extracted in a child process (OCR off) and its CPU seconds and units are printed; with ``--old`` the same
file is also extracted by the code in PKG_DIR (a directory holding a ``figvault`` package, e.g. a copy of
an earlier commit's source), in the same run, so the ratio holds at the load of the moment.
docs/extraction.md ("Pages with hundreds of figures") has the numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pymupdf

CELL = (70.0, 64.0)
"""A figure's cell on the page (points): a 60 x 48 pt chart or picture, its caption under it."""
MARGIN = 36.0
CHILD = """
import json, sys, time
from pathlib import Path
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings
cpu = time.process_time()
extraction = extract_document(Path(sys.argv[1]), ExtractSettings(workers=1, ocr=False))
print(json.dumps({"cpu": time.process_time() - cpu, "units": len(extraction.figures)}))
"""


def _thumbnail(seed: int) -> bytes:
    """A 64 x 48 PNG: white with six coloured blocks placed by ``seed`` (every thumbnail distinct)."""
    rng = random.Random(seed)
    pix = pymupdf.Pixmap(pymupdf.csRGB, pymupdf.IRect(0, 0, 64, 48), False)
    pix.clear_with(255)
    for _ in range(6):
        x, y = rng.randrange(44), rng.randrange(28)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        pix.set_rect(pymupdf.IRect(x, y, x + 8 + rng.randrange(20), y + 8 + rng.randrange(20)), colour)
    return pix.tobytes("png")


def _chart(shape: pymupdf.Shape, rect: pymupdf.Rect, rng: random.Random) -> None:
    """A small bar chart: two axes, 8 bars, 4 year labels under them."""
    x0, y0, x1, y1 = rect
    shape.draw_line((x0 + 8, y1 - 8), (x1, y1 - 8))
    shape.draw_line((x0 + 8, y0), (x0 + 8, y1 - 8))
    shape.finish(color=(0, 0, 0), width=0.5)
    step = (x1 - x0 - 12) / 8
    for i in range(8):
        height = rng.uniform(0.2, 0.9) * (y1 - y0 - 10)
        left = x0 + 10 + i * step
        shape.draw_rect(pymupdf.Rect(left, y1 - 8 - height, left + 0.7 * step, y1 - 8))
        shape.finish(fill=(0.2, 0.4, 0.8), color=None)
    for i in range(0, 8, 2):
        shape.insert_text((x0 + 10 + i * step, y1 - 1), str(2010 + i), fontsize=4)


def dense_pdf(path: Path, count: int, kind: str, captions: bool) -> Path:
    """One page of ``count`` figures of ``kind`` ("charts" or "thumbs") in a grid."""
    cols = math.ceil(math.sqrt(count))
    rows = math.ceil(count / cols)
    doc = pymupdf.open()
    page = doc.new_page(width=2 * MARGIN + cols * CELL[0], height=2 * MARGIN + rows * CELL[1])
    rng = random.Random(count)
    shape = page.new_shape()  # one shape, committed once: a commit per figure rewrites the page each time
    for i in range(count):
        x, y = MARGIN + (i % cols) * CELL[0], MARGIN + (i // cols) * CELL[1]
        rect = pymupdf.Rect(x + 5, y + 2, x + CELL[0] - 5, y + 50)
        if kind == "thumbs":
            page.insert_image(rect, stream=_thumbnail(i))
        else:
            _chart(shape, rect, rng)
        if captions:
            shape.insert_text((rect.x0, rect.y1 + 7), f"Figure {i + 1}: panel {i}.", fontsize=5)
    shape.commit()
    doc.save(path, garbage=1, deflate=True)
    return path


def extract_in_child(path: Path, package_dir: Path | None) -> dict[str, float]:
    """CPU seconds and units of one extraction, run in a child process by the figvault of ``package_dir``
    (None: this process's own)."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    if package_dir is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(package_dir), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", type=int, nargs="+", default=[50, 200, 500, 1000])
    parser.add_argument("--kinds", nargs="+", choices=["charts", "thumbs"], default=["charts", "thumbs"])
    parser.add_argument("--captions", nargs="+", choices=["yes", "no"], default=["yes", "no"])
    parser.add_argument("--old", type=Path, help="a directory holding the figvault package to compare")
    parser.add_argument("--out", type=Path, default=Path("/tmp/figvault-dense-pages"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print(
        "| figures per page | kind | captions | CPU s old | CPU s new | old / new | units old | units new |"
    )
    print("| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in args.kinds:
        for captions in args.captions:
            for count in args.counts:
                path = dense_pdf(
                    args.out / f"dense-{kind}-{captions}-{count}.pdf", count, kind, captions == "yes"
                )
                old = extract_in_child(path, args.old) if args.old else None
                new = extract_in_child(path, None)
                cpu_old = f"{old['cpu']:.1f}" if old else "-"
                ratio = f"{old['cpu'] / new['cpu']:.1f}" if old else "-"
                units_old = str(old["units"]) if old else "-"
                print(
                    f"| {count} | {kind} | {captions} | {cpu_old} | {new['cpu']:.1f} | {ratio} | {units_old}"
                    f" | {new['units']} |",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
