"""The lexical step on Milvus Lite: Lite's own BM25 (what search did before) against figvault's index.

Builds N synthetic units (Zipf-distributed words: a caption, a context and the page text shared by the 20
units of a document; 1-3 of 30 groups each) in a collection that still has Milvus's BM25 field, so both can
be asked the same questions in one run, interleaved: A = Lite's BM25 search under the caller's access
filter, B = ``LexicalChannel.search`` with the caller's scope. Also prints the index's build time, snapshot
load time and memory, and B with a request filter. The caller holds 2 of the 30 groups.

    .venv/bin/python bench/lexical.py --units 10000 [--queries 100] [--data-dir DIR to keep/reuse the store]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.access import Principal  # noqa: E402
from figvault.retrieval.acl import build_filter, visible_acl_keys  # noqa: E402
from figvault.retrieval.acl_sets import AclSetTable  # noqa: E402
from figvault.retrieval.lexical import LexicalChannel  # noqa: E402
from figvault.retrieval.lexical_index import Scope  # noqa: E402
from figvault.retrieval.milvus_store import MilvusUnitStore  # noqa: E402
from figvault.retrieval.schema import DenseChannel, StoreLayout, unit_to_row  # noqa: E402
from figvault.settings import Settings, load_settings  # noqa: E402
from figvault.units import DocumentMeta, FigureKind, FigureUnit, make_unit_id  # noqa: E402

LAYOUT = StoreLayout(
    embedding_version="vbenchlex1", dense=(DenseChannel("vec", 8, "vec_b"),), lexical=True, native_bm25=True
)
GROUPS = [f"g{i}" for i in range(30)]
VOCAB = 20_000
TENANT = "bench"


class Words:
    def __init__(self, rng: random.Random) -> None:
        weights = 1.0 / np.arange(1, VOCAB + 1)
        self.cdf = np.cumsum(weights / weights.sum())
        self.rng = rng

    def take(self, n: int) -> str:
        picks = np.searchsorted(self.cdf, [self.rng.random() for _ in range(n)])
        return " ".join(f"w{int(i)}" for i in picks)


def build(store: MilvusUnitStore, acl: AclSetTable, units: int) -> str:
    rng = random.Random(units)
    words = Words(rng)
    collection = store.ensure_collection(LAYOUT)
    if store.count(collection) >= units:
        return collection
    vec = np.random.default_rng(1)
    rows = []
    for d in range(units // 20):
        groups = sorted(rng.sample(GROUPS, rng.randint(1, 3)))
        key = acl.register(TENANT, groups)
        page = words.take(60)
        for i in range(20):
            bbox = (float(i), 0.0, i + 100.0, 80.0)
            unit = FigureUnit(
                unit_id=make_unit_id(f"{TENANT}/doc{d}", 1 + i // 4, "raster", bbox),
                doc=f"doc{d}.pdf",
                doc_sha256="0" * 64,
                doc_id=f"doc{d}.pdf",
                page=1 + i // 4,
                page_size=(595.0, 842.0),
                bbox=bbox,
                kind=FigureKind.RASTER if i % 2 else FigureKind.CHART,
                caption=words.take(rng.randint(6, 15)),
                context=words.take(rng.randint(5, 20)),
                meta=DocumentMeta(mime="application/pdf", pages=5),
                tenant=TENANT,
                groups=groups,
            )
            v = vec.standard_normal(8).astype(np.float32)
            rows.append(unit_to_row(unit, key, {"vec": (v / np.linalg.norm(v)).tolist()}, page_text=page))
        if len(rows) >= 5000:
            store.upsert_rows(collection, rows)
            rows = []
    store.upsert_rows(collection, rows)
    store.flush(collection)
    return collection


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def build_index(settings: Settings, store: MilvusUnitStore, collection: str) -> LexicalChannel:
    """The lexical index of ``collection`` built from the store (timed, with the RSS it grew by), then its
    snapshot loaded by a second channel (timed); prints both. Returns the first channel."""
    snapshot = settings.lexical_dir / f"{collection}.npz"
    snapshot.unlink(missing_ok=True)
    before = rss_mb()
    channel = LexicalChannel.from_settings(settings, store)
    t = time.perf_counter()
    channel.sync(collection)
    built_s = time.perf_counter() - t
    grown = rss_mb() - before
    t = time.perf_counter()
    LexicalChannel.from_settings(settings, store).sync(collection)
    loaded_s = time.perf_counter() - t
    stats = channel.describe(collection)
    disk_mb = snapshot.stat().st_size / 2**20
    print(
        f"index: built in {built_s:.1f} s, snapshot loaded in {loaded_s:.2f} s ({disk_mb:.1f} MB on disk);"
        f" {stats['units']} units, {stats['terms']} terms, {stats['postings']} postings,"
        f" arrays {stats['array_bytes'] / 2**20:.1f} MB, process RSS +{grown:.0f} MB while building"
    )
    return channel


def time_searches(
    store: MilvusUnitStore,
    channel: LexicalChannel,
    collection: str,
    questions: list[str],
    expr: str,
    scope: Scope,
    top_k: int,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per question, interleaved (A then B on the same question): Lite's BM25, figvault's, figvault's with a
    kind filter (ms each), and the overlap of Lite's and figvault's top ``top_k``."""
    native, ours, filtered, overlap = [], [], [], []
    for q in questions:  # interleaved: A then B on the same question
        t = time.perf_counter()
        result = store.client.search(
            collection,
            data=[q],
            anns_field="lexical",
            filter=expr,
            limit=top_k,
            output_fields=["unit_id"],
            search_params={"metric_type": "BM25", "params": {}},
        )
        native.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        hits = channel.search(collection, q, scope, "", top_k)
        ours.append((time.perf_counter() - t) * 1000)
        t = time.perf_counter()
        channel.search(collection, q, scope, '(kind in ["chart"])', top_k)
        filtered.append((time.perf_counter() - t) * 1000)
        theirs = {h["entity"]["unit_id"] for h in result[0]}
        overlap.append(len(theirs & {h.unit_id for h in hits}) / max(1, min(len(theirs), len(hits))))
    return native, ours, filtered, overlap


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--top-k", type=int, default=50)
    parser.add_argument("--data-dir", type=Path)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("pymilvus", "milvus_lite", "grpc"):
        logging.getLogger(name).setLevel(logging.ERROR)
    print(f"load average before: {os.getloadavg()}")
    settings = load_settings("offline", data_dir=args.data_dir or Path(tempfile.mkdtemp(prefix="fv-lex-")))
    settings.store.alias = "bench_lexical"
    store = MilvusUnitStore.from_settings(settings)
    acl = AclSetTable.at(settings.registry_path)
    t = time.perf_counter()
    collection = build(store, acl, args.units)
    print(f"store: {store.count(collection)} units ({time.perf_counter() - t:.1f} s to build or open)")

    caller = Principal(user="bench", tenant=TENANT, groups=["g3", "g17"])
    sets = acl.sets_of(TENANT)
    keys = visible_acl_keys(caller, sets)
    expr = build_filter(caller, None, sets, form="acl_key", visible=keys)
    scope = Scope(TENANT, frozenset(keys))
    rng = random.Random(7)
    words = Words(rng)
    questions = [words.take(rng.randint(2, 6)) for _ in range(args.queries)]

    channel = build_index(settings, store, collection)
    print(f"caller sees {len(keys)} of {len(sets)} group sets; access filter {len(expr)} characters")
    native, ours, filtered, overlap = time_searches(
        store, channel, collection, questions, expr, scope, args.top_k
    )
    print(f"\n{args.units} units, {len(questions)} questions, top {args.top_k}, p50 / p95 ms")
    print(f"{'Lite BM25 (segment statistics, before)':44} {pct(native, 50):8.1f} {pct(native, 95):8.1f}")
    print(f"{'figvault BM25F (caller statistics, after)':44} {pct(ours, 50):8.1f} {pct(ours, 95):8.1f}")
    print(f"{'figvault, with a kind filter':44} {pct(filtered, 50):8.1f} {pct(filtered, 95):8.1f}")
    print(f"ratio p50 before/after: {statistics.median(native) / statistics.median(ours):.1f}x")
    print(
        f"top-{args.top_k} overlap with Lite's BM25 (different statistics and fields): {np.mean(overlap):.2f}"
    )
    print(f"load average after: {os.getloadavg()}")
    print(json.dumps({"units": args.units, "native_p50": pct(native, 50), "ours_p50": pct(ours, 50)}))


if __name__ == "__main__":
    main()
