"""Search latency with and without the access filter, on synthetic units in Milvus Lite (or a server URI).

Units get random unit vectors and belong to documents of 20 units; each document has a random set of 1-3
of 30 groups. A caller has 2 groups. Compared per size: no access filter (tenant only: the local operator),
the ``acl_key in [...]`` filter figvault uses, and (for reference) the ARRAY filter it replaces.

    .venv/bin/python bench/search_latency.py [--sizes 10000,100000] [--dim 384] [--queries 50] [--uri URI]
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.access import Principal, local_operator  # noqa: E402
from figvault.retrieval.acl import acl_key, build_filter, in_list  # noqa: E402
from figvault.retrieval.milvus_store import MilvusUnitStore  # noqa: E402
from figvault.retrieval.schema import F_GROUPS, F_ID, DenseChannel, StoreLayout  # noqa: E402
from figvault.settings import load_settings  # noqa: E402
from figvault.units import DocumentMeta, FigureKind, FigureUnit  # noqa: E402

GROUPS = [f"g{i:02d}" for i in range(30)]


def make_rows(n: int, dim: int, rng: np.random.Generator, pyrng: random.Random) -> tuple[list[dict], dict]:
    from figvault.retrieval.schema import unit_to_row

    vectors = rng.standard_normal((n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows, sets = [], {}
    groups: list[str] = []
    for i in range(n):
        if i % 20 == 0:
            groups = sorted(pyrng.sample(GROUPS, pyrng.randint(1, 3)))
            sets[acl_key(groups)] = groups
        unit = FigureUnit(
            unit_id=f"u{i:08d}",
            doc=f"doc{i // 20}.pdf",
            doc_sha256="0" * 64,
            doc_id=f"doc{i // 20}",
            page=1 + i % 20,
            page_size=(595.0, 842.0),
            bbox=(0.0, 0.0, 100.0, 100.0),
            kind=FigureKind.RASTER,
            caption=f"figure {i}",
            meta=DocumentMeta(),
            tenant="default",
            groups=groups,
        )
        rows.append(unit_to_row(unit, acl_key(groups), {"vec": vectors[i].tolist()}, lexical=False))
    return rows, sets


def timed(fn, repeats: int) -> tuple[float, float, int]:
    samples, hits = [], 0
    for i in range(repeats):
        start = time.perf_counter()
        hits += len(fn(i))
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))]
    return statistics.median(samples), p95, hits // max(1, repeats)


def time_size(args: argparse.Namespace, size: int, rng: np.random.Generator, pyrng: random.Random) -> None:
    """One store of ``size`` synthetic units (dropped after): its insert, first search and the search time
    under each filter (tenant only, the caller's access keys, the ARRAY reference), printed."""
    settings = load_settings("offline", data_dir=Path(tempfile.mkdtemp(prefix="figvault-lat-")))
    settings.store.uri = args.uri
    settings.store.alias = f"lat{size}"
    settings.store.insert_batch = 2000
    store = MilvusUnitStore.from_settings(settings)
    layout = StoreLayout(embedding_version=f"vlat{size}", dense=(DenseChannel("vec", args.dim, "vec"),))
    collection = store.ensure_collection(layout)
    rows, sets = make_rows(size, args.dim, rng, pyrng)
    start = time.perf_counter()
    store.upsert_rows(collection, rows)
    store.flush(collection)  # as ingest does: sealed segments get their HNSW index
    insert_s = time.perf_counter() - start
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    # Warm up (first search after insert builds/loads the index).
    start = time.perf_counter()
    store.search_channel(collection, "vec", queries[0], "", args.top_k)
    warm_s = time.perf_counter() - start
    caller = Principal(user="bench", groups=["g03", "g17"])
    acl_expr = build_filter(caller, None, sets)
    assert acl_expr is not None
    visible = store.count(collection, acl_expr)
    cases = {
        "none (tenant only)": build_filter(local_operator(), None, None),
        f"acl_key in [{len(acl_expr.split(','))} keys]": acl_expr,
    }
    if size <= args.array_max:
        groups = in_list("x", caller.groups).split(" in ", 1)[1]
        cases["array_contains_any (ref.)"] = (
            f'tenant == "default" and array_contains_any({F_GROUPS}, {groups})'
        )
    print(
        f"# {size} units, dim {args.dim}: insert {insert_s:.1f}s, first search {warm_s:.1f}s,"
        f" caller sees {visible}"
    )
    fields = [F_ID] if args.id_only else None
    for label, expr in cases.items():
        p50, p95, hits = timed(
            lambda i, e=expr, s=store, c=collection, q=queries, f=fields: s.search_channel(
                c, "vec", q[i], e or "", args.top_k, output_fields=f
            ),
            args.queries,
        )
        print(f"{size:8d} {label:28} {p50:8.1f} {p95:8.1f} {hits:5d}")
    store.client.drop_alias(store.alias)
    store.client.drop_collection(collection)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000")
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--uri", default="", help="A Milvus server URI instead of a temporary Milvus Lite.")
    parser.add_argument(
        "--array-max", type=int, default=10_000, help="Largest size to time the ARRAY filter at."
    )
    parser.add_argument(
        "--id-only", action="store_true", help="Return only unit ids (isolates search from field fetching)."
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("pymilvus", "milvus_lite", "grpc"):
        logging.getLogger(name).setLevel(logging.ERROR)

    rng = np.random.default_rng(0)
    pyrng = random.Random(0)
    print(f"{'units':>8} {'filter':28} {'p50 ms':>8} {'p95 ms':>8} {'hits':>5}")
    for size in [int(s) for s in args.sizes.split(",")]:
        time_size(args, size, rng, pyrng)


if __name__ == "__main__":
    main()
