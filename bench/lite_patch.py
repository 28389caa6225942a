"""One filtered channel search on an existing Milvus Lite data folder: Lite's own code against the patch
(retrieval/lite_patch.py), interleaved query by query, with the same hits checked.

    .venv/bin/python bench/lite_patch.py DATA_DIR [--queries 40] [--groups a,b] [--tenant T]

DATA_DIR: a folder ingested with the offline profile, e.g. bench/http_load.py's ``<cache>/100000-lite``
(synthetic units, caller groups team00,team07,team13, tenant bench) or ``<cache>/corpus-lite`` (groups
staff, tenant default). Prints p50/p95 ms per dense channel and code path, and the ratio (the lexical
channel is figvault's own BM25F index, no Lite search).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from percentiles import percentile  # noqa: E402

from figvault.access import Principal, Role  # noqa: E402
from figvault.retrieval import lite_patch  # noqa: E402
from figvault.retrieval.schema import F_ID  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.settings import load_settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--groups", default="team00,team07,team13")
    parser.add_argument("--tenant", default="bench")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    from milvus_lite.engine import collection as lite_collection

    assert lite_patch.apply(), lite_patch.why_not_applicable()
    patched, original = lite_collection.execute_search_with_index, lite_patch.original_search()
    engine = SearchEngine.from_settings(load_settings("offline", data_dir=args.data_dir))
    name, layout, _ = engine.served()
    principal = Principal(
        user="bench", tenant=args.tenant, groups=args.groups.split(","), roles=[Role.READER]
    )
    expr = engine.filter_for(principal, None)
    rng = np.random.default_rng(1)
    # Dense channels only: the lexical one is figvault's own index (retrieval/lexical.py), no Lite search.
    channels = [c.name for c in layout.dense]
    times: dict[tuple[str, str], list[float]] = {}
    for i in range(args.queries + 2):
        vector = rng.standard_normal(layout.dense[0].dim).astype(np.float32)
        query = {c.name: vector / np.linalg.norm(vector) for c in layout.dense}
        for channel in channels:
            hits = {}
            order = [("lite", original), ("patched", patched)]
            for label, fn in order if i % 2 else reversed(order):
                lite_collection.execute_search_with_index = fn
                t = time.perf_counter()
                found = engine.store.search_channel(
                    name, channel, query[channel], expr, args.limit, output_fields=[F_ID]
                )
                if i >= 2:  # the first two warm both paths up
                    times.setdefault((channel, label), []).append((time.perf_counter() - t) * 1000)
                hits[label] = [(h.unit_id, round(h.score, 5)) for h in found]
            assert hits["lite"] == hits["patched"], f"different hits on query {i}, channel {channel}"
    lite_collection.execute_search_with_index = patched
    rows = engine.store.count(name)
    print(
        f"{rows:,} units in {args.data_dir}, filter {len(expr)} chars, top {args.limit},"
        f" load {os.getloadavg()[0]:.2f}"
    )
    print(f"{'channel':<10}{'path':<10}{'p50 ms':>9}{'p95 ms':>9}")
    for channel in channels:
        for label in ("lite", "patched"):
            values = times[(channel, label)]
            print(f"{channel:<10}{label:<10}{statistics.median(values):>9.1f}{percentile(values, 95):>9.1f}")
        ratio = statistics.median(times[(channel, "lite")]) / statistics.median(times[(channel, "patched")])
        print(f"{'':<10}{'ratio':<10}{ratio:>9.2f}  (same hits on every query)")


if __name__ == "__main__":
    main()
