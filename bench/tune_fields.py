"""Refit the lexical channel's BM25F field weights (and k1) on the tuning halves only.

Replays a dump of ``bench/retrieval.py --dump FILE`` against the data folders it was made from: for every
tuning question the lexical channel is asked again, with other ``lexical.field_weights`` / ``lexical.k1``,
through the stored BM25F index itself (``LexicalIndex.search``, the caller's whole tenant, as the bench
asks); the dense channels' rankings come from the dump. The new lexical ranking replaces the dumped one and
the rest is ``bench/tune_retrieval.py``'s replay (fusion, evidence). Coordinate ascent over a small grid per
field, best mean tuning MRR over the sizes given (ties: the smaller change). Prints the chosen weights and
the tuning and reporting halves for the configured and the chosen weights; the reporting half plays no part
in the choice. Writes a new dump with the chosen weights' lexical rankings when ``--out`` is given (for
``bench/tune_retrieval.py``).

    .venv/bin/python bench/tune_fields.py DUMP --data full=/tmp/x/offline-full-... [--data labelled=...]
        [--fusion 10,2.0] [--out DUMP2]

The replay is the profile's own (fusion, priors, fetch depth: ``tune_retrieval.configured_setting``);
``--fusion K,W`` replays that fusion without priors instead.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import MIN_GAIN_HELP, data_folders, fusion_pair, replay_parser  # noqa: E402
from tune_retrieval import (  # noqa: E402
    CANDIDATE_K,
    HALVES,
    Axis,
    Setting,
    configured_setting,
    coordinate_ascent,
    load,
    rank_of,
    table_row,
)

from figvault.retrieval.evaluation import rank_metrics  # noqa: E402
from figvault.retrieval.lexical_index import BM25FParams, LexicalIndex, Scope  # noqa: E402
from figvault.retrieval.schema import F_ID, LEXICAL  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.search_names import LEXICAL_FIELDS  # noqa: E402
from figvault.settings import load_settings  # noqa: E402

WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0, 2.0, 3.0)
K1_GRID = (0.9, 1.2, 1.6, 2.0)
ROW_FIELDS = (
    "doc",
    "page",
    "geometry",
    "kind",
    "label",
    "caption",
    "context",
    "figure_text",
    "meta",
    "title",
)


class SizeData:
    """One size's stored BM25F index and every stored row (what a re-ranked lexical list needs)."""

    def __init__(self, data_dir: Path, profile: str) -> None:
        settings = load_settings(profile, data_dir=data_dir)
        engine = SearchEngine.from_settings(settings)
        collection = engine.store.served_collection()
        assert collection, f"nothing indexed under {data_dir}"
        self.index: LexicalIndex = engine.lexical.sync(collection).index
        fields = [f for f in (F_ID, *ROW_FIELDS) if f not in engine.store.absent_fields(collection)]
        self.rows = {r[F_ID]: r for r in engine.store.query_rows(collection, f'{F_ID} != ""', fields)}
        self.scope = Scope("default", None)
        self.params = engine.lexical.params

    def relexed(self, line: dict[str, Any], params: BM25FParams) -> dict[str, Any]:
        """``line`` with its lexical ranking asked again under ``params`` (dense rankings kept)."""
        hits = self.index.search(line["query"]["query"], self.scope, CANDIDATE_K, params)
        by_id: dict[str, dict[str, Any]] = {}
        for c in line["candidates"]:
            dense = {k: v for k, v in c["channels"].items() if k != LEXICAL}
            if dense:
                by_id[c["unit_id"]] = {"unit_id": c["unit_id"], "channels": dense, "row": c["row"]}
        for uid, score in hits:
            entry = by_id.setdefault(uid, {"unit_id": uid, "channels": {}, "row": self.rows[uid]})
            entry["channels"][LEXICAL] = score
        return {**line, "candidates": list(by_id.values())}


def objective(
    data: dict[str, SizeData], lines: dict[str, list[dict[str, Any]]], params: BM25FParams, setting: Setting
) -> float:
    scores = []
    for size, size_lines in lines.items():
        ranks = [rank_of(data[size].relexed(x, params), setting) for x in size_lines if x["split"] == "tune"]
        scores.append(rank_metrics(ranks)["MRR"])
    return sum(scores) / len(scores)


def ascend(
    data: dict[str, SizeData],
    lines: dict[str, list[dict[str, Any]]],
    start: BM25FParams,
    setting: Setting,
    min_gain: float,
) -> BM25FParams:
    """Coordinate ascent (``tune_retrieval.coordinate_ascent``): each field weight over the grid, then k1."""

    def weight_step(i: int) -> Callable[[BM25FParams, float], BM25FParams]:
        return lambda p, w: replace(p, weights=(*p.weights[:i], w, *p.weights[i + 1 :]))

    axes: list[Axis[BM25FParams]] = [
        (name, WEIGHT_GRID, weight_step(i)) for i, name in enumerate(LEXICAL_FIELDS)
    ]
    axes.append(("k1", K1_GRID, lambda p, k1: replace(p, k1=k1)))
    print(f"start {start.weights} k1 {start.k1}", flush=True)
    return coordinate_ascent(start, axes, lambda p: objective(data, lines, p, setting), min_gain)


def main() -> None:
    parser = replay_parser(__doc__)
    parser.add_argument(
        "--fusion",
        type=fusion_pair,
        help="K,W: replay this RRF k and lexical weight without priors (default: the profile's own)",
    )
    parser.add_argument("--out", type=Path, help="Write the dump with the chosen weights' lexical rankings.")
    parser.add_argument("--min-gain", type=float, default=0.002, help=MIN_GAIN_HELP)
    parser.add_argument("--report", action="store_true", help="Also print the reporting halves.")
    args = parser.parse_args()
    if not args.report:
        HALVES.remove("report")  # the tables print the tuning halves only
    setting = Setting(*args.fusion) if args.fusion else configured_setting(args.profile)
    data = {size: SizeData(folder, args.profile) for size, folder in data_folders(args.data).items()}
    everything = [x for x in load(args.dump) if x["size"] in data]
    lines = {s: [x for x in everything if x["size"] == s and x["query"].get("doc")] for s in data}
    start = next(iter(data.values())).params
    chosen = ascend(data, lines, start, setting, args.min_gain)
    print(
        f"\nchosen on the tuning halves: k1 {chosen.k1}, field_weights "
        + json.dumps(dict(zip(LEXICAL_FIELDS, chosen.weights, strict=True)))
    )
    for size, size_lines in lines.items():
        print(f"\n### {size}\n")
        for name, params in (("configured", start), ("chosen", chosen)):
            relexed = [data[size].relexed(x, params) for x in size_lines if x["split"] in HALVES]
            print(table_row(name, relexed, setting))
    if args.out:
        with args.out.open("w", encoding="utf-8") as out:
            for x in everything:
                out.write(json.dumps(data[x["size"]].relexed(x, chosen)) + "\n")


if __name__ == "__main__":
    main()
