"""bench/labels/check_labels.py on the short queries: each ``s-<id>`` keeps its question's target and part,
the unanswerable ones are split by their seed, and the shipped file passes."""

from __future__ import annotations

from typing import Any

from tests.helpers.bench_module import load_bench

SOURCE = {"id": "c001", "query": "a written question", "doc": "raft.pdf", "page": 2, "label": "Figure 1"}


def short(qid: str, **fields: Any) -> dict[str, Any]:
    return {"id": qid, "query": "raft state machine", "doc": None, "page": None, "label": None, **fields}


def problems(rows: list[dict[str, Any]]) -> list[str]:
    check = load_bench("labels/check_labels")
    bad = check.Report()
    check.check_short_queries(rows, {"c001": {**SOURCE, "bbox": [1, 2, 3, 4], "split": "report"}}, set(), bad)
    return bad.problems


def test_a_short_query_keeps_its_question_target_and_part() -> None:
    target = {"doc": "raft.pdf", "page": 2, "label": "Figure 1", "bbox": [1, 2, 3, 4]}
    assert problems([short("s-c001", **target, split="report")]) == []
    moved = problems([short("s-c001", **{**target, "page": 3}, split="tune"), short("s-c999", split="tune")])
    assert moved == [
        "short_queries.jsonl:1: page 3, its question's is 2",
        "short_queries.jsonl:1: split 'tune', its question's is 'report'",
        "short_queries.jsonl:2: s-c999 names no question",
    ]


def test_unanswerable_short_queries_are_split_by_their_seed() -> None:
    check = load_bench("labels/check_labels")
    ids = [f"su{i:03d}" for i in range(1, 9)]
    order = list(ids)
    check.random.Random(check.SHORT_SEED).shuffle(order)
    tune = set(order[:4])
    rows = [short(q, split="tune" if q in tune else "report") for q in ids]
    assert problems(rows) == []
    rows[0]["split"] = "report" if rows[0]["split"] == "tune" else "tune"
    rows[1]["doc"] = "raft.pdf"
    assert len(problems(rows)) == 2


def test_the_shipped_short_queries_pass() -> None:
    """Against the corpus questions in the repository (the dev questions live beside it, in ../shared)."""
    check = load_bench("labels/check_labels")
    read = check.read_jsonl
    bad = check.Report()
    sources = {r["id"]: r for r in read(check.HERE / "corpus_questions.jsonl", bad)}
    rows = [r for r in read(check.HERE / check.SHORT_FILE, bad) if not r["id"].startswith("s-q")]
    check.check_short_queries(rows, sources, set(), bad)
    assert bad.problems == [] and len(rows) == 63 + 32
