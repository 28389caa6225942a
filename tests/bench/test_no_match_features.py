"""The out-of-fold evaluation of bench/no_match_features.py."""

from __future__ import annotations

import numpy as np

from tests.helpers.bench_module import load_bench

no_match_features = load_bench("no_match_features")
out_of_fold, refused_and_caught = no_match_features.out_of_fold, no_match_features.refused_and_caught
fold_assignment = load_bench("tune_retrieval").fold_assignment


def test_threshold_refuses_at_most_the_allowed_share_of_answerable() -> None:
    probs = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.15, 0.35])
    y = np.array([1] * 10 + [0, 0])
    # 10% of 10 answerable: the lowest (0.1) may be refused, so the threshold is 0.2
    assert refused_and_caught(probs, y, 0.10) == (0.1, 0.5)
    assert refused_and_caught(probs, y, 0.0) == (0.0, 0.0)


def test_a_feature_that_separates_the_classes_catches_every_unanswerable_out_of_fold() -> None:
    rng = np.random.default_rng(0)
    y = np.array([1] * 40 + [0] * 10)
    rows = [{"signal": float(label) + rng.uniform(-0.3, 0.3), "noise": rng.uniform()} for label in y]
    # the threshold is the highest the rule allows: 2 of 40 answerable (5%) refused, every unanswerable caught
    assert out_of_fold(rows, y, ["signal"], folds=5, shuffles=2, max_refused=0.05) == (0.05, 1.0)
    refused, caught = out_of_fold(rows, y, ["noise"], folds=5, shuffles=2, max_refused=0.05)
    assert refused <= 0.05 and caught < 0.5


def test_folds_by_document_hold_each_document_out_whole() -> None:
    groups = [f"doc{i % 7}" for i in range(60)] + ["big"] * 12
    for seed in range(3):
        folds = fold_assignment(len(groups), seed, 5, groups)
        by_group: dict[str, set[int]] = {}
        for group, fold in zip(groups, folds, strict=True):
            by_group.setdefault(group, set()).add(fold)
        assert all(len(f) == 1 for f in by_group.values())
        sizes = [folds.count(f) for f in range(5)]
        assert min(sizes) > 0 and max(sizes) - min(sizes) <= 12
    # without groups: the questions dealt in turn, as before the groups existed
    assert sorted(fold_assignment(10, 0, 5).count(f) for f in range(5)) == [2] * 5
