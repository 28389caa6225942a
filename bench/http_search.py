"""HTTP search latency beside the same search in-process, at N synthetic units with the access filter.

One run: (1) build a store of N synthetic units (random unit vectors for the text channel, random
caption words for BM25, 1-3 random groups of 20 per unit) with the offline profile's real encoders for
the query; (2) in a child process, time ``SearchEngine.search`` directly; (3) start ``figvault serve`` as
a real uvicorn process on loopback and time ``POST /v1/search`` with one client, then with 16 concurrent
clients (a bounded asyncio + httpx load generator). Rerank off. The caller holds 3 of the 20 groups, so
every search carries the access filter. Milvus Lite serves one process per data folder, hence the child
process for the in-process step.

    .venv/bin/python bench/http_search.py [--units 100000] [--queries 200] [--concurrency 16]

The store is embedded Milvus Lite (the default) unless ``--store-uri`` names a Milvus server, e.g. the
2.3.5 standalone of the dev extra: ``.venv/bin/milvus-server --data /tmp/milvus-bench`` (then
``--store-uri http://127.0.0.1:19530``). A 2.3 server has no BM25, so there the search is dense only.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # its sibling percentiles.py, also when imported
from percentiles import percentile

if TYPE_CHECKING:  # the figvault imports stay inside the functions: each process loads what it uses
    from figvault.retrieval.acl_sets import AclSetTable
    from figvault.retrieval.schema import StoreLayout

GROUPS = [f"team{i:02d}" for i in range(20)]
CALLER_GROUPS = ["team00", "team07", "team13"]
TENANT = "bench"
WORDS = [
    *("revenue", "quarterly", "chart", "network", "topology", "figure", "growth", "region", "share"),
    *("latency", "throughput", "cluster", "pipeline", "turbine", "vibration", "soil", "moisture"),
    *("churn", "hiring", "solar", "output", "backlog", "yield", "forecast", "budget", "architecture"),
    *("diagram", "storage", "memory", "bandwidth", "river", "discharge", "patient", "enrollment", "sales"),
]


def questions(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.sample(WORDS, 3)) for _ in range(n)]


def bench_settings(data_dir: Path, store_uri: str) -> Any:
    from figvault.settings import load_settings

    settings = load_settings("offline", data_dir=data_dir)
    if store_uri:
        settings.store.uri = store_uri
    return settings


def build_store(data_dir: Path, n_units: int, store_uri: str) -> None:
    from figvault.encoders.factory import build_encoders
    from figvault.pipeline.ingest_pipeline import store_layout
    from figvault.retrieval.acl_sets import AclSetTable
    from figvault.retrieval.milvus_store import MilvusUnitStore

    settings = bench_settings(data_dir, store_uri)
    settings.store.insert_batch = 2000
    encoders = build_encoders(settings)
    store = MilvusUnitStore.from_settings(settings)
    layout = store.supported_layout(store_layout(encoders))
    collection = store.ensure_collection(layout)
    acl_sets = AclSetTable.at(settings.registry_path)
    rng = np.random.default_rng(0)
    pick = random.Random(0)
    started = time.perf_counter()
    batch = 5000
    for start in range(0, n_units, batch):
        rows = synthetic_rows(start, min(batch, n_units - start), layout, acl_sets, rng, pick)
        store.upsert_rows(collection, rows)
    inserted = time.perf_counter() - started
    store.client.flush(collection)
    if store_uri:  # a server builds indexes in the background: time searches on finished ones only
        wait_for_indexes(store_uri, collection, layout)
    store.client.release_collection(collection)
    store.client.load_collection(collection)  # index built and loaded before anyone times a search
    index_s = time.perf_counter() - started - inserted
    print(f"built {n_units} units in {inserted:.0f}s (+{index_s:.0f}s index/load)")
    store.client.close()


def synthetic_rows(
    start: int,
    count: int,
    layout: StoreLayout,
    acl_sets: AclSetTable,
    rng: np.random.Generator,
    pick: random.Random,
) -> list[dict[str, Any]]:
    """Store rows of units ``start`` to ``start + count``: random unit vectors, one to three random groups
    (their access set registered), a caption of six random words; ``rng`` and ``pick`` advance."""
    from figvault.retrieval.schema import unit_to_row
    from figvault.units import FigureUnit

    [dense] = layout.dense
    vectors = rng.standard_normal((count, dense.dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    rows = []
    for i in range(count):
        groups = sorted(pick.sample(GROUPS, pick.randint(1, 3)))
        key = acl_sets.register(TENANT, groups)
        n = start + i
        unit = FigureUnit(
            unit_id=f"u{n:08d}",
            doc=f"doc-{n // 20}.pdf",
            doc_id=f"doc-{n // 20}",
            doc_sha256="0" * 64,
            page=1 + n % 20,
            page_size=(595.0, 842.0),
            bbox=(50.0, 50.0, 300.0, 300.0),
            kind="raster",
            caption=f"Figure {n % 20 + 1}: " + " ".join(pick.sample(WORDS, 6)),
            image="0" * 64,
            tenant=TENANT,
            groups=groups,
            embedding_version=layout.embedding_version,
        )
        rows.append(unit_to_row(unit, key, {dense.name: vectors[i].tolist()}, lexical=layout.lexical))
    return rows


def wait_for_indexes(store_uri: str, collection: str, layout: StoreLayout) -> None:
    """Until the Milvus server at ``store_uri`` has indexed every row of each dense channel."""
    from pymilvus import connections, utility  # MilvusClient.describe_index fails on a 2.3 server

    connections.connect(alias="bench", uri=store_uri)
    for channel in layout.dense:
        while True:
            try:  # right after the flush the server may not know the index task yet
                if not utility.index_building_progress(collection, channel.name, using="bench")[
                    "pending_index_rows"
                ]:
                    break
            except Exception as exc:
                print(f"waiting for the {channel.name} index: {exc}")
            time.sleep(5)


def in_process(data_dir: str, store_uri: str, queries: list[str], out: multiprocessing.Queue) -> None:
    from figvault.access import Principal, Role
    from figvault.encoders.device import serving_cpu_threads, use_cpu_threads
    from figvault.retrieval.search import SearchEngine
    from figvault.search_models import SearchRequest

    settings = bench_settings(Path(data_dir), store_uri)
    use_cpu_threads(serving_cpu_threads(settings.service.cpu_threads))  # as `figvault serve` does
    engine = SearchEngine.from_settings(settings)
    principal = Principal(user="bench", tenant=TENANT, groups=CALLER_GROUPS, roles=[Role.READER])
    for q in queries[:10]:  # warm up: model, caches
        engine.search(principal, SearchRequest(query=q, rerank=False))
    latencies, steps = [], []
    for q in queries:
        t = time.perf_counter()
        response = engine.search(principal, SearchRequest(query=q, rerank=False))
        latencies.append((time.perf_counter() - t) * 1000)
        steps.append(response.timings)
    out.put((latencies, steps))
    engine.store.client.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(data_dir: Path, store_uri: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")}
    env["HF_HUB_OFFLINE"] = "1"
    if store_uri:
        env["FIGVAULT_STORE__URI"] = store_uri
    cmd = [sys.executable, "-m", "figvault", "--config", "offline", "--data-dir", str(data_dir)]
    cmd += ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    server = subprocess.Popen(cmd, env=env)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"server exited with {server.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("server not ready within 300 s")


def http_one_client(base: str, key: str, queries: list[str]) -> list[float]:
    headers = {"Authorization": f"Bearer {key}"}
    latencies = []
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        for q in queries[:10]:
            client.post("/v1/search", json={"query": q, "rerank": False}).raise_for_status()
        for q in queries:
            t = time.perf_counter()
            client.post("/v1/search", json={"query": q, "rerank": False}).raise_for_status()
            latencies.append((time.perf_counter() - t) * 1000)
    return latencies


async def http_concurrent(
    base: str, key: str, queries: list[str], concurrency: int
) -> tuple[list[float], float]:
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    work = iter(queries)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120, limits=limits) as client:

        async def worker() -> None:
            for q in work:  # each worker takes the next query: at most `concurrency` in flight
                t = time.perf_counter()
                response = await client.post("/v1/search", json={"query": q, "rerank": False})
                response.raise_for_status()
                latencies.append((time.perf_counter() - t) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    return latencies, len(queries) / wall


def ensure_store(
    ctx: multiprocessing.context.BaseContext, data_dir: Path, units: int, store_uri: str
) -> None:
    """A store of ``units`` synthetic units in ``data_dir``, built in a child process unless a run before
    left one there (its marker file)."""
    marker = data_dir / f".bench-{units}"
    if not marker.exists():
        child = ctx.Process(target=build_store, args=(data_dir, units, store_uri))
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit("building the store failed")
        marker.touch()


def reader_key(data_dir: Path) -> str:
    """A new API key of the reader ``bench`` (``CALLER_GROUPS`` of ``TENANT``) in ``data_dir``'s registry."""
    from figvault.access import Role
    from figvault.pipeline import users

    conn = sqlite3.connect(data_dir / "registry.sqlite3")
    users.ensure_schema(conn)
    users.revoke_user(conn, "bench")
    _, key = users.add_user(conn, "bench", Role.READER, CALLER_GROUPS, TENANT)
    conn.close()
    return key


def report(
    args: argparse.Namespace,
    latencies: tuple[list[float], list[float], list[float]],
    rate: float,
    steps: list[dict[str, float]],
    loads: tuple[float, float],
    threads: int,
) -> None:
    """The table of the three modes (in-process, one HTTP client, concurrent clients), the load before and
    after, and the in-process steps."""
    inproc, one, many = latencies
    load_before, load_after = loads
    store = f"Milvus server {args.store_uri}" if args.store_uri else "embedded Milvus Lite"
    print(f"\nHTTP search latency, {args.units} units, {store}, rerank off")
    print("access filter on: the caller holds 3 of 20 groups")
    print(f"{'mode':<34}{'n':>6}{'p50 ms':>10}{'p95 ms':>10}{'mean ms':>10}{'req/s':>9}")
    rows = [
        ("in-process SearchEngine.search", inproc, 1000 / statistics.mean(inproc)),
        ("HTTP, 1 client", one, 1000 / statistics.mean(one)),
        (f"HTTP, {args.concurrency} concurrent clients", many, rate),
    ]
    for name, values, throughput in rows:
        print(
            f"{name:<34}{len(values):>6}{percentile(values, 50):>10.1f}{percentile(values, 95):>10.1f}"
            f"{statistics.mean(values):>10.1f}{throughput:>9.1f}"
        )
    print(
        f"(1-min load average {load_before:.1f} before, {load_after:.1f} after; {os.cpu_count()} CPUs;"
        f" {threads} torch thread(s) in the serving processes)"
    )
    print("\nin-process steps (ms):")
    for step in ("lookup", "encode", "recall", "fetch", "total"):
        values = [s[step] for s in steps if step in s]
        if values:
            print(f"  {step:<8} p50 {percentile(values, 50):7.1f}  p95 {percentile(values, 95):7.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--data-dir", type=Path, default=None, help="Reuse/keep a store here.")
    parser.add_argument("--store-uri", default="", help="A Milvus server instead of embedded Milvus Lite.")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"

    tmp = None
    data_dir = args.data_dir
    if data_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="figvault-bench-")
        data_dir = Path(tmp.name)
    ctx = multiprocessing.get_context("spawn")
    ensure_store(ctx, data_dir, args.units, args.store_uri)
    from figvault.encoders.device import serving_cpu_threads  # (torch) loaded before the timing, as ever

    key = reader_key(data_dir)

    queries = questions(args.queries)
    load_before = os.getloadavg()[0]
    out = ctx.Queue()
    child = ctx.Process(target=in_process, args=(str(data_dir), args.store_uri, queries, out))
    child.start()
    inproc, steps = out.get()
    child.join()

    port = free_port()
    server = serve(data_dir, args.store_uri, port)
    base = f"http://127.0.0.1:{port}"
    try:
        one = http_one_client(base, key, queries)
        many, rate = asyncio.run(http_concurrent(base, key, queries, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=30)

    load_after = os.getloadavg()[0]
    threads = serving_cpu_threads(bench_settings(data_dir, args.store_uri).service.cpu_threads)
    report(args, (inproc, one, many), rate, steps, (load_before, load_after), threads)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
