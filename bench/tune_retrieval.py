"""Choose the fusion, the soft priors, the neighbour rule and the no-match model on the tuning half only.

Replays what ``bench/retrieval.py --dump FILE`` wrote per question and size (every channel's top 50 with
scores and rows, before fusion weights and any reordering): the channels are fused again with
``retrieval.fusion.fuse`` and the first ``depth`` of them (what the engine fetches: ``max(top_k,
search.evidence_depth)``) reordered with ``retrieval/evidence.py``, as the engine does. The fusion grid is
searched for the best mean MRR over the tuning halves of both sizes (ties: the smaller change from the
default), then the priors, the neighbour rule and the depth by coordinate ascent from "off", a step only
when it gains more than ``--min-gain``; then the tuning and reporting halves are printed for the default
and the chosen setting (``--tune-only``: the tuning halves alone, while trying things). Then the
offline no-match model (``retrieval/no_match.py``: logistic regression, ridge 1.0, the features of
``NO_MATCH_FEATURES``) is fitted on the tuning half's answerable and unanswerable questions at realistic size;
the threshold is chosen on the same questions' out-of-fold probabilities with folds by document (each
question scored by a model fitted without any question about its document: ``question_groups``): the highest
that refuses at most 5% of the held-out answerable questions, the median over shuffled splits. The curve
(answerable wrongly refused vs unanswerable caught) is printed per half and size, and the tuning half's
out-of-fold curves per size, folds by question and by document. The reporting half plays no part in any
choice.

    .venv/bin/python bench/tune_retrieval.py /tmp/retrieval/bench.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))  # its siblings, also when loaded as a module

from common_args import MIN_GAIN_HELP, fusion_pair, replay_parser  # noqa: E402

from figvault.retrieval.evaluation import EvalQuery, is_hit, rank_metrics  # noqa: E402
from figvault.retrieval.evidence import Candidate, EvidenceParams, reorder  # noqa: E402
from figvault.retrieval.fusion import fuse  # noqa: E402
from figvault.retrieval.no_match import answerable_probability, features  # noqa: E402
from figvault.retrieval.schema import LEXICAL  # noqa: E402
from figvault.settings import load_settings  # noqa: E402

CANDIDATE_K = 50


@dataclass(frozen=True)
class Setting:
    rrf_k: int = 60
    lexical_weight: float = 1.0
    evidence: EvidenceParams = field(default_factory=EvidenceParams)
    depth: int = 10
    """How many leading fused candidates the engine fetches and reorders: max(top_k, evidence_depth)."""


def configured_setting(profile: str) -> Setting:
    """What the engine does with ``profile``: its fusion, priors, neighbour rule and fetch depth."""
    search = load_settings(profile).search
    return Setting(
        rrf_k=search.rrf_k,
        lexical_weight=search.weights.get("lexical", 1.0),
        evidence=EvidenceParams.from_settings(search),
        depth=max(search.top_k, search.evidence_depth),
    )


FUSION_GRID = {"rrf_k": (10, 30, 60), "lexical_weight": (1.0, 1.5, 2.0, 3.0)}
EVIDENCE_GRID: dict[str, tuple[float, ...]] = {
    "slide_prior": (0.0, 0.1, 0.3),
    "paper_prior": (0.0, 0.1, 0.3),
    "picture_prior": (0.0, 0.1),
    "document_prior": (0.0, 0.1, 0.3),
    "own_words_prior": (0.0, 0.1, 0.2, 0.3, 0.5, 1.0),
    "document_support_prior": (0.0, 0.1, 0.2, 0.3, 0.5),
    "neighbour_depth": (0, 3),
    "neighbour_margin": (0.1, 0.2),
}
DEPTH_GRID = (10, 20, 30)
"""search.evidence_depth: how many candidates the priors can draw from (more rows fetched per search)."""


def load(path: Path) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [line for line in lines if line.get("candidates") is not None]


def ordered(line: dict[str, Any], setting: Setting) -> list[Candidate]:
    """The dumped channels fused again and reordered, as the engine would with ``setting``."""
    by_id = {c["unit_id"]: c for c in line["candidates"]}
    rankings: dict[str, list[tuple[str, float]]] = {}
    for c in line["candidates"]:
        for channel, score in c["channels"].items():
            rankings.setdefault(channel, []).append((c["unit_id"], score))
    for ranking in rankings.values():
        ranking.sort(key=lambda item: -item[1])
    order = fuse(
        rankings,
        method="rrf",
        rrf_k=setting.rrf_k,
        weights={LEXICAL: setting.lexical_weight},
        limit=CANDIDATE_K,
    )
    candidates = [Candidate(u, f, by_id[u]["channels"], by_id[u]["row"], score=f) for u, f in order]
    head = reorder(line["query"]["query"], candidates[: setting.depth], setting.evidence)
    return head + candidates[setting.depth :]


def rank_of(line: dict[str, Any], setting: Setting, top_k: int = 10) -> int | None:
    query = EvalQuery.model_validate(line["query"])
    for rank, c in enumerate(ordered(line, setting)[:top_k], start=1):
        geometry = c.row.get("geometry") or {}
        if is_hit(query, c.doc, int(c.row.get("page", 0)), c.row.get("label") or None, geometry.get("bbox")):
            return rank
    return None


HALVES = ["tune", "report"]
"""What the tables print; ``--tune-only`` leaves the reporting half out while tuning."""


def table_row(name: str, lines: list[dict[str, Any]], setting: Setting) -> str:
    cells = []
    for half in HALVES:
        ranks = [rank_of(line, setting) for line in lines if line["split"] == half]
        m = rank_metrics(ranks)
        cells.append(" | ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR")) + f" | {len(ranks)}")
    return f"| {name} | {' | '.join(cells)} |"


def tune_mrr(by_size: dict[str, list[dict[str, Any]]], setting: Setting) -> float:
    scores = [
        rank_metrics([rank_of(line, setting) for line in lines if line["split"] == "tune"])["MRR"]
        for lines in by_size.values()
    ]
    return sum(scores) / len(scores)


def choose(
    by_size: dict[str, list[dict[str, Any]]],
    min_gain: float = 0.002,
    fusion: Setting | None = None,
    evidence_axes: Sequence[str] = tuple(EVIDENCE_GRID),
    depth_axis: bool = True,
) -> Setting:
    """Fusion first (priors off, the whole grid), then the priors, the neighbour rule and the depth by
    coordinate ascent from "all off": a step is taken only when it raises the mean tuning MRR by more than
    ``min_gain`` (about one question moving from rank 1 to 2 on one size: smaller gains are noise).
    ``evidence_axes`` and ``depth_axis``: which of them the ascent may move (bench/transfer_cv.py compares
    smaller searches)."""
    default = fusion or Setting()
    best, best_key = default, (tune_mrr(by_size, default), 0.0)
    for k, w in itertools.product(*FUSION_GRID.values()) if fusion is None else ():
        setting = Setting(int(k), float(w))
        key = (tune_mrr(by_size, setting), -abs(w - 1.0) - abs(k - 60) / 60)
        if key > best_key:
            best, best_key = setting, key
    axes: list[Axis[Setting]] = [(name, EVIDENCE_GRID[name], _evidence_step(name)) for name in evidence_axes]
    if depth_axis:
        axes.append(("depth", DEPTH_GRID, lambda s, v: replace(s, depth=int(v))))
    return coordinate_ascent(best, axes, lambda s: tune_mrr(by_size, s), min_gain)


def _evidence_step(name: str) -> Callable[[Setting, float], Setting]:
    kind = int if name == "neighbour_depth" else float
    return lambda s, v: replace(s, evidence=replace(s.evidence, **{name: kind(v)}))


T = TypeVar("T")
Axis = tuple[str, Sequence[Any], Callable[[T, Any], T]]
"""One coordinate of an ascent: its name, the values tried, and how a value changes the current point."""


def coordinate_ascent(
    start: T, axes: Sequence[Axis[T]], objective: Callable[[T], float], min_gain: float, rounds: int = 3
) -> T:
    """From ``start``, try every value of every axis in turn and keep a step only when it raises
    ``objective`` (the mean tuning MRR) by more than ``min_gain``; stop after ``rounds`` or a round with no
    step. Shared by this script and ``bench/tune_fields.py``."""
    best, score = start, objective(start)
    print(f"  start: tuning MRR {score:.4f}", flush=True)
    for _ in range(rounds):
        improved = False
        for name, values, step in axes:
            for value in values:
                trial = step(best, value)
                trial_score = objective(trial)
                if trial_score > score + min_gain:
                    best, score, improved = trial, trial_score, True
                    print(f"  {name} {value}: tuning MRR {score:.4f}", flush=True)
        if not improved:
            break
    return best


# ------------------------------------------------------------------------------------------- no_match
def feature_rows(lines: list[dict[str, Any]], setting: Setting) -> list[dict[str, float]]:
    # The engine decides on the candidates it fetched (the first ``depth``), as here.
    return [
        features(line["query"]["query"], ordered(line, setting)[: setting.depth], line.get("store_rows"))
        for line in lines
    ]


NO_MATCH_FEATURES = ("text", "lexical_scaled", "coverage", "coverage_document")
"""What the fitted model reads (docs/retrieval.md, 2026-12-04 night): of ``FEATURES``, chosen with whole
documents held out (``bench/no_match_features.py``, realistic tuning half): ``coverage_document`` (the top
figure's document's fetched texts together) instead of ``own`` and ``coverage5``, which read the figure's own
words and so punish an untitled chart panel; not ``agree``; ``lexical_scaled``, not ``lexical`` (a model
fitted at one store size keeps its refusals at the other). A weight left out of the settings counts as 0."""
CV_FOLDS, CV_SHUFFLES = 5, 5
"""How the threshold's out-of-fold probabilities are made (``cross_validated_threshold``)."""


def fit_logistic(
    rows: list[dict[str, float]],
    labels: list[int],
    ridge: float = 1.0,
    names: Sequence[str] = NO_MATCH_FEATURES,
) -> dict[str, float]:
    """Newton's method on the L2-penalised log-likelihood (the bias is not penalised); ``names``: the
    features read from ``rows`` (bench/no_match_features.py tries others)."""
    import numpy as np

    x = np.array([[1.0, *(r[f] for f in names)] for r in rows])
    y = np.array(labels, dtype=float)
    w = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * ridge
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        grad = x.T @ (p - y) + penalty @ w
        hess = x.T @ (x * (p * (1 - p))[:, None]) + penalty
        w -= np.linalg.solve(hess, grad)
    return {
        "bias": round(float(w[0]), 4),
        **{f: round(float(v), 4) for f, v in zip(names, w[1:], strict=True)},
    }


def curve_point(probs: list[float], labels: list[int], threshold: float) -> tuple[float, float]:
    """(share of answerable refused, share of unanswerable caught) at ``threshold``."""
    answerable = [p for p, y in zip(probs, labels, strict=True) if y == 1]
    unanswerable = [p for p, y in zip(probs, labels, strict=True) if y == 0]
    refused = sum(p < threshold for p in answerable) / max(1, len(answerable))
    caught = sum(p < threshold for p in unanswerable) / max(1, len(unanswerable))
    return refused, caught


def labelled(lines: list[dict[str, Any]], half: str) -> tuple[list[dict[str, Any]], list[int]]:
    subset = [line for line in lines if line["split"] == half]
    return subset, [int(bool(line["query"].get("doc"))) for line in subset]


def highest_threshold(probs: Sequence[float], labels: Sequence[int], max_refused: float) -> float:
    """The highest threshold (a probability, rounded as the settings keep it) that refuses at most
    ``max_refused`` of the answerable questions."""
    thresholds = sorted({round(p, 4) for p in probs} | {0.0})
    return max(t for t in thresholds if curve_point(list(probs), list(labels), t)[0] <= max_refused)


def question_groups(lines: Sequence[dict[str, Any]], setting: Setting) -> list[str]:
    """The document each question is about, for folds that hold whole documents out: an answerable
    question's answer document; an unanswerable one's top candidate's document (the document it nearly
    matches), so that a held-out fold looks like documents the model never saw."""
    out = []
    for line in lines:
        doc = line["query"].get("doc")
        if not doc:
            pool = ordered(line, setting)
            doc = pool[0].doc if pool else f"none:{line['query'].get('id', len(out))}"
        out.append(str(doc))
    return out


def fold_assignment(n: int, seed: int, folds: int, groups: Sequence[str] | None = None) -> list[int]:
    """Each question's fold. Without ``groups``: the questions shuffled by ``seed`` and dealt in turn. With
    ``groups``: whole groups shuffled by ``seed``, each given to the fold with the fewest questions so far
    (leave-documents-out: no document has questions on both sides of a split)."""
    if groups is None:
        order = list(range(n))
        random.Random(seed).shuffle(order)
        return [fold for _, fold in sorted((i, k % folds) for k, i in enumerate(order))]
    members: dict[str, list[int]] = {}
    for i, group in enumerate(groups):
        members.setdefault(group, []).append(i)
    names = sorted(members)
    random.Random(seed).shuffle(names)
    sizes, assigned = [0] * folds, [0] * n
    for name in names:
        fold = min(range(folds), key=lambda f: (sizes[f], f))
        sizes[fold] += len(members[name])
        for i in members[name]:
            assigned[i] = fold
    return assigned


def out_of_fold_probabilities(
    rows: Sequence[dict[str, float]],
    labels: Sequence[int],
    seed: int,
    folds: int = CV_FOLDS,
    names: Sequence[str] = NO_MATCH_FEATURES,
    groups: Sequence[str] | None = None,
) -> list[float]:
    """Each question's P(answerable) from a model fitted on the other folds (``fold_assignment``: by
    question, or by document when ``groups`` is given)."""
    assigned = fold_assignment(len(labels), seed, folds, groups)
    probs = [0.0] * len(labels)
    for fold in range(folds):
        train = [i for i in range(len(labels)) if assigned[i] != fold]
        weights = fit_logistic([rows[i] for i in train], [labels[i] for i in train], names=names)
        for i in range(len(labels)):
            if assigned[i] == fold:
                probs[i] = probability(rows[i], weights, names)
    return probs


def probability(row: dict[str, float], weights: dict[str, float], names: Sequence[str]) -> float:
    """P(answerable) of a model over ``names`` (``answerable_probability`` reads only the engine's)."""
    z = weights["bias"] + sum(weights[n] * row[n] for n in names)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def cross_validated_threshold(
    rows: list[dict[str, float]],
    labels: list[int],
    max_refused: float,
    groups: Sequence[str] | None = None,
    names: Sequence[str] = NO_MATCH_FEATURES,
) -> float:
    """The threshold chosen on out-of-fold probabilities, the median over ``CV_SHUFFLES`` splits. A model
    scores the questions it was fitted on higher than new ones, so a threshold chosen on those scores refuses
    more than ``max_refused`` of new answerable questions (the reporting halves refused 6.8-9.8%). With
    ``groups`` the folds hold whole documents out: questions about documents nobody tuned on score lower
    still (the realistic reporting half refused 18.2% at a threshold chosen on folds by question)."""
    chosen = sorted(
        highest_threshold(
            out_of_fold_probabilities(rows, labels, seed, names=names, groups=groups), labels, max_refused
        )
        for seed in range(CV_SHUFFLES)
    )
    return chosen[len(chosen) // 2]


def fit_no_match(
    lines: list[dict[str, Any]], setting: Setting, max_refused: float
) -> tuple[dict[str, float], float]:
    """Weights fitted on every tuning question; the threshold on leave-documents-out probabilities."""
    subset, labels = labelled(lines, "tune")
    rows = feature_rows(subset, setting)
    groups = question_groups(subset, setting)
    return fit_logistic(rows, labels), cross_validated_threshold(rows, labels, max_refused, groups)


CURVE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def out_of_fold_curve(lines: list[dict[str, Any]], setting: Setting) -> None:
    """The tuning half's curve from out-of-fold probabilities (first shuffle), folds by question and folds
    by document (what questions about documents never tuned on see)."""
    subset, labels = labelled(lines, "tune")
    rows = feature_rows(subset, setting)
    by_question = out_of_fold_probabilities(rows, labels, seed=0)
    by_document = out_of_fold_probabilities(rows, labels, seed=0, groups=question_groups(subset, setting))
    print("\n| threshold | tune, out of fold by question: refused / caught | by document: refused / caught |")
    print("| --- | --- | --- |")
    for t in CURVE_THRESHOLDS:
        cells = [curve_point(probs, labels, t) for probs in (by_question, by_document)]
        print(f"| {t:.3f} | " + " | ".join(f"{r:.1%} / {c:.1%}" for r, c in cells) + " |")


def no_match_curve(
    lines: list[dict[str, Any]], setting: Setting, weights: dict[str, float], chosen: float
) -> None:
    heads = [f"{h}: answerable refused | {h}: unanswerable caught" for h in HALVES]
    print(f"\n| threshold | {' | '.join(heads)} |")
    print("| --- " * (1 + 2 * len(HALVES)) + "|")
    probs, labels = {}, {}
    for half in HALVES:
        subset, labels[half] = labelled(lines, half)
        probs[half] = [answerable_probability(r, weights) for r in feature_rows(subset, setting)]
    for t in sorted({0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, chosen}):
        cells = [f"{v:.1%}" for h in HALVES for v in curve_point(probs[h], labels[h], t)]
        print(f"| {t:.3f}{' (chosen)' if t == chosen else ''} | " + " | ".join(cells) + " |")
    counts = [
        f"{h}: {sum(labels[h])} answerable, {len(labels[h]) - sum(labels[h])} unanswerable" for h in HALVES
    ]
    print(f"({'; '.join(counts)})")


PRIORS = (
    "slide_prior",
    "paper_prior",
    "picture_prior",
    "document_prior",
    "own_words_prior",
    "document_support_prior",
    "neighbour_depth",
)
"""The evidence settings whose "without" rows the tables show (when the chosen setting uses them)."""


def parse_args() -> argparse.Namespace:
    parser = replay_parser(__doc__, sized=False)
    parser.add_argument("--max-refused", type=float, default=0.05)
    parser.add_argument("--min-gain", type=float, default=0.002, help=MIN_GAIN_HELP)
    parser.add_argument("--no-grid", action="store_true", help="Report the default setting only.")
    parser.add_argument("--fusion-only", action="store_true", help="Fit no_match without priors/neighbours.")
    parser.add_argument(
        "--fusion", type=fusion_pair, help="K,W: use RRF k and lexical weight W instead of the grid's choice."
    )
    parser.add_argument("--tune-only", action="store_true", help="Print the tuning halves only.")
    parser.add_argument(
        "--as-configured",
        metavar="PROFILE",
        help="Use PROFILE's own fusion, priors and depth (what the engine runs) instead of choosing them: "
        "to refit no_match alone.",
    )
    return parser.parse_args()


def chosen_setting(args: argparse.Namespace, by_size: dict[str, list[dict[str, Any]]]) -> Setting:
    """The setting the tables report: a profile's own, the default (``--no-grid``), or the grid's choice."""
    fusion = Setting(*args.fusion) if args.fusion else None
    if args.as_configured:
        return configured_setting(args.as_configured)
    if args.no_grid:
        return fusion or Setting()
    return choose(by_size, args.min_gain, fusion)


def print_fusion_tables(by_size: dict[str, list[dict[str, Any]]], chosen: Setting) -> None:
    """Per size: the default, the chosen fusion, with priors and neighbours, each prior left out."""
    head = "| {0} R@1 | {0} R@5 | {0} R@10 | {0} MRR | {0} n "
    fusion_only = replace(chosen, evidence=EvidenceParams())
    for size, lines in by_size.items():
        print(f"\n### {size}\n\n| setting {''.join(head.format(h) for h in HALVES)}|")
        print("| --- " * (1 + 5 * len(HALVES)) + "|")
        print(table_row("default (RRF k 60, equal weights)", lines, Setting()))
        print(table_row("chosen fusion", lines, fusion_only))
        print(table_row("chosen fusion + priors + neighbours", lines, chosen))
        for name in PRIORS:
            if getattr(chosen.evidence, name):
                without = replace(chosen, evidence=replace(chosen.evidence, **{name: 0}))
                print(table_row(f"  without {name}", lines, without))
        shares = [x for x in lines if x.get("neighbours")]
        print(table_row("chosen, answers sharing a page or document", shares, chosen))
        print(table_row("default, answers sharing a page or document", shares, Setting()))


def print_no_match(
    everything_by_size: dict[str, list[dict[str, Any]]], chosen: Setting, max_refused: float
) -> None:
    """The no_match model fitted on the tuning half (of the full size when there is one), and its curves."""
    fit_on = "full" if "full" in everything_by_size else sorted(everything_by_size)[0]
    weights, threshold = fit_no_match(everything_by_size[fit_on], chosen, max_refused)
    print(f"\nno_match weights (fitted on the {fit_on} tuning half): {json.dumps(weights)}")
    print(f"threshold chosen on tune (answerable refused <= {max_refused:.0%}): {threshold}")
    for size, lines in everything_by_size.items():
        print(f"\n### no_match, {size}")
        no_match_curve(lines, chosen, weights, threshold)
        out_of_fold_curve(lines, chosen)


def main() -> None:
    args = parse_args()
    if args.tune_only:
        HALVES.remove("report")
    everything = load(args.dump)
    sizes = sorted({x["size"] for x in everything})
    everything_by_size = {size: [x for x in everything if x["size"] == size] for size in sizes}
    by_size = {
        size: [x for x in lines if x["query"].get("doc")] for size, lines in everything_by_size.items()
    }
    chosen = chosen_setting(args, by_size)
    print(
        f"chosen on the tuning halves: rrf_k {chosen.rrf_k}, lexical weight {chosen.lexical_weight}, "
        f"depth {chosen.depth}"
    )
    print(f"  evidence {json.dumps(asdict(chosen.evidence))}")
    print_fusion_tables(by_size, chosen)
    if args.fusion_only:
        chosen = replace(chosen, evidence=EvidenceParams())
        # what the configuration uses: the priors did not hold up on the reporting half
        print("\nno_match below is fitted with the chosen fusion only (priors and neighbour rule off)")
    print_no_match(everything_by_size, chosen, args.max_refused)


if __name__ == "__main__":
    main()
