"""Client-side fusion of per-channel rankings, on every store.

Each channel is searched on its own (ids and scores only, side by side), which keeps every channel's exact
score for the results and is cheaper than Milvus Lite's ``hybrid_search`` with its second lexical pass.
The formulas are Milvus's own RRFRanker and WeightedRanker: RRF sums 1/(k + rank) over the channels; the
weighted ranker sums weight * normalised score (cosine (1+x)/2, BM25 2/pi*atan(x)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from figvault.retrieval.schema import LEXICAL


def normalised(channel: str, score: float) -> float:
    if channel == LEXICAL:
        return 2.0 / math.pi * math.atan(score)
    return (1.0 + score) / 2.0


def fuse(
    rankings: Mapping[str, Sequence[tuple[str, float]]],
    *,
    method: Literal["rrf", "weighted"],
    rrf_k: int,
    weights: Mapping[str, float],
    limit: int,
) -> list[tuple[str, float]]:
    """``rankings``: channel -> [(unit_id, score)] best first. Returns [(unit_id, fused score)] best first.

    Ties keep the order in which ids first appear (channel order, then rank), so results are deterministic.
    """
    fused: dict[str, float] = {}
    for channel, ranking in rankings.items():
        for rank, (unit_id, score) in enumerate(ranking, start=1):
            if method == "rrf":
                value = 1.0 / (rrf_k + rank)
            else:
                value = weights.get(channel, 1.0) * normalised(channel, score)
            fused[unit_id] = fused.get(unit_id, 0.0) + value
    ordered = sorted(fused.items(), key=lambda item: -item[1])
    return ordered[:limit]
