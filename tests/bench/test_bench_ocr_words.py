"""bench/ocr_words.py: generated pictures carry their words; recall counts the words a read finds."""

from __future__ import annotations

import pytest

from tests.helpers.bench_module import load_bench
from tests.ingest.test_ocr import needs_tesseract


def test_pictures_are_seeded_and_carry_their_words() -> None:
    images = load_bench("ocr_images")
    first, again = images.pictures(6), images.pictures(6)
    assert [p.words for p in first] == [p.words for p in again]
    assert {p.kind for p in first} == set(images.KINDS)
    assert all(p.words and all(7 <= px <= 30 for _, px in p.words) for p in first)


@needs_tesseract
def test_synthetic_recall_row(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench("ocr_words")
    assert bench.synthetic(2, ["default", "no_enlarge"], None) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| default")]
    recall = float(rows[0].split("|")[2])
    assert 0.5 < recall <= 1.0  # a diagram and a flow chart, box labels 9-24 px: most words read


def test_tokens_split_as_a_search_does() -> None:
    bench = load_bench("ocr_words")
    assert bench.tokens("kube-proxy ZeRO-Offload S3 a1") == {"kube", "proxy", "zero", "offload"}


@needs_tesseract
def test_a_variant_of_a_constant_reaches_the_read() -> None:
    """The reads run in a helper forked from the bench's process: a variant that changes one of ocr's
    constants must restart it (before, ``no_enlarge`` read what ``default`` read: the helper kept
    SMALL_TEXT_PX). 9 px type reads "replication" only enlarged (tests/ingest/test_ocr.py)."""
    import io

    from PIL import Image

    from tests.ingest.test_ocr import small_text_picture

    bench = load_bench("ocr_words")
    image = Image.open(io.BytesIO(small_text_picture())).convert("RGB")
    words = {
        name: bench.tokens(bench.ocr.lines_text(bench.VARIANTS[name](image)))
        for name in ("default", "no_enlarge")
    }
    assert "replication" in words["default"]
    assert "replication" not in words["no_enlarge"]
    assert "replication" in bench.tokens(bench.ocr.lines_text(bench.VARIANTS["default"](image)))  # and back
