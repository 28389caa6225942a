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
from dataclasses import dataclass, field
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
from figvault.search_models import SearchHit, SearchRequest, SearchResponse  # noqa: E402
from figvault.settings import Settings, load_settings  # noqa: E402


def strict_rank(query: EvalQuery, hits: list[SearchHit]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        if is_hit(query, hit.doc, hit.page, hit.label, hit.bbox):
            return rank
    return None


def metrics_cells(ranks: list[int | None]) -> str:
    """R@k for each of ``CUTOFFS`` and MRR, as table cells."""
    return " | ".join(f"{v:.3f}" for v in rank_metrics(ranks).values())


STEPS = ("recall", "fetch", "collapse")
"""The search steps whose mean time the cost table shows."""


@dataclass
class ModeRuns:
    """The searches of one collapsing mode (off or on)."""

    ranks: dict[str, list[int | None]] = field(default_factory=lambda: {"strict": [], "also": []})
    """First-hit rank per question: ``strict`` (the shown hit) and ``also`` (copies in also_in count)."""
    totals: list[float] = field(default_factory=list)
    steps: dict[str, list[float]] = field(default_factory=dict)
    distinct: list[int] = field(default_factory=list)

    def add(self, query: EvalQuery, response: SearchResponse) -> None:
        hits = response.results
        self.ranks["strict"].append(strict_rank(query, hits))
        self.ranks["also"].append(first_hit_rank(query, hits))
        self.totals.append(response.timings.get("total", 0.0))
        for step in STEPS:
            self.steps.setdefault(step, []).append(response.timings.get(step, 0.0))
        self.distinct.append(len(hits))


@dataclass
class Measured:
    runs: dict[bool, ModeRuns] = field(default_factory=lambda: {False: ModeRuns(), True: ModeRuns()})
    collapsed_questions: int = 0
    """Questions with at least one copy moved into also_in (collapsing on)."""
    moved: int = 0
    """Copies moved into also_in, all questions together."""
    seconds: float = 0.0


def measure(engine: SearchEngine, settings: Settings, queries: list[EvalQuery], top_k: int) -> Measured:
    """Each question searched with collapsing off and on, the order alternating per question."""
    operator = local_operator()
    for query in queries:  # fills the question cache: the timed searches do not encode
        engine.search(operator, SearchRequest(query=query.query, top_k=top_k, rerank=False))
    measured = Measured()
    started = time.perf_counter()
    for number, query in enumerate(queries):
        for mode in (False, True) if number % 2 == 0 else (True, False):
            settings.search.collapse_duplicates = mode
            response = engine.search(operator, SearchRequest(query=query.query, top_k=top_k, rerank=False))
            measured.runs[mode].add(query, response)
            if mode:
                copies = sum(len(h.also_in) for h in response.results)
                measured.collapsed_questions += int(copies > 0)
                measured.moved += copies
    measured.seconds = time.perf_counter() - started
    return measured


def print_report(args: argparse.Namespace, queries: list[EvalQuery], measured: Measured) -> None:
    runs = measured.runs
    print(
        f"\n{len(queries)} questions from {args.questions.name}, data folder {args.data_dir}, k {args.top_k}"
    )
    print("\n| collapsing | counted | R@1 | R@5 | R@10 | MRR |\n| --- | --- | --- | --- | --- | --- |")
    for mode in (False, True):
        for counted, label in (("strict", "shown hit"), ("also", "with also_in")):
            print(f"| {'on' if mode else 'off'} | {label} | {metrics_cells(runs[mode].ranks[counted])} |")
    print(
        f"\nquestions with a collapsed group in their top {args.top_k}: {measured.collapsed_questions} of"
        f" {len(queries)}; copies moved into also_in: {measured.moved}"
    )
    print("\n| collapsing | total p50 ms | total p95 ms | recall mean | fetch mean | collapse mean |")
    print("| --- | --- | --- | --- | --- | --- |")
    for mode in (False, True):
        means = [statistics.fmean(runs[mode].steps[s]) for s in STEPS]
        p50, p95 = percentile(runs[mode].totals, 50, empty=0.0), percentile(runs[mode].totals, 95, empty=0.0)
        cells = "".join(f" | {m:.1f}" for m in means)
        print(f"| {'on' if mode else 'off'} | {p50:.1f} | {p95:.1f}{cells} |")
    print(f"\n{2 * len(queries)} searches in {measured.seconds:.0f} s")


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
    print_report(args, queries, measure(engine, settings, queries, args.top_k))


if __name__ == "__main__":
    main()
