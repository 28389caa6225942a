"""Client-side RRF with channel weights (the offline profile counts the lexical channel three times)."""

from __future__ import annotations

from figvault.retrieval.fusion import fuse

RANKINGS = {"text": [("a", 0.9), ("b", 0.8), ("c", 0.7)], "lexical": [("c", 9.0), ("b", 5.0), ("a", 1.0)]}


def test_equal_weights_are_milvus_rrf() -> None:
    ranked = fuse(RANKINGS, method="rrf", rrf_k=60, weights={}, limit=3)
    assert dict(ranked)["b"] == 2 / 62
    assert abs(dict(ranked)["a"] - (1 / 61 + 1 / 63)) < 1e-12


def test_a_channel_weight_scales_its_rrf_share() -> None:
    ranked = fuse(RANKINGS, method="rrf", rrf_k=10, weights={"lexical": 3.0}, limit=3)
    assert [uid for uid, _ in ranked] == ["c", "b", "a"]
    assert abs(dict(ranked)["c"] - (3 / 11 + 1 / 13)) < 1e-12
    # The text channel's first place wins when it carries the weight instead.
    assert fuse(RANKINGS, method="rrf", rrf_k=10, weights={"text": 3.0}, limit=1)[0][0] == "a"
