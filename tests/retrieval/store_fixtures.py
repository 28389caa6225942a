"""Units with random vectors for store tests: no encoder needed, the store only sees numbers."""

from __future__ import annotations

import random

import numpy as np

from figvault.retrieval.acl import acl_key
from figvault.retrieval.schema import DenseChannel, StoreLayout, unit_to_row
from figvault.units import DocumentMeta, FigureKind, FigureUnit, make_unit_id

DIM = 8
LAYOUT = StoreLayout(
    embedding_version="vtest0001", dense=(DenseChannel("text", DIM, "text_test"),), lexical=True
)
WORDS = ("raft", "leader", "log", "term", "vote", "hash", "tree", "chart", "latency", "cluster", "network")


def random_unit(rng: random.Random, i: int, *, tenant: str, groups: list[str], doc_id: str) -> FigureUnit:
    bbox = (float(i % 50), float(i // 50), float(i % 50) + 100.0, float(i // 50) + 80.0)
    words = " ".join(rng.choice(WORDS) for _ in range(5))
    return FigureUnit(
        unit_id=make_unit_id(f"{tenant}/{doc_id}/sha", 1 + i % 7, "raster", bbox),
        doc=f"{doc_id}.pdf",
        doc_sha256="0" * 64,
        doc_id=doc_id,
        page=1 + i % 7,
        page_size=(595.0, 842.0),
        bbox=bbox,
        kind=FigureKind.RASTER if i % 2 else FigureKind.CHART,
        label=f"Figure {i}",
        caption=f"Figure {i}: {words}",
        meta=DocumentMeta(created=f"20{10 + i % 15}-03-01", mime="application/pdf", pages=7),
        tenant=tenant,
        groups=groups,
        embedding_version=LAYOUT.embedding_version,
    )


def unit_vector(rng: np.random.Generator) -> list[float]:
    v = rng.standard_normal(DIM).astype(np.float32)
    return (v / np.linalg.norm(v)).tolist()


def rows_for(units: list[FigureUnit], seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    return [
        unit_to_row(u, acl_key(u.groups), {"text": unit_vector(rng)}, lexical=LAYOUT.lexical) for u in units
    ]
