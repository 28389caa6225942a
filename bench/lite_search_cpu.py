"""What each Milvus Lite hot-path change of issue 18 saves: CPU per search in one process, same answers.

Runs ``SearchEngine.search`` from N threads on a Lite data folder (e.g. the corpus + distractors folder that
bench/http_load.py builds) under cumulative configurations, switched in the same process and alternated
round by round (A B C ..., then ... C B A) so that the machine's load hits all of them:

0. before: Lite's whole hit rows, every key read through Lite, gRPC for every call, hashes parsed per pair
1. + the search patch turns only the asked-for columns of a hit into Python objects (lite_patch.py)
2. + the row cache (row_cache.py, store.row_cache_rows)
3. + search reads in process, without Lite's gRPC hop (lite_direct.py, store.lite_direct_reads)
4. + duplicate grouping parses each hash once (duplicates.py)
5. + a filter's mask kept per segment set, not evaluated per search (lite_patch.py)
6. + the lexical top takes only the id column of its candidates and orders only the best (lexical_index.py)
7. + lexical searches read a view of the index outside the channel's lock (lexical.py), not one at a time

Each round asks every dev question with a round suffix, each configuration the same questions, with the
question cache off (every configuration encodes them).
Prints CPU ms per search (the process's CPU time, all threads, over the searches) and searches per second,
medians over rounds, and fails if any configuration's answers differ from the first one run
(``--levels 4,5``: only those two).

    .venv/bin/python bench/lite_search_cpu.py --data-dir /tmp/$USER-figvault-load/corpus-lite [--rounds 6]
        [--levels 4,5] [--threads 8] [--groups team00,team07,team13 --tenant bench]  # synthetic data
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

NAMES = [
    "before",
    "+ projected hit rows",
    "+ row cache",
    "+ direct Lite reads",
    "+ hashes parsed once",
    "+ filter masks kept",
    "+ lexical top by ids",
    "+ lexical outside lock",
]


def configurator(engine: Any) -> Callable[[int], None]:
    """A function that puts ``engine`` in configuration ``level`` (0 to 7)."""
    import numpy as np

    from figvault.phash import hash_distance
    from figvault.retrieval import duplicates, lite_direct, lite_patch
    from figvault.retrieval.lexical import LexicalChannel
    from figvault.retrieval.lexical_index import IndexView

    handler = engine.store.client._get_connection()
    direct = handler._stub
    if not isinstance(direct, lite_direct._Stub):
        raise SystemExit("the Lite reads are not in process here (versions?): nothing to compare")
    projected, parsed = lite_patch._projected_columns, duplicates._hash_distance
    kept_masks = lite_patch._filter_masks
    top = IndexView._top
    unlocked = LexicalChannel.search

    def locked(self: LexicalChannel, *args: Any) -> Any:  # before: the whole search under the lock
        with self._lock:
            return unlocked(self, *args)

    def whole_rows_top(self: IndexView, rows: Any, scores: Any, limit: int) -> list[tuple[str, float]]:
        if len(rows) > limit:  # before: every mirrored column of the tied rows taken, all of them sorted
            threshold = np.partition(scores, len(scores) - limit)[len(scores) - limit]
            rows, scores = rows[scores >= threshold], scores[scores >= threshold]
        ids = self.meta_of(rows).column(0).to_pylist() if len(rows) else []
        return sorted(zip(ids, scores.tolist(), strict=True), key=lambda p: (-p[1], p[0]))[:limit]

    def by_strings(a: Any, b: Any) -> int | None:
        return hash_distance(a.phash, b.phash)

    def evaluated(sset: Any, compiled: Any, plan: Any) -> tuple | None:
        from milvus_lite.search.indexed_filter import evaluate_segment_filter

        if compiled is None:
            return None
        return tuple(evaluate_segment_filter(seg, compiled, plan) for seg in sset.segments)

    def configure(level: int) -> None:
        lite_patch._projected_columns = projected if level >= 1 else (lambda *args: None)
        engine.store.settings.row_cache_rows = 10000 if level >= 2 else 0
        handler._stub = direct if level >= 3 else direct.wire
        duplicates._hash_distance = parsed if level >= 4 else by_strings
        lite_patch._filter_masks = kept_masks if level >= 5 else evaluated
        IndexView._top = top if level >= 6 else whole_rows_top
        LexicalChannel.search = unlocked if level >= 7 else locked  # type: ignore[method-assign]

    return configure


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--levels", default="", help="configurations to run, e.g. 4,5 (default: all)")
    parser.add_argument("--groups", default="staff", help="the caller's groups (the corpus data: staff)")
    parser.add_argument("--tenant", default="default", help="the caller's tenant (synthetic data: bench)")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from figvault.access import Principal
    from figvault.encoders.questions import VectorCache
    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest
    from figvault.settings import load_settings

    settings = load_settings("offline", data_dir=args.data_dir)
    engine = SearchEngine.from_settings(settings, serve_recorded=True)
    engine.warm_up()
    # Every configuration asks the same questions: without this the first one of a round would pay for
    # encoding them and the others would find their vectors cached.
    engine.questions.cache = VectorCache(0)
    configure = configurator(engine)
    shared = REPO.parent / "shared"
    source = shared if (shared / "corpus").is_dir() else Path("/work/shared")
    questions = [json.loads(line)["query"] for line in (source / "corpus/dev_queries.jsonl").open()]
    caller = Principal(user="bench", groups=args.groups.split(","), tenant=args.tenant)
    levels = [int(x) for x in args.levels.split(",")] if args.levels else list(range(len(NAMES)))
    measured: dict[int, list[tuple[float, float]]] = {level: [] for level in levels}
    differ: list[str] = []
    pool = ThreadPoolExecutor(args.threads)
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, load {os.getloadavg()[0]:.2f}, {args.threads} threads")
    for r in range(args.rounds):
        batch = [f"{q} {r}" for q in questions]
        reference = None
        for level in levels if r % 2 == 0 else levels[::-1]:
            configure(level)

            def ask(question: str) -> dict:
                request = SearchRequest(query=question, rerank=False)
                return engine.search(caller, request).model_dump(exclude={"timings"})

            cpu, wall = time.process_time(), time.perf_counter()
            answers = list(pool.map(ask, batch))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            measured[level].append((cpu / len(batch) * 1000, len(batch) / wall))
            if reference is None:
                reference = answers
            elif answers != reference:
                differ.append(f"round {r}: {NAMES[level]}")
    configure(levels[-1])
    print(f"{'configuration':24} {'cpu ms/search':>14} {'searches/s':>11}")
    for level in levels:
        cpu = statistics.median(c for c, _ in measured[level])
        rate = statistics.median(s for _, s in measured[level])
        print(f"{NAMES[level]:24} {cpu:14.1f} {rate:11.1f}")
    print(f"load {os.getloadavg()[0]:.2f} at the end; {args.rounds} rounds of {len(questions)} questions")
    if differ:
        raise SystemExit(f"answers differ from the first configuration's: {differ}")
    print("answers identical in every configuration and round")


if __name__ == "__main__":
    main()
