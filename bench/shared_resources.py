"""Extraction time of long reports whose pages share one /Resources dictionary; prints a table.

    .venv/bin/python bench/shared_resources.py [--pages 200 400 1000] [--sizes same distinct] [--out DIR]

Some producers write one resource dictionary for the whole file, which every page names: each page's
resources then hold every image of the document. Each generated page draws two photographs (120 x 90
pixels when ``same``, as one camera's; of varied sizes when ``distinct``) with a caption under each, so a
report of N pages has 2N figures. CPU seconds of ``extract_document`` in this process (OCR off), per
file; docs/extraction.md ("How a page is read") has the numbers before and after ``ingest/page_resources.py``.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import zlib
from pathlib import Path

from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings

PAGE_SIZE = (595, 842)


def _image(number: int, same: bool) -> bytes:
    """An image XObject: white, with five coloured blocks placed by ``number``."""
    width, height = (120, 90) if same else (100 + number % 97, 80 + number // 97 % 50)
    rng = random.Random(number)
    pixels = bytearray(b"\xff" * (width * height * 3))
    for _ in range(5):
        colour = bytes(rng.randrange(256) for _ in range(3))
        x0, y0 = rng.randrange(width - 20), rng.randrange(height - 20)
        x1 = min(width, x0 + 15 + rng.randrange(25))
        for y in range(y0, min(height, y0 + 15 + rng.randrange(20))):
            pixels[(y * width + x0) * 3 : (y * width + x1) * 3] = colour * (x1 - x0)
    data = zlib.compress(bytes(pixels))
    head = (
        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB"
        f" /BitsPerComponent 8 /Filter /FlateDecode /Length {len(data)} >>\nstream\n"
    )
    return head.encode() + data + b"\nendstream"


def shared_resources_pdf(path: Path, pages: int, same: bool) -> Path:
    """Write the report (objects numbered by hand: PyMuPDF gives each page a dictionary of its own)."""
    objects: dict[int, bytes] = {3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"}
    first_image, first_page = 5, 5 + 2 * pages
    for number in range(2 * pages):
        objects[first_image + number] = _image(number, same)
    names = " ".join(f"/Im{n} {first_image + n} 0 R" for n in range(2 * pages))
    objects[4] = f"<< /Font << /F1 3 0 R >> /XObject << {names} >> >>".encode()
    kids = []
    for page in range(pages):
        page_ref, content_ref = first_page + 2 * page, first_page + 2 * page + 1
        kids.append(f"{page_ref} 0 R")
        ops = [f"BT /F1 8 Tf 50 815 Td (Annual report, page {page + 1}) Tj ET"]
        for k in range(2):
            y = 560 - 360 * k
            ops.append(f"q 300 0 0 225 100 {y} cm /Im{2 * page + k} Do Q")
            caption = f"Figure {2 * page + k + 1}. Site photograph {k + 1} of district {page + 1}."
            ops.append(f"BT /F1 9 Tf 100 {y - 15} Td ({caption}) Tj ET")
        content = "\n".join(ops).encode()
        objects[content_ref] = f"<< /Length {len(content)} >>\nstream\n".encode() + content + b"\nendstream"
        objects[page_ref] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {PAGE_SIZE[0]} {PAGE_SIZE[1]}] /Resources 4 0 R"
            f" /Contents {content_ref} 0 R >>"
        ).encode()
    objects[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objects[2] = f"<< /Type /Pages /Count {pages} /Kids [{' '.join(kids)}] >>".encode()
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    table = len(out)
    out += f"xref\n0 {max(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{offsets[n]:010d} 00000 n \n" for n in range(1, max(objects) + 1)).encode()
    out += f"trailer\n<< /Size {max(objects) + 1} /Root 1 0 R >>\nstartxref\n{table}\n%%EOF\n".encode()
    path.write_bytes(out)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[200, 400, 1000])
    parser.add_argument("--sizes", nargs="+", choices=["same", "distinct"], default=["same", "distinct"])
    parser.add_argument("--out", type=Path, default=Path("/tmp/figvault-shared-resources"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    settings = ExtractSettings(workers=1, ocr=False)
    print(f"load average {os.getloadavg()[0]:.2f}")
    print("| pages | image sizes | figures | CPU s | wall s |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for sizes in args.sizes:
        for pages in args.pages:
            path = shared_resources_pdf(args.out / f"shared-{sizes}-{pages}.pdf", pages, sizes == "same")
            cpu, wall = time.process_time(), time.perf_counter()
            extraction = extract_document(path, settings)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            print(f"| {pages} | {sizes} | {len(extraction.figures)} | {cpu:.1f} | {wall:.1f} |", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
