"""Small generated files that are hostile to extraction: cheap to make, expensive (or endless) to read.

- ``path_ops_pdf``: one page with a long run of path operators (tens of thousands of tiny strokes);
- ``overlapping_segments_pdf``: pages whose line segments all overlap one another (the worst case of
  clustering drawings by box overlap).
Both are a few hundred KB at most: the cost is in the content stream, not the bytes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pymupdf


def _pdf_with_streams(path: Path, streams: list[bytes]) -> Path:
    doc = pymupdf.open()
    for stream in streams:
        page = doc.new_page(width=595, height=842)
        page.insert_text((72, 60), "Figure 1: a drawing", fontsize=10)
        xref = page.get_contents()[0]
        doc.update_stream(xref, doc.xref_stream(xref) + b"\n" + stream)
    doc.save(path, deflate=True, garbage=0)
    doc.close()
    return path


def path_ops_pdf(path: Path, n_ops: int, seed: int = 0) -> Path:
    """One page with ``n_ops`` separate short strokes spread over the page."""
    rng = random.Random(seed)
    parts = [b"0.2 w"]
    for _ in range(n_ops):
        x, y = rng.uniform(80, 500), rng.uniform(100, 760)
        parts.append(b"%.1f %.1f m %.1f %.1f l S" % (x, y, x + rng.uniform(1, 6), y + rng.uniform(1, 6)))
    return _pdf_with_streams(path, [b"\n".join(parts)])


def overlapping_segments_pdf(path: Path, n_segments: int, pages: int = 1, seed: int = 0) -> Path:
    """``pages`` pages of ``n_segments`` long line segments crossing one region, each a path of its own."""
    rng = random.Random(seed)
    streams = []
    for _ in range(pages):
        parts = [b"0.3 w"]
        for _ in range(n_segments):
            x0, y0 = rng.uniform(100, 300), rng.uniform(200, 400)
            x1, y1 = rng.uniform(300, 500), rng.uniform(400, 600)
            parts.append(b"%.1f %.1f m %.1f %.1f l S" % (x0, y0, x1, y1))
        streams.append(b"\n".join(parts))
    return _pdf_with_streams(path, streams)
