"""bench/extraction.py: which documents and pages of the hand-labelled set a run scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.bench_module import load_bench


def test_pdf_only_leaves_the_new_sets_pptx_out() -> None:
    bench = load_bench("extraction")
    docs, pages = bench.new_set_part("tune")
    assert any(name.endswith(".pptx") for name in docs)  # the tune part holds the OMOP deck
    pdf_docs, pdf_pages = bench.new_set_part("tune", pdf_only=True)
    assert pdf_docs == [name for name in docs if name.endswith(".pdf")]
    assert pdf_pages == {(doc, n) for doc, n in pages if doc.endswith(".pdf")}
    assert bench._parse(["--pdf-only"]).pdf_only


def test_a_missing_distractors_folder_is_an_error_not_a_score_of_zero(tmp_path: Path) -> None:
    """From a copy of the repository elsewhere, ../shared is not beside it: every labelled document failed
    extraction and the part scored recall 0 without a word."""
    bench = load_bench("extraction")
    with pytest.raises(SystemExit, match="FIGVAULT_DISTRACTORS"):
        bench.score_new_set("tune", bench.ExtractSettings(), docs_dir=tmp_path)
