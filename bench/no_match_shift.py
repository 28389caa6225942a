"""Can no_match be trained for words going missing? Nested, whole documents held out, tuning half only.

A realistic store refuses far more answerable questions when extraction misses words (a figure whose OCR
was cut or switched off scores lower on every channel; docs/retrieval.md, "no_match when words go
missing"). This replays two dumps of the same tuning questions (``bench/retrieval.py --dump``): SOUND, and
SHIFTED, the same store ingested with words missing (``FIGVAULT_EXTRACT__OCR=false``), and compares
decisions fitted on the sound rows alone against decisions fitted on sound + shifted rows pooled. Each is
scored on the held-out documents' sound rows, their shifted rows, and the rows of any ``--test`` dump (a
shift nobody trained on, such as an ingest whose OCR the load cut). Folds hold whole documents out (the
sound dump's ``question_groups``; both copies of a question stay on one side); the weights and the threshold
are chosen on the training documents alone (``cross_validated_threshold``'s rule: out-of-fold, folds by
document, the median over shuffles). Rules:

- ``sound``: fitted and thresholded on sound rows (what ``bench/tune_retrieval.py`` ships);
- ``pooled``: fitted on both copies, the threshold at ``--max-refused`` of both copies' answerable;
- ``pooled-worst``: fitted on both, the threshold the lower of the two copies' own choices (at most
  ``--max-refused`` refused on each);
- ``both-low-sound``, ``both-low-pooled``: refuse only when the lexical evidence (a model without
  ``text``) AND the text cosine are low (the two thresholds chosen together on the training documents'
  out-of-fold rows of the sound copy, or of both).

Without ``--shifted`` only the sound rows are fitted and scored. A dump's agreement features
(``bench/no_match_agreement.py``: does the top hold when a word of the question is dropped) are merged into
its rows when their sidecar lies beside it; ``--max-refused`` takes several shares, each a row, so a set is
compared with the control (the shipped four with only the threshold moved) at the same caught rate.
The reporting half is never read (lines of other splits are dropped on load).

    .venv/bin/python bench/no_match_shift.py SOUND [--shifted SHIFTED] [--test OTHER] [--size full]
        [--shuffles 5] [--rules sound,pooled,pooled-worst,both-low-sound,both-low-pooled] [--sets all]
        [--max-refused 0.03,0.05,0.08]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from no_match_agreement import AGREEMENT, agreement_path  # noqa: E402
from no_match_features import EXTRAS, FEATURE_SETS, POOL_EXTRAS, feature_row  # noqa: E402
from tune_retrieval import (  # noqa: E402
    CV_SHUFFLES,
    NO_MATCH_FEATURES,
    Setting,
    configured_setting,
    fit_logistic,
    fold_assignment,
    highest_threshold,
    load,
    probability,
    question_groups,
    rank_of,
)

Rows = list[dict[str, float]]


def tuning_lines(dump: Path, size: str) -> dict[str, dict]:
    """One size's tuning-half lines by question id (other splits are dropped before anything reads them)."""
    return {x["id"]: x for x in load(dump) if x["size"] == size and x["split"] == "tune"}


def with_agreement(dump: Path, size: str, rows: dict[str, dict[str, float]]) -> None:
    """Add to ``rows`` (by question id) the agreement features ``bench/no_match_agreement.py`` wrote beside
    ``dump``, when it did (a question it did not reach gets none, and a set that reads them fails)."""
    path = agreement_path(dump)
    if path.is_file():
        for x in map(json.loads, path.read_text(encoding="utf-8").splitlines()):
            if x["size"] == size and x["id"] in rows:
                rows[x["id"]].update(x["features"])


def feature_rows(dump: Path, lines: dict[str, dict], ids: Sequence[str], size: str, setting: Setting) -> Rows:
    rows = {i: feature_row(lines[i], setting) for i in ids}
    with_agreement(dump, size, rows)
    return [rows[i] for i in ids]


def aligned(
    sound: Path, others: Sequence[Path], size: str, setting: Setting, found_within: int = 0
) -> tuple[np.ndarray, list[str], Rows, list[Rows]]:
    """Labels, documents and feature rows of the questions every dump holds, in the sound dump's order; with
    ``found_within``, the first other dump's rows of answerable questions whose answer it does not rank in
    its top ``found_within`` are the sound rows instead (a training copy: refusing a question whose answer
    the search lost is not the decision's error to learn away)."""
    base = tuning_lines(sound, size)
    rest = [tuning_lines(path, size) for path in others]
    ids = [i for i in base if all(i in lines for lines in rest)]
    y = np.array([int(bool(base[i]["query"].get("doc"))) for i in ids])
    groups = question_groups([base[i] for i in ids], setting)
    rows = feature_rows(sound, base, ids, size, setting)
    shifted = [
        feature_rows(path, lines, ids, size, setting) for path, lines in zip(others, rest, strict=True)
    ]
    if found_within and shifted:
        lost = [bool(y[k]) and rank_of(rest[0][i], setting, found_within) is None for k, i in enumerate(ids)]
        shifted[0] = [rows[k] if lost[k] else row for k, row in enumerate(shifted[0])]
    return y, groups, rows, shifted


def pooled_oof(
    copies: Sequence[Rows], labels: list[int], groups: Sequence[str], names: Sequence[str], seed: int
) -> list[list[float]]:
    """Out-of-fold P(answerable) of every copy's rows, the model fitted on all copies of the other
    documents (folds by document over the questions, so a question's copies are never split)."""
    assigned = fold_assignment(len(labels), seed, 5, groups)
    probs = [[0.0] * len(labels) for _ in copies]
    for fold in range(5):
        train = [i for i in range(len(labels)) if assigned[i] != fold]
        weights = fit_logistic(
            [copy[i] for copy in copies for i in train],
            [labels[i] for _ in copies for i in train],
            names=names,
        )
        for k, copy in enumerate(copies):
            for i in range(len(labels)):
                if assigned[i] == fold:
                    probs[k][i] = probability(copy[i], weights, names)
    return probs


def chosen_threshold(
    copies: Sequence[Rows],
    labels: list[int],
    groups: Sequence[str],
    names: Sequence[str],
    worst: bool,
    max_refused: float,
) -> float:
    """The tuner's rule on ``copies``: the median over shuffles of the highest threshold refusing at most
    ``max_refused`` of the out-of-fold answerable (of all copies pooled, or of each copy when ``worst``)."""
    chosen = []
    for seed in range(CV_SHUFFLES):
        probs = pooled_oof(copies, labels, groups, names, seed)
        if worst:
            chosen.append(min(highest_threshold(p, labels, max_refused) for p in probs))
        else:
            chosen.append(highest_threshold([v for p in probs for v in p], labels * len(probs), max_refused))
    return sorted(chosen)[len(chosen) // 2]


Decision = Callable[[dict[str, float]], bool]
"""Given one question's feature row: refuse it (no_match)?"""


def logistic_rule(
    copies: Sequence[Rows],
    labels: list[int],
    groups: Sequence[str],
    names: Sequence[str],
    worst: bool,
    max_refused: float,
) -> Decision:
    weights = fit_logistic([r for copy in copies for r in copy], labels * len(copies), names=names)
    threshold = chosen_threshold(copies, labels, groups, names, worst, max_refused)
    return lambda row: probability(row, weights, names) < threshold


def both_low_rule(
    copies: Sequence[Rows], labels: list[int], groups: Sequence[str], names: Sequence[str], max_refused: float
) -> Decision:
    """Refuse only when a model of the features other than ``text`` AND the text cosine are both low: an
    answerable figure whose words went missing may keep its meaning close to the question's. The pair of
    thresholds catching the most of the out-of-fold unanswerable at most ``max_refused`` of the answerable
    refused (the copies and ``CV_SHUFFLES`` shuffles pooled)."""
    lexical = [n for n in names if n != "text"]
    probs, texts, y = [], [], []
    for seed in range(CV_SHUFFLES):
        for k, p in enumerate(pooled_oof(copies, labels, groups, lexical, seed)):
            probs += p
            texts += [row["text"] for row in copies[k]]
            y += labels
    p, t, a = np.array(probs), np.array(texts), np.array(y) == 1
    best = (-1.0, 0.0, 0.0)
    for text_cut in [*np.quantile(t[a], np.linspace(0.05, 0.95, 19)), np.inf]:
        exposed = t < text_cut  # only these can be refused
        lexical_cut = highest_threshold(
            np.where(exposed, p, 1.0).tolist(), a.astype(int).tolist(), max_refused
        )
        caught = float(((p < lexical_cut) & exposed)[~a].mean())
        best = max(best, (caught, lexical_cut, float(text_cut)))
    weights = fit_logistic([r for copy in copies for r in copy], labels * len(copies), names=lexical)
    _, lexical_cut, text_cut = best
    return lambda row: probability(row, weights, lexical) < lexical_cut and row["text"] < text_cut


RULES = ("sound", "pooled", "pooled-worst", "both-low-sound", "both-low-pooled")


def fitted_rule(
    rule: str,
    copies: Sequence[Rows],
    labels: list[int],
    groups: Sequence[str],
    names: Sequence[str],
    max_refused: float,
) -> Decision:
    used = copies[:1] if rule.endswith("sound") else copies
    if rule.startswith("both-low"):
        return both_low_rule(used, labels, groups, names, max_refused)
    return logistic_rule(used, labels, groups, names, rule == "pooled-worst", max_refused)


def nested(
    y: np.ndarray,
    groups: Sequence[str],
    copies: Sequence[Rows],
    scored: Sequence[Rows],
    names: Sequence[str],
    rule: str,
    shuffles: int,
    max_refused: float,
) -> list[tuple[float, float]]:
    """Whole documents held out, the rule fitted on the other documents' ``copies``; mean (answerable
    refused, unanswerable caught) over ``shuffles`` on the held-out documents' rows of each of ``scored``."""
    labels = [int(v) for v in y]
    results: list[list[tuple[float, float]]] = [[] for _ in scored]
    for shuffle in range(shuffles):
        assigned = fold_assignment(len(labels), 1000 + shuffle, 5, groups)
        flags = np.zeros((len(scored), len(labels)), dtype=bool)
        for fold in range(5):
            train = [i for i in range(len(labels)) if assigned[i] != fold]
            decide = fitted_rule(
                rule,
                [[copy[i] for i in train] for copy in copies],
                [labels[i] for i in train],
                [groups[i] for i in train],
                names,
                max_refused,
            )
            for k, rows in enumerate(scored):
                for i in range(len(labels)):
                    if assigned[i] == fold:
                        flags[k, i] = decide(rows[i])
        for k in range(len(scored)):
            results[k].append((float(flags[k][y == 1].mean()), float(flags[k][y == 0].mean())))
    return [(float(np.mean([r[0] for r in rs])), float(np.mean([r[1] for r in rs]))) for rs in results]


SETS: dict[str, Sequence[str]] = {
    "shipped four": NO_MATCH_FEATURES,
    **{name: names for name, names in FEATURE_SETS.items() if name != "fitted"},
    **{f"shipped + {extra}": [*NO_MATCH_FEATURES, extra] for extra in (*POOL_EXTRAS, *EXTRAS)},
    **{f"shipped + {name}": [*NO_MATCH_FEATURES, name] for name in AGREEMENT},
    "shipped + every agreement feature": [*NO_MATCH_FEATURES, *AGREEMENT],
    "shipped + top document kept, reciprocal rank, channels agree": [
        *NO_MATCH_FEATURES,
        "drop: top document kept",
        "drop: mean reciprocal rank of the top",
        "channels: the top's document is each channel's top",
    ],
    "agreement alone": AGREEMENT,
}
"""Sets of ``AGREEMENT`` need the dumps' sidecars (``bench/no_match_agreement.py``)."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("sound", type=Path)
    parser.add_argument("--shifted", type=Path, help="The same store with words missing (none: sound only).")
    parser.add_argument("--test", type=Path, action="append", default=[], help="A shift nobody trains on.")
    parser.add_argument("--size", default="full")
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--shuffles", type=int, default=5)
    parser.add_argument(
        "--max-refused",
        default="0.05",
        help="Comma-separated shares: each is a row (several trace a set's curve, the control's included).",
    )
    parser.add_argument(
        "--rules", default=",".join(RULES[:3]), help=f"Comma-separated, of: {', '.join(RULES)}."
    )
    parser.add_argument("--sets", default="shipped four", help="'all', or names of SETS joined by ';'.")
    parser.add_argument(
        "--found-within",
        type=int,
        default=0,
        help="Train on the shifted rows only of answerable questions it still ranks in this top (0: all).",
    )
    args = parser.parse_args()
    setting = configured_setting(args.profile)
    paths = [*([args.shifted] if args.shifted else []), *args.test]
    y, groups, sound, others = aligned(args.sound, paths, args.size, setting)
    scored = [sound, *others]
    trained = [sound, others[0]] if args.shifted else [sound]
    if args.found_within and args.shifted:
        trained[1] = aligned(args.sound, paths[:1], args.size, setting, args.found_within)[3][0]
    print(
        f"{args.size} tuning half: {int(y.sum())} answerable, {len(y) - int(y.sum())} unanswerable, "
        f"{len(set(groups))} documents; nested, {args.shuffles} shuffles; refused / caught"
    )
    columns = [
        "held-out sound",
        *(["held-out shifted"] if args.shifted else []),
        *(f"held-out {p.name}" for p in args.test),
    ]
    print("\n| features | rule | at most refused | " + " | ".join(columns) + " |")
    print("| --- | --- | --- |" + " --- |" * len(columns))
    chosen = SETS if args.sets == "all" else {n: SETS[n] for n in args.sets.split(";")}
    for name, names in chosen.items():
        for rule in args.rules.split(","):
            for max_refused in map(float, args.max_refused.split(",")):
                cells = nested(y, groups, trained, scored, names, rule, args.shuffles, max_refused)
                print(
                    f"| {name} | {rule} | {max_refused:.0%} | "
                    + " | ".join(f"{r:.1%} / {c:.1%}" for r, c in cells)
                    + " |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
