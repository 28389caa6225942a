"""Would another first-stage feature help the offline no_match decision? Out of fold, on the tuning half only.

Replays a dump of ``bench/retrieval.py --dump FILE`` with the profile's own fusion and priors
(``bench/tune_retrieval.py``'s replay), computes the decision's features (``retrieval/no_match.py``) on the
fetched candidates of every question of one size's **tuning** half, and for the shipped features and for
the shipped features plus each candidate feature below: fits the logistic model (``fit_logistic``, ridge as
the tuner) on four folds, scores the fifth, and repeats over shuffles; the threshold is the highest that
refuses at most ``--max-refused`` of the held-out answerable questions (pooled over the folds of one
shuffle). Prints, per feature set, the mean share of answerable questions refused and of unanswerable ones
caught. The reporting half is never read. One unanswerable question of 27 is 3.7 points: read small
differences as noise.

    .venv/bin/python bench/no_match_features.py DUMP [--size full] [--folds 5] [--shuffles 5]
"""

from __future__ import annotations

import math
import random
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import replay_parser  # noqa: E402
from tune_retrieval import Setting, configured_setting, fit_logistic, load, ordered  # noqa: E402

from figvault.retrieval.evidence import Candidate, coverage, terms  # noqa: E402
from figvault.retrieval.no_match import FEATURES, features  # noqa: E402
from figvault.retrieval.schema import LEXICAL  # noqa: E402


def _text(c: Candidate) -> float:
    return c.channel_scores.get("text", 0.0)


def _lexical(c: Candidate) -> float:
    return abs(c.channel_scores.get(LEXICAL, 0.0))


def _median(values: Sequence[float]) -> float:
    return sorted(values)[len(values) // 2]


Extra = Callable[[set[str], list[Candidate], dict[str, float]], float]
EXTRAS: dict[str, Extra] = {
    "top score after the priors": lambda asked, cs, f: cs[0].score,
    "top-1/top-2 score gap": lambda asked, cs, f: (
        (cs[0].score - cs[1].score) / cs[0].score if len(cs) > 1 and cs[0].score else 0.0
    ),
    "page-text coverage minus own": lambda asked, cs, f: f["coverage"] - f["own"],
    "channels agreeing on the top (0-2)": lambda asked, cs, f: (
        float(_text(cs[0]) >= max(map(_text, cs))) + float(_lexical(cs[0]) >= max(map(_lexical, cs)) > 0)
    ),
    "the top's text cosine": lambda asked, cs, f: _text(cs[0]),
    "the top's BM25": lambda asked, cs, f: math.log1p(_lexical(cs[0])),
    "number of content terms": lambda asked, cs, f: math.log1p(len(asked)),
    "BM25 per content term": lambda asked, cs, f: math.log1p(max(map(_lexical, cs)) / max(1, len(asked))),
    "coverage by the union of the top ten": lambda asked, cs, f: coverage(
        asked, "\n".join(c.full_text() for c in cs)
    ),
    "best own coverage of the top five": lambda asked, cs, f: max(
        coverage(asked, c.own_text()) for c in cs[:5]
    ),
    "top three from one document": lambda asked, cs, f: sum(c.doc == cs[0].doc for c in cs[1:3]) / 2,
    "text-score spread": lambda asked, cs, f: max(map(_text, cs)) - _median([_text(c) for c in cs]),
    "BM25 spread": lambda asked, cs, f: (
        math.log1p(max(map(_lexical, cs))) - math.log1p(_median([_lexical(c) for c in cs]))
    ),
    "content terms missing from all ten": lambda asked, cs, f: float(
        len(asked - terms("\n".join(c.full_text() for c in cs)))
    ),
}
"""Candidate features: each reads only the caller's own fetched candidates (best first), like FEATURES."""


def feature_row(line: dict[str, Any], setting: Setting) -> dict[str, float]:
    """The shipped features and every candidate feature of one question."""
    question = line["query"]["query"]
    fetched = ordered(line, setting)[: setting.depth]
    row = features(question, fetched)
    asked = terms(question)
    for name, extra in EXTRAS.items():
        row[name] = extra(asked, fetched, row) if fetched else 0.0
    return row


def probabilities(x: np.ndarray, weights: dict[str, float], names: Sequence[str]) -> np.ndarray:
    w = np.array([weights[n] for n in names])
    return 1.0 / (1.0 + np.exp(-np.clip(weights["bias"] + x @ w, -50, 50)))


def refused_and_caught(probs: np.ndarray, y: np.ndarray, max_refused: float) -> tuple[float, float]:
    """At the highest threshold refusing at most ``max_refused`` of the answerable: (refused, caught)."""
    answerable = np.sort(probs[y == 1])
    threshold = answerable[math.floor(max_refused * len(answerable))]
    return float((answerable < threshold).mean()), float((probs[y == 0] < threshold).mean())


def out_of_fold(
    rows: list[dict[str, float]],
    y: np.ndarray,
    names: Sequence[str],
    folds: int,
    shuffles: int,
    max_refused: float,
) -> tuple[float, float]:
    """Mean (answerable refused, unanswerable caught) over ``shuffles`` shuffled ``folds``-fold splits."""
    x = np.array([[r[n] for n in names] for r in rows])
    results = []
    for shuffle in range(shuffles):
        order = list(range(len(y)))
        random.Random(shuffle).shuffle(order)
        probs = np.zeros(len(y))
        for fold in range(folds):
            held = set(order[fold::folds])
            train = [i for i in order if i not in held]
            weights = fit_logistic([rows[i] for i in train], [int(y[i]) for i in train], names=names)
            probs[sorted(held)] = probabilities(x[sorted(held)], weights, names)
        results.append(refused_and_caught(probs, y, max_refused))
    return float(np.mean([r[0] for r in results])), float(np.mean([r[1] for r in results]))


def main() -> None:
    parser = replay_parser(__doc__, sized=False)
    parser.add_argument("--size", default="full", help="The size whose tuning half is read.")
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--shuffles", type=int, default=5)
    parser.add_argument("--max-refused", type=float, default=0.05)
    args = parser.parse_args()
    setting = configured_setting(args.profile)
    lines = [x for x in load(args.dump) if x["size"] == args.size and x["split"] == "tune"]
    rows = [feature_row(line, setting) for line in lines]
    y = np.array([int(bool(line["query"].get("doc"))) for line in lines])
    print(f"{args.size} tuning half: {int(y.sum())} answerable, {len(y) - int(y.sum())} unanswerable")
    print("\n| features | answerable refused | unanswerable caught |\n| --- | --- | --- |")
    for extra in (None, *EXTRAS):
        names = [*FEATURES, *([extra] if extra else [])]
        refused, caught = out_of_fold(rows, y, names, args.folds, args.shuffles, args.max_refused)
        print(f"| shipped{f' + {extra}' if extra else ''} | {refused:.1%} | {caught:.1%} |")


if __name__ == "__main__":
    main()
