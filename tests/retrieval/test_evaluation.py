"""The evaluator: which result is the answer (doc, page, label, box), the splits, the committed split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from figvault.errors import FigvaultError
from figvault.retrieval.evaluation import (
    EvalQuery,
    EvalResult,
    first_hit_rank,
    load_queries,
    rank_metrics,
    select_split,
)
from figvault.search_models import SearchHit, SearchResponse


def hit(doc: str, page: int, bbox: tuple[float, float, float, float], label: str | None = None) -> SearchHit:
    return SearchHit(
        unit_id=f"{doc}-{page}-{bbox[0]}",
        doc_id=doc,
        doc=doc,
        page=page,
        page_size=(600.0, 800.0),
        bbox=bbox,
        kind="raster",
        label=label,
        caption="",
        image="",
        score=0.5,
        fused_score=0.5,
    )


LEFT = (10.0, 100.0, 290.0, 400.0)
RIGHT = (310.0, 100.0, 590.0, 400.0)


def test_bbox_picks_the_right_figure_among_unlabelled_neighbours() -> None:
    query = EvalQuery(id="a", query="right chart", doc="deck.pdf", page=3, bbox=(305.0, 95.0, 595.0, 405.0))
    results = [hit("deck.pdf", 3, LEFT), hit("deck.pdf", 3, RIGHT)]
    assert first_hit_rank(query, results) == 2
    # Without a box, any unit of the page is the answer (the old rule, kept for such questions).
    assert first_hit_rank(query.model_copy(update={"bbox": None}), results) == 1


def test_bbox_overlap_threshold() -> None:
    query = EvalQuery(id="a", query="q", doc="d.pdf", page=1, bbox=(0.0, 0.0, 100.0, 100.0))
    # IoU 0.5 counts, IoU about 0.33 does not.
    assert first_hit_rank(query, [hit("d.pdf", 1, (0.0, 0.0, 100.0, 50.0))]) == 1
    assert first_hit_rank(query, [hit("d.pdf", 1, (50.0, 0.0, 150.0, 100.0))]) is None
    assert first_hit_rank(query, [hit("d.pdf", 2, (0.0, 0.0, 100.0, 100.0))]) is None


def test_label_and_bbox_must_both_hold() -> None:
    query = EvalQuery(id="a", query="q", doc="d.pdf", page=1, label="Figure 2", bbox=LEFT)
    assert first_hit_rank(query, [hit("d.pdf", 1, LEFT, "Figure 3")]) is None
    assert first_hit_rank(query, [hit("d.pdf", 1, RIGHT, "Figure 2")]) is None
    assert first_hit_rank(query, [hit("d.pdf", 1, LEFT, "figure 2:")]) == 1


def test_queries_file_with_boxes_and_splits(tmp_path: Path) -> None:
    path = tmp_path / "q.jsonl"
    lines = [
        {
            "id": "1",
            "query": "a",
            "doc": "d.pdf",
            "page": 2,
            "bbox": [1, 2, 3, 4],
            "split": "tune",
            "note": "x",
        },
        {"id": "2", "query": "b", "doc": None, "split": "report"},
        {"id": "3", "query": "c", "doc": "d.pdf", "page": 1},
    ]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    queries = load_queries(path)
    assert queries[0].bbox == (1.0, 2.0, 3.0, 4.0)
    assert [q.id for q in select_split(queries, "tune")] == ["1"]
    assert [q.id for q in select_split(queries, "report")] == ["2"]
    assert len(select_split(queries, None)) == 3

    path.write_text(json.dumps({"id": "4", "query": "d", "split": "test"}) + "\n")
    with pytest.raises(FigvaultError, match=r"q.jsonl:1: \('split',\)"):
        load_queries(path)


def test_unanswerable_questions_count_apart() -> None:
    result = EvalResult()
    answerable = EvalQuery(id="a", query="q", doc="d.pdf", page=1, bbox=LEFT)
    result.add(answerable, SearchResponse(results=[hit("d.pdf", 1, RIGHT), hit("d.pdf", 1, LEFT)]))
    result.add(EvalQuery(id="u", query="nothing"), SearchResponse(results=[], no_match=True))
    metrics = result.metrics()
    assert metrics["recall@1"] == 0.0
    assert metrics["recall@5"] == 1.0
    assert metrics["mrr"] == 0.5
    assert (metrics["unanswerable"], metrics["unanswerable_no_match"]) == (1, 1)


def test_committed_dev_split_is_what_the_seed_gives(corpus: Path) -> None:
    from bench.dev_split import SPLIT_FILE, make_split

    committed = json.loads(SPLIT_FILE.read_text())
    queries = load_queries(corpus / "dev_queries.jsonl")
    split = make_split(queries, committed["seed"])
    assert split == {"tune": committed["tune"], "report": committed["report"]}
    assert sorted(committed["tune"] + committed["report"]) == sorted(q.id for q in queries)
    # Two phrasings of one figure never sit in different halves.
    half = {qid: name for name in ("tune", "report") for qid in committed[name]}
    by_target: dict[tuple[str | None, int | None, str | None], set[str]] = {}
    for q in queries:
        by_target.setdefault((q.doc, q.page, q.label), set()).add(half[q.id])
    assert all(len(halves) == 1 for halves in by_target.values())


def test_pptx_boxes_are_given_in_emu_like_the_label_files() -> None:
    query = EvalQuery(
        id="s", query="q", doc="deck.pptx", page=2, bbox=(12700.0, 12700.0, 1270000.0, 635000.0)
    )
    assert first_hit_rank(query, [hit("deck.pptx", 2, (1.0, 1.0, 100.0, 50.0))]) == 1
    assert first_hit_rank(query, [hit("deck.pptx", 2, (200.0, 1.0, 300.0, 50.0))]) is None


def test_a_copy_listed_in_also_counts_as_the_answer() -> None:
    query = EvalQuery.model_validate(
        {
            "id": "r",
            "query": "repeated slide",
            "doc": "talk.pdf",
            "page": 10,
            "bbox": list(LEFT),
            "also": [{"doc": "talk.pdf", "page": 11, "bbox": list(LEFT)}],
        }
    )
    assert first_hit_rank(query, [hit("talk.pdf", 12, LEFT), hit("talk.pdf", 11, LEFT)]) == 2
    assert first_hit_rank(query, [hit("talk.pdf", 11, RIGHT)]) is None


def test_a_listed_copy_counts_and_so_does_a_collapsed_one() -> None:
    from figvault.search_models import DuplicateRef

    query = EvalQuery.model_validate(
        {
            "id": "c",
            "query": "q",
            "doc": "v2.pdf",
            "page": 4,
            "bbox": LEFT,
            "also": [{"doc": "v1.pdf", "page": 3}],
        }
    )
    assert first_hit_rank(query, [hit("x.pdf", 1, LEFT), hit("v1.pdf", 3, RIGHT)]) == 2  # a listed copy
    assert first_hit_rank(query, [hit("v1.pdf", 4, LEFT)]) is None  # not a listed place
    collapsed = hit("other.pdf", 9, RIGHT).model_copy(
        update={
            "also_in": [
                DuplicateRef(
                    unit_id="u", doc_id="v2", doc="v2.pdf", page=4, page_size=(600, 800), bbox=LEFT, score=0.4
                )
            ]
        }
    )
    assert first_hit_rank(query, [hit("x.pdf", 1, LEFT), collapsed]) == 2  # the answer shown as "also in"
    assert first_hit_rank(query.model_copy(update={"also": []}), [hit("v1.pdf", 3, RIGHT)]) is None


def test_rank_metrics_count_every_query_and_a_miss_as_zero() -> None:
    m = rank_metrics([1, 3, None, 7])
    assert m == {"R@1": 0.25, "R@5": 0.5, "R@10": 0.75, "MRR": (1 + 1 / 3 + 1 / 7) / 4}
    assert rank_metrics([]) == {"R@1": 0.0, "R@5": 0.0, "R@10": 0.0, "MRR": 0.0}
