"""PDFs whose structure is hostile (a page tree of 100,000 pages, a cycle, one node referenced 100,000
times; an image claiming 60,000 x 60,000 pixels) each end alone, with a reason, within the worker's
limits, and the batch goes on to the good file after them."""

from __future__ import annotations

from pathlib import Path

from figvault.pipeline.extract_worker import extract_many
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import huge_image_pdf, nested_group_pptx, page_tree_pdf

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


def test_groups_nested_deep_are_read_and_deeper_fail_alone(tmp_path: Path) -> None:
    base = decks.diagram_deck(tmp_path / "diagram.pptx").read_bytes()
    deep = nested_group_pptx(tmp_path / "deep.pptx", base, depth=200)
    deeper = nested_group_pptx(tmp_path / "deeper.pptx", base, depth=300)  # past lxml's 256 levels
    settings = ExtractSettings(workers=1, doc_timeout_s=LIMIT_S, libreoffice="off")
    results = dict(extract_many([deep, deeper, tmp_path / "diagram.pptx"], settings))
    assert len(results[deep].extraction.figures) == 1  # type: ignore[union-attr]
    assert "not a readable PPTX package" in str(results[deeper])
    assert len(results[tmp_path / "diagram.pptx"].extraction.figures) == 1  # type: ignore[union-attr]
