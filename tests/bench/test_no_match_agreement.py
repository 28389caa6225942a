"""Agreement under perturbation (bench/no_match_agreement.py) and its merge into bench/no_match_shift.py."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from figvault.retrieval.evidence import terms
from tests.helpers.bench_module import load_bench

agreement = load_bench("no_match_agreement")
shift = load_bench("no_match_shift")


def _hits(*units: str) -> list[SimpleNamespace]:
    """Hits best first; a unit ``dN-x`` lies in document ``dN``; scores 1, 0.9, 0.8, ..."""
    return [SimpleNamespace(unit_id=u, doc=u.split("-")[0], score=1.0 - k / 10) for k, u in enumerate(units)]


def test_each_content_term_is_dropped_once_and_only_it() -> None:
    question = "Which chart shows the BLAKE3 throughput per core on ARM servers?"
    asked = terms(question)
    variants = agreement.dropped_variants(question)
    assert len(variants) == len(asked) >= 4
    assert [asked - terms(v) for v in variants] == [{t} for t in sorted(asked)]
    assert all(terms(v) < asked for v in variants)  # nothing new comes in
    assert "Which" in variants[0] and "the" in variants[0]  # function words stay


def test_a_question_of_one_content_term_has_no_variant() -> None:
    assert agreement.dropped_variants("the BLAKE3 chart") == []


def test_a_steady_top_reads_steadier_than_one_that_jumps() -> None:
    top = _hits("d1-a", "d1-b", "d2-a", "d3-a", "d4-a")
    steady = agreement.drop_features(top, [_hits("d1-a", "d2-a", "d1-b"), _hits("d1-a", "d1-b")])
    jumpy = agreement.drop_features(top, [_hits("d5-a", "d6-a"), _hits("d1-b", "d7-a", "d1-a")])
    assert steady["drop: top unit kept"] == 1.0 and jumpy["drop: top unit kept"] == 0.0
    assert jumpy["drop: top document kept"] == pytest.approx(0.5)  # d1-b keeps the document
    assert steady["drop: worst reciprocal rank of the top"] == 1.0
    assert jumpy["drop: worst reciprocal rank of the top"] == 0.0  # gone from the first variant
    assert jumpy["drop: mean reciprocal rank of the top"] == pytest.approx(1 / 6)
    assert steady["drop: the top's margin"] > 0 > jumpy["drop: the top's margin"]
    assert steady["drop: top-5 overlap"] > jumpy["drop: top-5 overlap"]


def test_the_tuning_half_alone_is_read_and_merged(tmp_path: Path) -> None:
    dump = tmp_path / "sound.jsonl"
    lines = [
        {"id": "q1", "size": "full", "split": "tune"},
        {"id": "q2", "size": "full", "split": "report"},
        {"id": "q1", "size": "labelled", "split": "tune"},
    ]
    dump.write_text("".join(json.dumps(x) + "\n" for x in lines))
    assert [x["id"] for x in agreement.tuning_questions(dump, "full")] == ["q1"]
    sidecar = agreement.agreement_path(dump)
    assert sidecar.parent == tmp_path and sidecar != dump
    sidecar.write_text(
        json.dumps({"size": "full", "id": "q1", "features": {"drop: top unit kept": 0.25}})
        + "\n"
        + json.dumps({"size": "labelled", "id": "q1", "features": {"drop: top unit kept": 0.75}})
        + "\n"
    )
    rows: dict[str, dict[str, float]] = {"q1": {"text": 0.5}}
    shift.with_agreement(dump, "full", rows)
    assert rows == {"q1": {"text": 0.5, "drop: top unit kept": 0.25}}
