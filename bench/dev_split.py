"""Split the shared dev questions into a tuning half and a reporting half, once, with a fixed seed.

Questions about the same figure go to the same half (two phrasings of one figure in both halves would let
tuning see the reported answers). Groups are shuffled with ``random.Random(SEED)`` and each goes to the half
that has fewer questions so far (ties to "tune"). The result is committed as data
(``bench/labels/dev_split.json``); rerunning this script reproduces it exactly.

    .venv/bin/python bench/dev_split.py [--queries ../shared/corpus/dev_queries.jsonl]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.retrieval.evaluation import EvalQuery, load_queries  # noqa: E402

SEED = 14
CORPUS = Path(os.environ.get("FIGVAULT_CORPUS", REPO.parent / "shared" / "corpus"))
SPLIT_FILE = REPO / "bench" / "labels" / "dev_split.json"


def target(q: EvalQuery) -> tuple[str, int, str, str]:
    return (q.doc or "", q.page or 0, q.label or "", json.dumps(q.bbox))


def make_split(queries: list[EvalQuery], seed: int = SEED) -> dict[str, list[str]]:
    groups: dict[tuple[str, int, str, str], list[str]] = {}
    for q in queries:
        groups.setdefault(target(q), []).append(q.id)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    halves: dict[str, list[str]] = {"tune": [], "report": []}
    for key in keys:
        half = "tune" if len(halves["tune"]) <= len(halves["report"]) else "report"
        halves[half].extend(groups[key])
    return {name: sorted(ids) for name, ids in halves.items()}


def load_split(path: Path = SPLIT_FILE) -> dict[str, str]:
    """question id -> "tune" | "report"."""
    raw = json.loads(path.read_text())
    return {qid: half for half in ("tune", "report") for qid in raw[half]}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--queries", type=Path, default=CORPUS / "dev_queries.jsonl")
    parser.add_argument("--out", type=Path, default=SPLIT_FILE)
    args = parser.parse_args()
    split = make_split(load_queries(args.queries))
    record = {
        "source": "corpus/dev_queries.jsonl",
        "seed": SEED,
        "method": "questions grouped by target figure (doc, page, label, bbox); groups shuffled with "
        "random.Random(seed) and each given to the half with fewer questions so far (ties to tune); "
        "bench/dev_split.py",
        **split,
    }
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"tune {len(split['tune'])}, report {len(split['report'])} -> {args.out}")


if __name__ == "__main__":
    main()
