"""Random tenants, groups, documents and questions for the lexical channel's tests, and a reference scorer.

The reference is BM25F written the plain way (per caller: list the visible rows, count, average, score every
row), so the index's vectorised, incremental, access-scoped arithmetic has something simple to agree with.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from figvault.retrieval.acl import acl_key
from figvault.retrieval.lexical_index import BM25FParams, Scope
from figvault.retrieval.lexical_text import Analyzer, field_texts
from figvault.search_names import LEXICAL_FIELDS

TENANTS = ("acme", "globex", "initech")
GROUPS = ("red", "blue", "green", "gold")
_WORD_TEXT = (
    "raft leader election log term vote snapshot membership latency throughput cluster network diagram chart"
    " revenue region quarterly churn turbine vibration soil moisture backlog pipeline yield solar followers"
    " entries replicated commit index heartbeat timeout candidate majority quorum"
)
WORDS = tuple(_WORD_TEXT.split(" "))
RARE = ("zygomorphic", "quillwort", "xerophyte", "bryozoan")

META_SCHEMA = pa.schema(
    [("unit_id", pa.string()), ("tenant", pa.string()), ("acl_key", pa.string()), ("doc_id", pa.string()),
     ("kind", pa.string())]
)  # fmt: skip


def sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    if rng.random() < 0.15:
        words.append(rng.choice(RARE))
    return " ".join(words)


def random_doc(
    rng: random.Random, serial: int, tenant: str, groups: list[str], *, rare: bool = False
) -> list[dict[str, Any]]:
    """The stored rows of one document: 1-4 units sharing a page text and a document name; ``rare``: every
    caption holds a rare word (what a leak would show first: a rare word's IDF)."""
    doc_id = f"{tenant}-doc{serial}"
    page_text = sentence(rng, rng.randint(0, 30))
    title = sentence(rng, 3) if rng.random() < 0.5 else None
    rows = []
    for i in range(rng.randint(1, 4)):
        rows.append(
            {
                "unit_id": f"{doc_id}-u{i}",
                "tenant": tenant,
                "acl_key": acl_key(groups),
                "groups": list(groups),
                "doc_id": doc_id,
                "doc": f"{doc_id}_{rng.choice(WORDS)}.pdf",
                "kind": rng.choice(["chart", "raster", "vector"]),
                "label": f"Figure {i + 1}" if rng.random() < 0.6 else "",
                "caption": sentence(rng, rng.randint(0, 12)) + (f" {rng.choice(RARE)}" if rare else ""),
                "context": sentence(rng, rng.randint(0, 20)),
                "figure_text": sentence(rng, rng.randint(0, 8)),
                "title": sentence(rng, 3) if rng.random() < 0.3 else "",
                "page_text": page_text,
                "meta": {"title": title},
            }
        )
    return rows


def random_groups(rng: random.Random) -> list[str]:
    return sorted(rng.sample(GROUPS, rng.randint(1, 2)))


def random_query(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(1, 5))]
    if rng.random() < 0.4:
        words.append(rng.choice(RARE))
    if rng.random() < 0.2:
        words.append("the")  # a stop word
    return " ".join(words)


def scope_of(tenant: str, groups: list[str] | None, rows: Iterable[Mapping[str, Any]]) -> Scope:
    """The scope of a caller with ``groups`` (None: the whole tenant), from the group sets in ``rows``."""
    if groups is None:
        return Scope(tenant, None)
    sets = {r["acl_key"]: r["groups"] for r in rows if r["tenant"] == tenant}
    return Scope(tenant, frozenset(k for k, g in sets.items() if set(g) & set(groups)))


def invisible_to(rng: random.Random, tenant: str, groups: list[str]) -> tuple[str, list[str]]:
    """A tenant and group set whose units a caller of ``tenant`` with ``groups`` may not see."""
    if rng.random() < 0.5:
        return rng.choice([t for t in TENANTS if t != tenant]), random_groups(rng)
    others = [g for g in GROUPS if g not in groups]
    return tenant, sorted(rng.sample(others, rng.randint(1, len(others))))


_COUNTS: dict[tuple[str, str], Any] = {}


def _counts(analyzer: Analyzer, text: str) -> Any:
    key = (analyzer.fingerprint, text)
    if key not in _COUNTS:
        _COUNTS[key] = analyzer.counts(text)
    return _COUNTS[key]


def reference_search(
    rows: Iterable[Mapping[str, Any]],
    scope: Scope,
    query: str,
    limit: int,
    params: BM25FParams,
    analyzer: Analyzer,
) -> list[tuple[str, float]]:
    visible = [
        r for r in rows if r["tenant"] == scope.tenant and (scope.keys is None or r["acl_key"] in scope.keys)
    ]
    if not visible:
        return []
    counts = [[_counts(analyzer, t) for t in field_texts(r)] for r in visible]
    lengths = [[sum(c.values()) for c in fields] for fields in counts]
    n = len(visible)
    avg = [sum(lens[f] for lens in lengths) / n for f in range(len(LEXICAL_FIELDS))]
    scores: dict[str, float] = {}
    for term, qtf in analyzer.counts(query).items():
        holders = [i for i, fields in enumerate(counts) if any(term in c for c in fields)]
        if not holders:
            continue
        df = len(holders)
        idf = math.log(1.0 + (n - df + 0.5) / (df + 0.5))
        for i in holders:
            pseudo = 0.0
            for f, c in enumerate(counts[i]):
                if term in c:
                    norm = 1.0 - params.b[f] + params.b[f] * lengths[i][f] / avg[f] if avg[f] else 1.0
                    pseudo += params.weights[f] * c[term] / norm
            uid = visible[i]["unit_id"]
            scores[uid] = scores.get(uid, 0.0) + qtf * idf * pseudo * (params.k1 + 1) / (params.k1 + pseudo)
    ranked = sorted(scores.items(), key=lambda p: (-round(p[1], 9), p[0]))
    return ranked[:limit]
