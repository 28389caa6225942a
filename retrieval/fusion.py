"""Client-side fusion of per-channel rankings, on every store.

Each channel is searched on its own (ids and scores only, side by side), which keeps every channel's exact
score for the results and is cheaper than Milvus Lite's ``hybrid_search`` with its second lexical pass.
The formulas are Milvus's RRFRanker and WeightedRanker: RRF sums weight/(k + rank) over the channels (Milvus's
has no weights: all 1.0 is its formula); the weighted ranker sums weight * normalised score (cosine (1+x)/2,
BM25 2/pi*atan(x)).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Literal

from figvault.retrieval.schema import LEXICAL
from figvault.search_names import SEARCH_CHANNELS

CHANNELS = SEARCH_CHANNELS
"""The channels a search ranks by (``LEXICAL`` among them): the keys of ``search.weights``."""


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

    RRF ties are common (ranks (1, 3) and (3, 1) sum alike) and go to the unit with the larger weighted sum
    of normalised channel scores, then the smaller id. Milvus breaks them by primary key alone, and ids are
    content hashes: which of two tied figures came first was chance (an exact-caption upload lost to
    another document's figure by id order in one run and won in the next).
    """
    fused: dict[str, float] = {}
    evidence: dict[str, float] = {}
    for channel, ranking in rankings.items():
        for rank, (unit_id, score) in enumerate(ranking, start=1):
            weight = weights.get(channel, 1.0)
            weighted = weight * normalised(channel, score)
            value = weight / (rrf_k + rank) if method == "rrf" else weighted
            fused[unit_id] = fused.get(unit_id, 0.0) + value
            evidence[unit_id] = evidence.get(unit_id, 0.0) + weighted
    ordered = sorted(fused.items(), key=lambda item: (-item[1], -evidence[item[0]], item[0]))
    return ordered[:limit]
