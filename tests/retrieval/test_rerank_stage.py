"""rerank_hits: images from the blob store, order by P(yes), top_k, no_match by threshold."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figvault.encoders.reranker import RerankItem, load_reranker
from figvault.retrieval.rerank_stage import rerank_hits
from figvault.search_models import SearchHit
from figvault.settings import RerankerSettings
from figvault.storage import BlobStore

QUERY = "Which chart shows revenue by region?"


def png(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    size = (int(rng.integers(60, 240)), int(rng.integers(60, 240)), 3)
    buffer = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, size, dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def make_hits(blobs: BlobStore, n: int) -> list[SearchHit]:
    hits = []
    for i in range(n):
        key = blobs.put(png(i))
        fused = 1.0 - i / n  # recall order: unit-0 first
        hits.append(
            SearchHit(
                unit_id=f"unit-{i}",
                doc_id="doc",
                doc="report.pdf",
                page=i + 1,
                page_size=(612.0, 792.0),
                bbox=(0.0, 0.0, 100.0, 100.0),
                kind="chart",
                label=None,
                caption=f"Figure {i}: revenue " * (1 + i % 3),
                context="context " * i,
                image=key,
                score=fused,
                fused_score=fused,
            )
        )
    return hits


@pytest.fixture
def reranker(tiny_qwen2_vl: Path):
    return load_reranker(RerankerSettings(model=str(tiny_qwen2_vl), quantization="none", batch_size=4))


def test_rerank_orders_hits_as_the_scores_say(reranker, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    hits = make_hits(blobs, 9)
    expected_scores = reranker.score(
        QUERY,
        [RerankItem(Image.open(blobs.path(h.image)).convert("RGB"), h.caption, h.context) for h in hits],
    )
    expected_order = [hits[i].unit_id for i in np.argsort(expected_scores, kind="stable")[::-1]]
    assert expected_order != [h.unit_id for h in hits], "scores keep recall order: test has no power"

    kept, no_match, timings = rerank_hits(reranker, QUERY, hits, blobs, top_k=5, threshold=0.0, explain=False)

    assert [h.unit_id for h in kept] == expected_order[:5]
    by_id = {h.unit_id: s for h, s in zip(make_hits(blobs, 9), expected_scores, strict=True)}
    for hit in kept:
        assert hit.rerank_score == pytest.approx(by_id[hit.unit_id], abs=1e-4)
        assert hit.score == hit.rerank_score
        assert hit.fused_score != hit.score
    assert no_match is False
    assert {"rerank", "rerank_load_images", "rerank_model", "rerank_preprocess"} <= timings.keys()
    assert timings["rerank"] >= timings["rerank_load_images"]


def test_no_match_when_best_score_is_below_threshold(reranker, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    kept, _, _ = rerank_hits(
        reranker, QUERY, make_hits(blobs, 4), blobs, top_k=4, threshold=0.0, explain=False
    )
    best = kept[0].rerank_score
    assert best is not None
    _, above, _ = rerank_hits(
        reranker, QUERY, make_hits(blobs, 4), blobs, 4, threshold=best + 1e-3, explain=False
    )
    _, below, _ = rerank_hits(
        reranker, QUERY, make_hits(blobs, 4), blobs, 4, threshold=best - 1e-3, explain=False
    )
    assert above is True and below is False
    assert rerank_hits(reranker, QUERY, [], blobs, 4, 0.2, explain=False)[:2] == ([], True)


def test_unreadable_image_goes_last_without_failing(reranker, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    hits = make_hits(blobs, 4)
    hits[0].image = "0" * 64  # a well-formed key with no blob
    broken_key = blobs.put(b"not a png at all")
    hits[1].image = broken_key
    kept, no_match, _ = rerank_hits(reranker, QUERY, hits, blobs, top_k=4, threshold=0.0, explain=False)
    assert [h.unit_id for h in kept[2:]] == ["unit-0", "unit-1"]
    assert kept[2].rerank_score is None and kept[2].score == 0.0
    assert all(h.rerank_score is not None for h in kept[:2])
    assert no_match is False


def test_explain_sets_a_reason_on_returned_hits_only(reranker, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    hits = make_hits(blobs, 5)
    kept, _, timings = rerank_hits(
        reranker, QUERY, hits, blobs, top_k=2, threshold=0.0, explain=True, explain_max_new_tokens=4
    )
    assert all(isinstance(h.explanation, str) for h in kept)
    assert all(h.explanation is None for h in hits if h not in kept)
    assert "rerank_explain" in timings


def test_explain_is_bounded_to_the_first_hits(reranker, tmp_path: Path) -> None:
    # One search could ask every returned hit explained (top_k up to 200; every candidate when duplicates
    # are collapsed), a generation each, while it holds a search slot: only the first few are.
    blobs = BlobStore(tmp_path / "blobs")
    kept, _, _ = rerank_hits(
        reranker,
        QUERY,
        make_hits(blobs, 5),
        blobs,
        top_k=5,
        threshold=0.0,
        explain=True,
        explain_max_new_tokens=4,
        explain_max_hits=2,
    )
    assert [h.explanation is not None for h in kept] == [True, True, False, False, False]


def test_a_search_asking_more_hits_explained_than_the_bound_is_told_so() -> None:
    from types import SimpleNamespace

    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest

    engine = SimpleNamespace(settings=SimpleNamespace(reranker=RerankerSettings(explain_max_hits=3)))
    cut = SearchEngine._explain_cut(engine, SearchRequest(query=QUERY, top_k=20, explain=True), True)  # type: ignore[arg-type]
    assert cut == "; explanations for the first 3 hits only (reranker.explain_max_hits)"
    assert SearchEngine._explain_cut(engine, SearchRequest(query=QUERY, top_k=3, explain=True), True) == ""  # type: ignore[arg-type]
    assert SearchEngine._explain_cut(engine, SearchRequest(query=QUERY, top_k=20), True) == ""  # type: ignore[arg-type]


def test_explanations_asked_of_a_search_without_the_reranker_are_said_missing() -> None:
    """`--explain` (or `"explain": true`) with the reranker off answered hits without explanations and no
    word why (a first-hour walk, 2026-12-05)."""
    from types import SimpleNamespace

    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest

    engine = SimpleNamespace(settings=SimpleNamespace(reranker=RerankerSettings()))
    asked = SearchRequest(query=QUERY, top_k=5, explain=True)
    assert "no explanations" in SearchEngine._explain_cut(engine, asked, False)  # type: ignore[arg-type]
    assert SearchEngine._explain_cut(engine, SearchRequest(query=QUERY, top_k=5), False) == ""  # type: ignore[arg-type]
    assert SearchEngine._explain_cut(engine, asked, True) == ""  # type: ignore[arg-type]
