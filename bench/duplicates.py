"""Near-duplicate collapsing (search.collapse_duplicates) on a stored data folder: quality and cost.

Runs every question once to fill the question-vector cache (so encoding is not what is timed), then twice
in one process, collapsing off and on, interleaved with the order alternating per question so both see the
same machine load and neither always goes first; prints:

- quality, figure level: recall@1/5/10 and MRR with collapsing off and on. "strict" counts only the shown
  hit (the answer or a copy the question lists in ``also``); "with also_in" also counts a collapsed copy
  (the evaluator's rule, retrieval/evaluation.py);
- what collapsing did: questions with a collapsed group in their top 10, copies moved into ``also_in``,
  distinct figures in the top 10;
- cost: p50 / p95 of the search's total ms and the mean of its fetch and collapse steps.

    .venv/bin/python bench/duplicates.py --data-dir DIR QUESTIONS.jsonl [--config offline] [--top-k 10]

The data folder needs hashes for the hash rule (a folder from before them is measured with the vector
fallback; ``figvault reencode`` adds them). Record ``uptime`` with the numbers: the machine is shared.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from percentiles import percentile  # noqa: E402

from figvault.access import local_operator  # noqa: E402
from figvault.retrieval.evaluation import (  # noqa: E402
    EvalQuery,
    first_hit_rank,
    is_hit,
    load_queries,
    rank_metrics,
)
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.search_models import SearchHit, SearchRequest  # noqa: E402
from figvault.settings import load_settings  # noqa: E402


def strict_rank(query: EvalQuery, hits: list[SearchHit]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if is_hit(query, hit.doc, hit.page, hit.label, hit.bbox):
            return rank
    return None


def metrics_cells(ranks: list[int | None]) -> str:
    """R@k for each of ``CUTOFFS`` and MRR, as table cells."""
    return " | ".join(f"{v:.3f}" for v in rank_metrics(ranks).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("questions", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--config", default="offline")
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    logging.getLogger("pymilvus").setLevel(logging.ERROR)

    settings = load_settings(args.config, data_dir=args.data_dir)
    engine = SearchEngine.from_settings(settings)
    queries = [q for q in load_queries(args.questions) if q.doc is not None]
    operator = local_operator()
    ranks: dict[bool, dict[str, list[int | None]]] = {m: {"strict": [], "also": []} for m in (False, True)}
    totals: dict[bool, list[float]] = {False: [], True: []}
    steps: dict[bool, dict[str, list[float]]] = {False: {}, True: {}}
    collapsed_questions = moved = 0
    distinct: dict[bool, list[int]] = {False: [], True: []}
    for query in queries:  # fills the question cache: the timed searches do not encode
        engine.search(operator, SearchRequest(query=query.query, top_k=args.top_k, rerank=False))
    started = time.perf_counter()
    for number, query in enumerate(queries):
        for mode in (False, True) if number % 2 == 0 else (True, False):
            settings.search.collapse_duplicates = mode
            response = engine.search(
                operator, SearchRequest(query=query.query, top_k=args.top_k, rerank=False)
            )
            hits = response.results
            ranks[mode]["strict"].append(strict_rank(query, hits))
            ranks[mode]["also"].append(first_hit_rank(query, hits))
            totals[mode].append(response.timings.get("total", 0.0))
            for step in ("recall", "fetch", "collapse"):
                steps[mode].setdefault(step, []).append(response.timings.get(step, 0.0))
            distinct[mode].append(len(hits))
            if mode:
                copies = sum(len(h.also_in) for h in hits)
                collapsed_questions += int(copies > 0)
                moved += copies
    seconds = time.perf_counter() - started

    print(
        f"\n{len(queries)} questions from {args.questions.name}, data folder {args.data_dir}, k {args.top_k}"
    )
    print("\n| collapsing | counted | R@1 | R@5 | R@10 | MRR |\n| --- | --- | --- | --- | --- | --- |")
    for mode in (False, True):
        for counted, label in (("strict", "shown hit"), ("also", "with also_in")):
            print(f"| {'on' if mode else 'off'} | {label} | {metrics_cells(ranks[mode][counted])} |")
    print(
        f"\nquestions with a collapsed group in their top {args.top_k}: {collapsed_questions} of"
        f" {len(queries)}; copies moved into also_in: {moved}"
    )
    print("\n| collapsing | total p50 ms | total p95 ms | recall mean | fetch mean | collapse mean |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode in (False, True):
        means = [statistics.fmean(steps[mode][s]) for s in ("recall", "fetch", "collapse")]
        p50, p95 = percentile(totals[mode], 50, empty=0.0), percentile(totals[mode], 95, empty=0.0)
        cells = "".join(f" | {m:.1f}" for m in means)
        print(f"| {'on' if mode else 'off'} | {p50:.1f} | {p95:.1f}{cells} |")
    print(f"\n{2 * len(queries)} searches in {seconds:.0f} s")


if __name__ == "__main__":
    main()
