"""The shift-trained no_match evaluation of bench/no_match_shift.py."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from tests.helpers.bench_module import load_bench

shift = load_bench("no_match_shift")


def _questions(rng: np.random.Generator, drop: float) -> tuple[np.ndarray, list[str], list[dict[str, float]]]:
    """40 answerable questions over 10 documents and 20 unanswerable; ``signal`` separates them, and in the
    shifted copy (``drop`` > 0) the answerable questions of half the documents lose ``drop`` of it, as
    figures whose words were not extracted score lower."""
    y = np.array([1] * 40 + [0] * 20)
    groups = [f"doc{i % 10}" for i in range(40)] + [f"near{i % 5}" for i in range(20)]
    rows = []
    for i, label in enumerate(y):
        hit = label and i % 10 < 5
        rows.append({"signal": float(label) * (1.0 - drop * hit) + rng.uniform(-0.2, 0.2), "text": 0.5})
    return y, groups, rows


def test_a_question_is_never_scored_by_a_model_that_saw_one_of_its_copies(monkeypatch) -> None:
    y, groups, sound = _questions(np.random.default_rng(0), 0.0)
    shifted = [dict(row) for row in sound]
    fits: list[set[int]] = []
    fit = shift.fit_logistic

    def recording_fit(rows, labels, **kwargs):
        fits.append({id(row) for row in rows})
        return fit(rows, labels, **kwargs)

    monkeypatch.setattr(shift, "fit_logistic", recording_fit)
    probs = shift.pooled_oof([sound, shifted], [int(v) for v in y], groups, ["signal"], seed=0)
    assert len(fits) == 5 and all(len(p) == len(y) for p in probs)
    for seen in fits:
        held = [i for i in range(len(y)) if id(sound[i]) not in seen]
        # a question is out of a fit with both its copies, and so is every question of its document
        assert held and all(id(shifted[i]) not in seen for i in held)
        assert {groups[i] for i in held}.isdisjoint(groups[i] for i in range(len(y)) if id(sound[i]) in seen)


def test_pooling_the_shifted_copy_refuses_fewer_of_its_answerable_than_the_sound_fit() -> None:
    rng = np.random.default_rng(1)
    y, groups, sound = _questions(rng, 0.0)
    _, _, shifted = _questions(rng, 0.7)
    args = (y, groups, [sound, shifted], [sound, shifted], ["signal"])
    (sound_fit_sound, sound_fit_shifted) = shift.nested(*args, "sound", shuffles=2, max_refused=0.05)
    (pooled_sound, pooled_shifted) = shift.nested(*args, "pooled", shuffles=2, max_refused=0.05)
    assert sound_fit_sound[0] <= 0.1 and sound_fit_shifted[0] > 0.3  # the sound fit refuses the shifted half
    assert pooled_shifted[0] < sound_fit_shifted[0] / 2  # pooled: the threshold learnt the shift
    assert pooled_sound[1] < sound_fit_sound[1]  # at a price in unanswerable caught


def test_both_low_never_refuses_a_question_whose_text_cosine_is_high() -> None:
    rng = np.random.default_rng(2)
    y, groups, rows = _questions(rng, 0.0)
    rows = [
        {**row, "text": (0.9 if i % 2 else 0.2) if label else 0.2}
        for i, (row, label) in enumerate(zip(rows, y, strict=True))
    ]
    decide = shift.both_low_rule([rows], [int(v) for v in y], groups, ["signal", "text"], 0.05)
    assert not decide({"signal": -5.0, "text": 0.95})
    assert decide({"signal": -5.0, "text": 0.1})


def test_only_tuning_lines_are_read(tmp_path: Path) -> None:
    dump = tmp_path / "dump.jsonl"
    lines = [
        {"id": "q1", "size": "full", "split": "tune", "candidates": []},
        {"id": "q2", "size": "full", "split": "report", "candidates": []},
        {"id": "q3", "size": "labelled", "split": "tune", "candidates": []},
    ]
    dump.write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert list(shift.tuning_lines(dump, "full")) == ["q1"]
