"""Would another first-stage feature help the offline no_match decision? Out of fold, on the tuning half only.

Replays a dump of ``bench/retrieval.py --dump FILE`` with the profile's own fusion and priors
(``bench/tune_retrieval.py``'s replay), computes the decision's features (``retrieval/no_match.py``) on the
fetched candidates of every question of one size's **tuning** half, and for the fitted features
(``NO_MATCH_FEATURES``), for other sets (``FEATURE_SETS``) and for the fitted plus each candidate feature
below: fits the logistic model
(``fit_logistic``, ridge as the tuner) on four folds, scores the fifth, and repeats over shuffles; the
threshold is the highest that refuses at most ``--max-refused`` of the held-out answerable questions (pooled
over the folds of one shuffle). Prints, per feature set, the mean share of answerable questions refused and
of unanswerable ones caught, with folds by question and with folds by document (whole documents held out,
``tune_retrieval.question_groups``: what questions about documents nobody tuned on see), by document with a
nested threshold (``nested``: the refusals new documents would get), and the same with the held-out
questions' titles and captions blanked (``untitled``: untitled chart panels). The reporting half
is never read. One unanswerable question of 47 is 2.1 points: read small differences as noise.

    .venv/bin/python bench/no_match_features.py DUMP [--size full] [--folds 5] [--shuffles 5]
    .venv/bin/python bench/no_match_features.py DUMP --transfer   # fit at one size, apply at the other
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import replay_parser  # noqa: E402
from tune_retrieval import (  # noqa: E402
    NO_MATCH_FEATURES,
    Setting,
    configured_setting,
    cross_validated_threshold,
    curve_point,
    fit_logistic,
    fold_assignment,
    load,
    ordered,
    out_of_fold_probabilities,
    probability,
    question_groups,
)

from figvault.retrieval.evidence import (  # noqa: E402
    PICTURE_KINDS,
    Candidate,
    coverage,
    doc_name_words,
    terms,
)
from figvault.retrieval.no_match import features  # noqa: E402
from figvault.retrieval.schema import LEXICAL  # noqa: E402


def _text(c: Candidate) -> float:
    return c.channel_scores.get("text", 0.0)


def _lexical(c: Candidate) -> float:
    return abs(c.channel_scores.get(LEXICAL, 0.0))


def _median(values: Sequence[float]) -> float:
    return sorted(values)[len(values) // 2]


def _kth(values: Sequence[float], k: int) -> float:
    ranked = sorted(values, reverse=True)
    return ranked[min(k, len(ranked)) - 1] if ranked else 0.0


def _z(best: float, values: Sequence[float]) -> float:
    """How far ``best`` stands above the question's own candidates, in their standard deviations."""
    return (best - float(np.mean(values))) / (float(np.std(values)) + 1e-6) if values else 0.0


def _top_ids(pool: Sequence[Candidate], score: Callable[[Candidate], float | None], k: int) -> set[str]:
    scored = [c for c in pool if score(c) is not None]
    return {c.unit_id for c in sorted(scored, key=lambda c: -(score(c) or 0.0))[:k]}


def _channel_overlap(pool: Sequence[Candidate], k: int) -> float:
    """Share of the text channel's top ``k`` that is also in the lexical channel's top ``k``."""
    text = _top_ids(pool, lambda c: c.channel_scores.get("text"), k)
    lexical = _top_ids(pool, lambda c: c.channel_scores.get(LEXICAL), k)
    return len(text & lexical) / k


def _residual_own(asked: set[str], c: Candidate) -> float:
    """Coverage of the question's terms that are not its document's name words, by the figure's own words."""
    rest = asked - terms(doc_name_words(c.doc))
    return coverage(rest, c.own_text()) if rest else 1.0


Extra = Callable[[set[str], list[Candidate], dict[str, float]], float]
PoolExtra = Callable[[list[Candidate], dict[str, float]], float]
POOL_EXTRAS: dict[str, PoolExtra] = {
    "agree (the top is each channel's best)": lambda pool, f: f["agree"],
    "lexical (log BM25, not scaled by the store's size)": lambda pool, f: f["lexical"],
    "text cosine above the 20th candidate's": lambda pool, f: (
        f["text"] - _kth([_text(c) for c in pool if "text" in c.channel_scores], 20)
    ),
    "log BM25 above the 20th candidate's": lambda pool, f: (
        f["lexical"] - math.log1p(_kth([_lexical(c) for c in pool if LEXICAL in c.channel_scores], 20))
    ),
    "text cosine z over the 50 candidates": lambda pool, f: _z(
        f["text"], [_text(c) for c in pool if "text" in c.channel_scores]
    ),
    "BM25 z over the 50 candidates": lambda pool, f: _z(
        math.expm1(f["lexical"]), [_lexical(c) for c in pool if LEXICAL in c.channel_scores]
    ),
    "text and lexical top-10 overlap": lambda pool, f: _channel_overlap(pool, 10),
    "fused margin, 1st vs 10th": lambda pool, f: (
        (pool[0].fused - pool[min(9, len(pool) - 1)].fused) / pool[0].fused if pool[0].fused else 0.0
    ),
}
"""Features of the question's whole candidate pool (the fused 50 with their channel scores, what the engine
recalls before it fetches rows): the score distribution of the caller's own store, so they do not move with
the store's size the way raw scores do (tried 2026-12-04)."""
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
    "own coverage of the terms that are not the document's name": lambda asked, cs, f: _residual_own(
        asked, cs[0]
    ),
    "coverage by the top's page (its fetched neighbours' texts too)": lambda asked, cs, f: coverage(
        asked,
        "\n".join(
            c.full_text() for c in cs if (c.doc, c.row.get("page")) == (cs[0].doc, cs[0].row.get("page"))
        ),
    ),
    "text cosine gap, best vs 5th fetched": lambda asked, cs, f: f["text"] - _kth(list(map(_text, cs)), 5),
    "log BM25 gap, best vs 5th fetched": lambda asked, cs, f: (
        f["lexical"] - math.log1p(_kth(list(map(_lexical, cs)), 5))
    ),
    "question asks for a picture, the top is not one": lambda asked, cs, f: (
        float("photo" in asked or "screenshot" in asked or "map" in asked)
        * float(str(cs[0].row.get("kind", "")) not in PICTURE_KINDS)
    ),
}
"""Candidate features: each reads only the caller's own fetched candidates (best first), like FEATURES."""


def feature_row(line: dict[str, Any], setting: Setting) -> dict[str, float]:
    """The shipped features and every candidate feature of one question."""
    question = line["query"]["query"]
    pool = ordered(line, setting)
    fetched = pool[: setting.depth]
    row = features(question, fetched, line.get("store_rows"))
    asked = terms(question)
    for name, extra in EXTRAS.items():
        row[name] = extra(asked, fetched, row) if fetched else 0.0
    for name, pool_extra in POOL_EXTRAS.items():
        row[name] = pool_extra(pool, row) if pool else 0.0
    return row


UNTITLED = ("title", "caption")
"""What ``untitled`` blanks: the own words extraction misses on an uncaptioned, untitled chart panel."""


def untitled(line: dict[str, Any]) -> dict[str, Any]:
    """``line`` as if extraction had found no title or caption for any candidate (the channels' scores stay
    as dumped: only what the decision and the priors read from the rows changes)."""
    blank = dict.fromkeys(UNTITLED, "")
    return {**line, "candidates": [{**c, "row": {**c["row"], **blank}} for c in line["candidates"]]}


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
    groups: Sequence[str] | None = None,
) -> tuple[float, float]:
    """Mean (answerable refused, unanswerable caught) over ``shuffles`` shuffled ``folds``-fold splits (by
    question, or with ``groups`` by document: whole documents held out)."""
    labels = [int(v) for v in y]
    results = [
        refused_and_caught(
            np.array(out_of_fold_probabilities(rows, labels, shuffle, folds, names, groups)), y, max_refused
        )
        for shuffle in range(shuffles)
    ]
    return float(np.mean([r[0] for r in results])), float(np.mean([r[1] for r in results]))


def nested(
    rows: list[dict[str, float]],
    y: np.ndarray,
    names: Sequence[str],
    groups: Sequence[str],
    folds: int,
    shuffles: int,
    max_refused: float,
    held_rows: list[dict[str, float]] | None = None,
) -> tuple[float, float]:
    """What new documents see: whole documents held out, the weights fitted and the threshold chosen (as the
    tuner does: ``cross_validated_threshold``, folds by document) on the other documents alone, then applied
    to the held-out ones (their ``held_rows`` when given: the same questions as extraction might see them).
    Mean (answerable refused, unanswerable caught) over ``shuffles``."""
    held_rows = held_rows or rows
    labels = [int(v) for v in y]
    results = []
    for shuffle in range(shuffles):
        assigned = fold_assignment(len(labels), 1000 + shuffle, folds, groups)
        probs, thresholds = [0.0] * len(labels), [0.0] * len(labels)
        for fold in range(folds):
            train = [i for i in range(len(labels)) if assigned[i] != fold]
            t_rows, t_labels = [rows[i] for i in train], [labels[i] for i in train]
            weights = fit_logistic(t_rows, t_labels, names=names)
            threshold = cross_validated_threshold(
                t_rows, t_labels, max_refused, [groups[i] for i in train], names
            )
            for i in range(len(labels)):
                if assigned[i] == fold:
                    probs[i], thresholds[i] = probability(held_rows[i], weights, names), threshold
        flagged = np.array(probs) < np.array(thresholds)
        results.append((float(flagged[y == 1].mean()), float(flagged[y == 0].mean())))
    return float(np.mean([r[0] for r in results])), float(np.mean([r[1] for r in results]))


PAGE = "coverage by the top's page (its fetched neighbours' texts too)"
DOCUMENT = "coverage_document"
PREVIOUS = ("text", "lexical_scaled", "coverage", "coverage5", "own")
"""The features fitted until 2026-12-04 evening (two of them read the top figure's own words)."""
FEATURE_SETS: dict[str, Sequence[str]] = {
    "fitted": NO_MATCH_FEATURES,
    "previous five (text, lexical_scaled, coverage, coverage5, own)": PREVIOUS,
    "previous five + coverage_document": [*PREVIOUS, DOCUMENT],
    "previous five without own": [n for n in PREVIOUS if n != "own"],
    "text, lexical_scaled, coverage5": ["text", "lexical_scaled", "coverage5"],
    "text, lexical_scaled": ["text", "lexical_scaled"],
    "text, lexical_scaled, page coverage": ["text", "lexical_scaled", PAGE],
    "text, lexical_scaled, coverage_document": ["text", "lexical_scaled", DOCUMENT],
    "text, lexical_scaled, coverage5, coverage_document": ["text", "lexical_scaled", "coverage5", DOCUMENT],
}
"""Other sets: the previous fit, and smaller ones without the features that read the top figure's own words
(short for an untitled panel)."""

TRANSFER_SETS = {
    "fitted (lexical_scaled)": NO_MATCH_FEATURES,
    "lexical instead of lexical_scaled": tuple(
        "lexical" if n == "lexical_scaled" else n for n in NO_MATCH_FEATURES
    ),
}
"""What ``--transfer`` compares: the fitted features, and the same with BM25 not scaled by the store size."""


def tuning_rows(
    dump: Path, size: str, setting: Setting
) -> tuple[list[dict[str, float]], np.ndarray, list[str], list[dict[str, float]]]:
    """One size's tuning half: feature rows, labels (1 answerable), each question's document, and the
    feature rows of the same questions with every candidate's title and caption blanked (``untitled``)."""
    lines = [x for x in load(dump) if x["size"] == size and x["split"] == "tune"]
    y = np.array([int(bool(line["query"].get("doc"))) for line in lines])
    rows = [feature_row(line, setting) for line in lines]
    return rows, y, question_groups(lines, setting), [feature_row(untitled(x), setting) for x in lines]


def transfer(dump: Path, setting: Setting, max_refused: float) -> None:
    """Fit at one size's tuning half (weights, and the threshold on its out-of-fold probabilities with folds
    by document, as the tuner does), apply to the other size's tuning half: does the model keep its refusals
    at another size?"""
    data = {size: tuning_rows(dump, size, setting) for size in ("full", "labelled")}
    print("\n| features | fitted at | full: refused / caught | labelled: refused / caught |")
    print("| --- | --- | --- | --- |")
    for name, names in TRANSFER_SETS.items():
        for fit_on in data:
            rows, y, groups, _ = data[fit_on]
            labels = [int(v) for v in y]
            weights = fit_logistic(rows, labels, names=names)
            threshold = cross_validated_threshold(rows, labels, max_refused, groups, names)
            cells = []
            for size in data:
                probs = [probability(r, weights, names) for r in data[size][0]]
                refused, caught = curve_point(probs, [int(v) for v in data[size][1]], threshold)
                cells.append(f"{refused:.1%} / {caught:.1%}")
            print(f"| {name} | {fit_on} (threshold {threshold}) | {' | '.join(cells)} |")


def main() -> None:
    parser = replay_parser(__doc__, sized=False)
    parser.add_argument("--size", default="full", help="The size whose tuning half is read.")
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--shuffles", type=int, default=5)
    parser.add_argument("--max-refused", type=float, default=0.05)
    parser.add_argument(
        "--transfer", action="store_true", help="Fit at one size, apply at the other (both tuning halves)."
    )
    args = parser.parse_args()
    setting = configured_setting(args.profile)
    if args.transfer:
        transfer(args.dump, setting, args.max_refused)
        return
    rows, y, groups, bare = tuning_rows(args.dump, args.size, setting)
    print(
        f"{args.size} tuning half: {int(y.sum())} answerable, {len(y) - int(y.sum())} unanswerable, "
        f"{len(set(groups))} documents"
    )
    print(
        "\n| features | by question: refused / caught | by document: refused / caught "
        "| by document, nested threshold: refused / caught | the same, held out untitled |"
    )
    print("| --- | --- | --- | --- | --- |")
    candidates = [(f"fitted + {extra}", [*NO_MATCH_FEATURES, extra]) for extra in (*POOL_EXTRAS, *EXTRAS)]
    for name, names in [*FEATURE_SETS.items(), *candidates]:
        cells = [
            out_of_fold(rows, y, names, args.folds, args.shuffles, args.max_refused, split)
            for split in (None, groups)
        ]
        for held in (rows, bare):
            cells.append(nested(rows, y, names, groups, args.folds, args.shuffles, args.max_refused, held))
        print(f"| {name} | " + " | ".join(f"{r:.1%} / {c:.1%}" for r, c in cells) + " |")


if __name__ == "__main__":
    main()
