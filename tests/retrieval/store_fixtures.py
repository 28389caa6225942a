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


TAG_POOL = ("finance", "board deck", "q3-2024", "Ünïcode", 'say "hi"')


def shaped_units(rng: random.Random, n: int, *, tenant: str = "t", groups: list[str] | None = None) -> list:
    """Units with varied pixel sizes (square, wide, tall and exact 6:5 and 5:6 edges), pages and tags."""
    sizes = [(600, 500), (500, 600), (400, 400), (1200, 300), (300, 1200), (800, 700), (50, 0)]
    units = []
    for i in range(n):
        width, height = (
            sizes[i % len(sizes)] if i < len(sizes) else (rng.randint(10, 2000), rng.randint(10, 2000))
        )
        tags = sorted(rng.sample(TAG_POOL, rng.randint(0, 2)))
        unit = random_unit(rng, i, tenant=tenant, groups=groups or ["g"], doc_id=f"d{i % 5}")
        units.append(unit.model_copy(update={"width": width, "height": height, "tags": tags}))
    return units


def filter_cases() -> list:
    """Request filters and the Python rule each must select exactly (same answer on Lite and a server)."""
    from figvault.search_models import SearchFilters

    def ratio(u) -> float:
        return u.width / u.height if u.height else 0.0

    return [
        (SearchFilters(tags=["finance"]), lambda u: "finance" in u.tags),
        (
            SearchFilters(tags=["board deck", 'say "hi"']),
            lambda u: bool({"board deck", 'say "hi"'} & set(u.tags)),
        ),
        (SearchFilters(tags=["Ünïcode"]), lambda u: "Ünïcode" in u.tags),
        (SearchFilters(tags=["nobody has this"]), lambda u: False),
        (SearchFilters(pages="3-5"), lambda u: 3 <= u.page <= 5),
        (SearchFilters(pages="6-"), lambda u: u.page >= 6),
        (SearchFilters(pages=[2, 2]), lambda u: u.page == 2),
        (SearchFilters(min_width=500, max_width=900), lambda u: 500 <= u.width <= 900),
        (SearchFilters(min_height=1000), lambda u: u.height >= 1000),
        (SearchFilters(max_height=400), lambda u: u.height <= 400),
        (SearchFilters(aspect="landscape"), lambda u: ratio(u) >= 1.2),
        (SearchFilters(aspect="portrait"), lambda u: 0 < ratio(u) <= 1 / 1.2),
        (SearchFilters(aspect="square"), lambda u: 1 / 1.2 <= ratio(u) <= 1.2),
        (SearchFilters(min_aspect=2.0), lambda u: ratio(u) >= 2.0),
        (
            SearchFilters(aspect="landscape", max_aspect=3.0, tags=["finance", "q3-2024"], pages="1-4"),
            lambda u: 1.2 <= ratio(u) <= 3.0 and bool({"finance", "q3-2024"} & set(u.tags)) and u.page <= 4,
        ),
    ]
