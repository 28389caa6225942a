"""PDFs whose structure is hostile (a page tree of 100,000 pages, a cycle, one node referenced 100,000
times; an image claiming 60,000 x 60,000 pixels) each end alone, with a reason, within the worker's
limits, and the batch goes on to the good file after them."""

from __future__ import annotations

from pathlib import Path

from figvault.pipeline.extract_worker import extract_many
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.ingest.hostile_docs import huge_image_pdf, page_tree_pdf

LIMIT_S = 10


def test_hostile_structures_fail_alone_and_the_batch_goes_on(tmp_path: Path) -> None:
    trees = {kind: page_tree_pdf(tmp_path / f"{kind}.pdf", kind) for kind in ("many", "cycle", "dag")}
    images = {codec: huge_image_pdf(tmp_path / f"{codec}.pdf", codec) for codec in ("flate", "jbig2")}
    good = figure_pdf(tmp_path / "good.pdf", seed=7)
    assert max(p.stat().st_size for p in [*trees.values(), *images.values()]) < 12 * 2**20

    settings = ExtractSettings(workers=1, doc_timeout_s=LIMIT_S)
    results = dict(extract_many([*trees.values(), *images.values(), good], settings))

    many = results[trees["many"]]  # on a fast machine it may finish: then it was read within the limit
    assert not isinstance(many, str) or f"longer than {LIMIT_S} s" in many
    assert "cycle in page tree" in str(results[trees["cycle"]])
    assert "number of pages" in str(results[trees["dag"]])
    for path in images.values():  # the picture is skipped, nothing else is on the page
        assert results[path].extraction.figures == []  # type: ignore[union-attr]
    assert len(results[good].extraction.figures) == 2  # type: ignore[union-attr]
