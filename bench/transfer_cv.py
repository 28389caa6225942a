"""Does a ranking choice transfer to documents it was not tuned on? Grouped cross-validation, tuning half.

Replays a ``bench/retrieval.py --dump`` (as ``bench/tune_retrieval.py`` does) and scores *procedures*: a fixed
setting, or one of the tuner's searches (``tune_retrieval.choose`` over some of its axes). The tuning half's
answerable questions are grouped by their answer's document; the documents are dealt into ``--folds`` folds
(shuffled by each of ``--shuffles`` seeds; ``--folds 0``: one document a fold), a procedure is run on the
questions of the other folds' documents (both sizes) and the chosen setting ranks the held-out documents'
questions. Printed per size: the procedure run on all the tuning questions and scored on them (in sample)
beside the pooled out-of-fold scores (mean over the shuffles): a search whose out-of-fold score falls well
below its in-sample one has fitted the tuning documents, not the way questions are asked. Also printed: the
out-of-fold scores of the questions whose answer shares its page with another figure, and how often each
fold chose each value. The reporting half plays no part (``--halves tune`` dumps only).

``--drop-titles``: every candidate's ``title`` blanked before the replay, as if extraction had found no
panel or slide title (real survey panels often come out untitled): what the priors and the neighbour rule
read loses the title; the channel scores in the dump keep what the title gave them, so this shows only how
much a setting's own reordering leans on titles. ``--untitled-view``: both at once, the blanked copy of each
size as a size of its own ("full, untitled"), so the tuner's objective (the mean over sizes) weighs a setting
on titled and untitled figures alike.

    .venv/bin/python bench/transfer_cv.py /tmp/retrieval/bench.jsonl [--folds 5] [--shuffles 3]
"""

from __future__ import annotations

import contextlib
import copy
import io
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import replay_parser  # noqa: E402
from tune_retrieval import (  # noqa: E402
    EVIDENCE_GRID,
    Setting,
    choose,
    configured_setting,
    fold_assignment,
    load,
    rank_of,
)

from figvault.retrieval.evaluation import rank_metrics  # noqa: E402
from figvault.retrieval.evidence import EvidenceParams  # noqa: E402

BySize = dict[str, list[dict[str, Any]]]
Procedure = Callable[[BySize], Setting]


def answer_document(line: dict[str, Any]) -> str:
    return str(line["query"]["doc"])


def document_folds(by_size: BySize, folds: int, seed: int) -> list[set[str]]:
    """The answer documents of the tuning questions dealt into ``folds`` groups by ``fold_assignment`` (the
    no_match tuner's folds by document: shuffled by ``seed``, each to the fold with the fewest questions);
    ``folds`` 0 or more than the documents: one document a fold."""
    documents = {x["query"]["id"]: answer_document(x) for lines in by_size.values() for x in lines}
    groups = [documents[q] for q in sorted(documents)]
    distinct = len(set(groups))
    count = distinct if folds <= 0 or folds > distinct else folds
    held: list[set[str]] = [set() for _ in range(count)]
    for group, fold in zip(groups, fold_assignment(len(groups), seed, count, groups), strict=True):
        held[fold].add(group)
    return held


def restricted(by_size: BySize, docs: set[str], inside: bool) -> BySize:
    """The questions whose answer document is (``inside``) or is not among ``docs``."""
    return {
        size: [x for x in lines if (answer_document(x) in docs) == inside] for size, lines in by_size.items()
    }


def untitled_view(by_size: BySize) -> BySize:
    """``by_size`` and, per size, a copy of its questions with every candidate's title blanked."""
    copies = {f"{size}, untitled": copy.deepcopy(lines) for size, lines in by_size.items()}
    for lines in copies.values():
        drop_titles(lines)
    return {**by_size, **copies}


def drop_titles(lines: Sequence[dict[str, Any]]) -> None:
    for line in lines:
        for c in line["candidates"]:
            c["row"]["title"] = ""


def quietly(procedure: Procedure, by_size: BySize) -> Setting:
    """The tuner prints its ascent; across dozens of folds that is noise."""
    with contextlib.redirect_stdout(io.StringIO()):
        return procedure(by_size)


@dataclass
class Transfer:
    """One procedure's result: the setting chosen on all tuning questions, its in-sample ranks, the
    out-of-fold ranks of each shuffle (per size, question id -> rank), and each fold's chosen setting."""

    chosen: Setting
    in_sample: dict[str, dict[str, int | None]]
    out_of_fold: list[dict[str, dict[str, int | None]]]
    fold_settings: list[Setting]


def ranks_of(lines: Sequence[dict[str, Any]], setting: Setting) -> dict[str, int | None]:
    return {x["query"]["id"]: rank_of(x, setting) for x in lines}


def cross_validate(by_size: BySize, procedure: Procedure, folds: int, seeds: Sequence[int]) -> Transfer:
    chosen = quietly(procedure, by_size)
    in_sample = {size: ranks_of(lines, chosen) for size, lines in by_size.items()}
    out_of_fold: list[dict[str, dict[str, int | None]]] = []
    fold_settings: list[Setting] = []
    for seed in seeds:
        ranks: dict[str, dict[str, int | None]] = {size: {} for size in by_size}
        for held in document_folds(by_size, folds, seed):
            setting = quietly(procedure, restricted(by_size, held, inside=False))
            fold_settings.append(setting)
            for size, lines in restricted(by_size, held, inside=True).items():
                ranks[size].update(ranks_of(lines, setting))
        out_of_fold.append(ranks)
    return Transfer(chosen, in_sample, out_of_fold, fold_settings)


def scores(ranks: dict[str, int | None], ids: set[str] | None = None) -> dict[str, float]:
    return rank_metrics([r for q, r in ranks.items() if ids is None or q in ids])


def mean_scores(runs: Sequence[dict[str, int | None]], ids: set[str] | None = None) -> dict[str, float]:
    each = [scores(r, ids) for r in runs]
    return {k: sum(s[k] for s in each) / len(each) for k in each[0]}


def cells(m: dict[str, float]) -> str:
    return " / ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "MRR"))


def report(name: str, transfer: Transfer, by_size: BySize) -> None:
    row = [name]
    for size, lines in by_size.items():
        shares = {x["query"]["id"] for x in lines if x.get("neighbours") == "page"}
        row += [
            cells(scores(transfer.in_sample[size])),
            cells(mean_scores([r[size] for r in transfer.out_of_fold])),
            cells(mean_scores([r[size] for r in transfer.out_of_fold], shares)),
        ]
    print("| " + " | ".join(row) + " |", flush=True)


def stability(transfer: Transfer) -> str:
    """Per moved coordinate, how many folds chose each value (a value every fold agrees on is not noise)."""
    counts: dict[str, Counter[Any]] = {}
    for s in transfer.fold_settings:
        flat = {"rrf_k": s.rrf_k, "lexical_weight": s.lexical_weight, "depth": s.depth, **asdict(s.evidence)}
        for key, value in flat.items():
            counts.setdefault(key, Counter())[value] += 1
    moved = {k: c for k, c in counts.items() if len(c) > 1}
    return "; ".join(f"{k} {dict(sorted(c.items()))}" for k, c in moved.items()) or "every fold chose alike"


def procedures(min_gain: float) -> dict[str, Procedure]:
    shipped = configured_setting("offline")
    fusion_only = replace(shipped, evidence=EvidenceParams())
    return {
        "fixed: RRF k 60, equal weights, no priors": lambda _: Setting(),
        "fixed: shipped profile": lambda _: shipped,
        "fixed: shipped fusion, no priors": lambda _: fusion_only,
        "fixed: shipped profile + document support 0.1": lambda _: replace(
            shipped, evidence=replace(shipped.evidence, document_support_prior=0.1)
        ),
        "tuner: fusion grid only": lambda b: choose(b, min_gain, evidence_axes=(), depth_axis=False),
        "tuner: shipped fusion + own_words": lambda b: choose(
            b, min_gain, fusion_only, evidence_axes=("own_words_prior",), depth_axis=False
        ),
        "tuner: fusion grid + own_words": lambda b: choose(
            b, min_gain, evidence_axes=("own_words_prior",), depth_axis=False
        ),
        "tuner: every axis (the shipped procedure)": lambda b: choose(b, min_gain),
        "tuner: every axis, min gain x5": lambda b: choose(b, 5 * min_gain),
    }


def main() -> None:
    parser = replay_parser(__doc__, sized=False)
    parser.add_argument("--folds", type=int, default=5, help="Document folds (0: one document a fold).")
    parser.add_argument("--shuffles", type=int, default=3)
    parser.add_argument("--min-gain", type=float, default=0.002)
    parser.add_argument("--only", action="append", help="Run the procedures whose name contains this.")
    parser.add_argument("--drop-titles", action="store_true", help="Blank every candidate's title first.")
    parser.add_argument(
        "--untitled-view", action="store_true", help="Add each size with titles blanked as a size of its own."
    )
    args = parser.parse_args()
    lines = [x for x in load(args.dump) if x["split"] == "tune" and x["query"].get("doc")]
    if not lines:
        raise SystemExit(f"{args.dump}: no answerable tuning questions")
    if args.drop_titles:
        drop_titles(lines)
    sizes = sorted({x["size"] for x in lines})
    by_size = {size: [x for x in lines if x["size"] == size] for size in sizes}
    if args.untitled_view:
        by_size = untitled_view(by_size)
        sizes = list(by_size)
    docs = {answer_document(x) for x in lines}
    print(f"{len(docs)} answer documents, {args.folds or len(docs)} folds x {args.shuffles} shuffles")
    print(f"axes of the tuner: {', '.join(EVIDENCE_GRID)}, depth")
    head = "".join(
        f" {s}: in sample R@1 / R@5 / MRR | {s}: grouped CV | {s}: grouped CV, answer shares its page |"
        for s in sizes
    )
    print(f"\n| procedure |{head}")
    print("| --- " * (1 + 3 * len(sizes)) + "|")
    seeds = range(args.shuffles)
    chosen: list[tuple[str, Transfer]] = []
    for name, procedure in procedures(args.min_gain).items():
        if args.only and not any(o in name for o in args.only):
            continue
        transfer = cross_validate(by_size, procedure, args.folds, seeds)
        report(name, transfer, by_size)
        chosen.append((name, transfer))
    for name, transfer in chosen:
        if name.startswith("tuner"):
            c = transfer.chosen
            print(f"\n{name}: on all tuning questions rrf_k {c.rrf_k}, lexical {c.lexical_weight}", end="")
            print(f", depth {c.depth}")
            print(f"  evidence {asdict(c.evidence)}")
            print(f"  folds: {stability(transfer)}")


if __name__ == "__main__":
    main()
