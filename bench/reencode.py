"""Re-encode benchmark: throughput against the encoder's raw throughput, the alias switch, and search
latency during the re-encode against idle.

Synthetic units (random figure-like PNGs in the blob store, captions from a small vocabulary) are indexed
with encoder set A, then re-encoded to set B while a thread searches. Both sets are OpenCLIP models built
with random weights (``pretrained = none:SEED``: the same compute as trained weights, no download) plus
the MiniLM text channel and BM25. By default A and B differ in the CLIP weights only, so the text vectors
are copied; ``--text-changes`` disables the text channel in B so the schema changes too.

    .venv/bin/python bench/reencode.py [--units 300] [--arch ViT-B-32 | tiny] [--precision auto]
                                       [--queries 40] [--batch 64] [--engine local | ray]

``--engine ray`` encodes on a Ray started here (``--ray-cpus``), as ``figvault reencode --engine ray``.
"""

from __future__ import annotations

import argparse
import io
import logging
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from PIL import Image, ImageDraw  # noqa: E402

from figvault.access import local_operator  # noqa: E402
from figvault.encoders.factory import build_encoders  # noqa: E402
from figvault.pipeline.reencode import (  # noqa: E402
    Reencoder,
    ReencodeResult,
    layout_of_encoders,
    plan_reencode,
)
from figvault.pipeline.runner import build_engine  # noqa: E402
from figvault.retrieval.acl_sets import AclSetTable  # noqa: E402
from figvault.retrieval.milvus_store import MilvusUnitStore  # noqa: E402
from figvault.retrieval.schema import unit_to_row  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.retrieval.served_encoders import record_encoder_settings  # noqa: E402
from figvault.search_models import SearchRequest  # noqa: E402
from figvault.settings import Settings, load_settings  # noqa: E402
from figvault.storage import BlobStore  # noqa: E402
from figvault.units import DocumentMeta, FigureKind, FigureUnit  # noqa: E402

TOPICS = ["revenue", "latency", "churn", "yield", "backlog", "turbine", "enrollment", "bandwidth", "moisture"]
TINY = REPO / "tests" / "encoders" / "model_configs" / "fv-tiny-a.json"


def figure_png(rng: random.Random) -> bytes:
    image = Image.new("RGB", (320, 220), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x, y = rng.randrange(300), rng.randrange(200)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.rectangle((x, y, x + rng.randrange(8, 80), y + rng.randrange(8, 80)), fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def settings_for(data_dir: Path, arch: str, seed: int, precision: str, text: bool, batch: int) -> Settings:
    settings = load_settings("default", data_dir=data_dir)
    settings.clip.model = str(TINY) if arch == "tiny" else arch
    settings.clip.pretrained = f"none:{seed}"
    settings.clip.precision = precision  # type: ignore[assignment]
    settings.text.enabled = text
    settings.jobs.batch_size = batch
    settings.store.index = "HNSW"
    return settings


def populate(settings: Settings, n: int) -> list[Image.Image]:
    """Index ``n`` synthetic units with the encoders of ``settings``; returns their images."""
    rng = random.Random(7)
    encoders = build_encoders(settings).load()
    store = MilvusUnitStore.from_settings(settings)
    collection = store.ensure_collection(store.supported_layout(layout_of_encoders(encoders)))
    record_encoder_settings(store, collection, settings)
    blobs = BlobStore(settings.blob_dir)
    key = AclSetTable.at(settings.registry_path).register("default", ["eng"])
    images: list[Image.Image] = []
    for start in range(0, n, 64):
        units, pngs = [], []
        for i in range(start, min(n, start + 64)):
            png = figure_png(rng)
            topic = rng.choice(TOPICS)
            units.append(
                FigureUnit(
                    unit_id=f"u{i:07d}",
                    doc=f"doc{i // 10}.pdf",
                    doc_sha256="0" * 64,
                    doc_id=f"doc{i // 10}",
                    page=1 + i % 10,
                    page_size=(595.0, 842.0),
                    bbox=(50.0, 80.0, 400.0, 330.0),
                    kind=FigureKind.RASTER,
                    label=f"Figure {i % 10 + 1}",
                    caption=f"Figure {i % 10 + 1}: {topic} by quarter in report {i // 10}.",
                    context=f"The {topic} rose in the second half.",
                    image=blobs.put(png),
                    width=320,
                    height=220,
                    meta=DocumentMeta(title=f"Report {i // 10}"),
                    groups=["eng"],
                    embedding_version=encoders.embedding_version,
                )
            )
            pngs.append(png)
        pictures = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
        vectors: list[dict[str, list[float]]] = [{} for _ in units]
        for i, v in enumerate(encoders.clip.encode_images(pictures)):
            vectors[i]["clip"] = v.tolist()
        if encoders.text is not None:
            for i, v in enumerate(encoders.text.encode_texts([u.search_text() for u in units])):
                vectors[i]["text"] = v.tolist()
        rows = [
            unit_to_row(u, key, vec, lexical=encoders.lexical) for u, vec in zip(units, vectors, strict=True)
        ]
        store.upsert_rows(collection, rows)
        images.extend(pictures)
    return images


def latencies(engine: SearchEngine, queries: list[str], stop: threading.Event | None = None) -> list[float]:
    """Milliseconds per search (a sequence of queries, or until ``stop``)."""
    out = []
    i = 0
    while (stop is None and i < len(queries)) or (stop is not None and not stop.is_set()):
        start = time.perf_counter()
        response = engine.search(
            local_operator(), SearchRequest(query=queries[i % len(queries)], top_k=10, rerank=False)
        )
        out.append((time.perf_counter() - start) * 1000)
        STEPS.append(response.timings)
        i += 1
    return out


STEPS: list[dict[str, float]] = []
"""Per-step timings of every search (encode, recall, ...), for the breakdown line."""


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) >= 2 else (values or [0.0])[0]


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=300)
    parser.add_argument("--arch", default="ViT-B-32", help="open_clip architecture, or 'tiny' (test model)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"])
    parser.add_argument("--queries", type=int, default=40)
    parser.add_argument("--batch", type=int, default=64, help="re-encode batch size (jobs.batch_size)")
    parser.add_argument("--text-changes", action="store_true", help="B has no text channel (schema change)")
    parser.add_argument(
        "--engine", default="local", choices=["local", "ray"], help="the encode step's engine"
    )
    parser.add_argument("--ray-cpus", type=int, default=2)
    return parser.parse_args()


@dataclass
class _Measured:
    """What one run of the bench measured: both re-encodes and the search latencies around them."""

    raw_images: float
    """B's image encoder alone on the same decoded images, units/s: what a re-encode cannot beat."""
    reused: Any
    alone: ReencodeResult
    loaded: ReencodeResult
    latencies: dict[str, list[float]]


def main() -> None:
    args = _args()
    if args.engine == "ray":
        import ray

        ray.init(
            num_cpus=args.ray_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False
        )
    for name in ("pymilvus", "milvus_lite", "grpc._server", "sentence_transformers"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="fv-bench-reencode-") as tmp:
        measured = _measure(Path(tmp), args)
    _print(measured, args)


def _measure(data: Path, args: argparse.Namespace) -> _Measured:
    """A -> B alone (throughput), then B -> C while a thread searches (latency against idle)."""
    settings_a = settings_for(data, args.arch, 1, args.precision, True, args.batch)
    settings_b = settings_for(data, args.arch, 2, args.precision, not args.text_changes, args.batch)
    settings_c = settings_for(data, args.arch, 3, args.precision, not args.text_changes, args.batch)
    t = time.perf_counter()
    images = populate(settings_a, args.units)
    print(f"setup: {args.units} units indexed with A in {time.perf_counter() - t:.1f}s")

    encoders_b = build_encoders(settings_b).load()
    encoders_b.clip.encode_images(images[:8])  # warm-up
    t = time.perf_counter()
    encoders_b.clip.encode_images(images)
    raw_images = len(images) / (time.perf_counter() - t)
    rng = random.Random(3)
    queries = [
        f"{rng.choice(TOPICS)} by quarter in report {rng.randrange(args.units // 10)}"
        for _ in range(args.queries)
    ]
    store = MilvusUnitStore.from_settings(settings_b)

    # 1. A -> B with nothing else running: throughput.
    plan_ab = plan_reencode(store, encoders_b)
    assert plan_ab is not None
    with build_engine(settings_b, args.engine) as engine_b:
        alone = Reencoder(settings_b, store, encoders_b, plan_ab, engine=engine_b).run()

    # 2. B -> C while a thread searches: latency during a re-encode against idle.
    encoders_c = build_encoders(settings_c).load()
    engine = SearchEngine.from_settings(settings_c, encoders=encoders_c, serve_recorded=True)
    latencies(engine, queries[:5])  # warm-up: loads B's recorded encoders
    idle = latencies(engine, queries)
    plan_bc = plan_reencode(store, encoders_c)
    assert plan_bc is not None
    stop = threading.Event()
    during: list[float] = []
    searcher = threading.Thread(target=lambda: during.extend(latencies(engine, queries, stop)))
    searcher.start()
    with build_engine(settings_c, args.engine) as engine_c:
        loaded = Reencoder(settings_c, store, encoders_c, plan_bc, engine=engine_c).run()
    stop.set()
    searcher.join()
    after = latencies(engine, queries)
    spans = {"idle (before)": idle, "during re-encode": during, "after switch": after}
    return _Measured(raw_images, plan_ab.reused_channels, alone, loaded, spans)


def _print(m: _Measured, args: argparse.Namespace) -> None:
    alone, loaded = m.alone, m.loaded
    print(
        f"\nre-encode ({args.arch}, {args.precision}, {args.units} units, batch {args.batch}, {args.engine};"
        f" reused channels: {m.reused or 'none'})"
    )
    print(f"{'measure':44} {'alone':>10} {'w/ search':>10}")
    print(f"{'raw CLIP image encode (B), units/s':44} {m.raw_images:10.1f}")
    print(f"{'re-encode end to end, units/s':44} {_rate(alone):10.1f} {_rate(loaded):10.1f}")
    for key in ("prepare", "scan", "read", "model_load", "encode_images", "encode_texts", "write", "verify"):
        if key in alone.timings:
            print(f"{'  ' + key + ' s':44} {alone.timings[key]:10.2f} {loaded.timings.get(key, 0.0):10.2f}")
    print(f"{'total s':44} {alone.seconds:10.2f} {loaded.seconds:10.2f}")
    print(f"{'alias switch (alter_alias) ms':44} {alone.switch_ms:10.2f} {loaded.switch_ms:10.2f}")
    if STEPS:
        steps = {k: statistics.median(t.get(k, 0.0) for t in STEPS) for k in ("encode", "recall", "total")}
        print(
            f"{'search steps, median ms (all runs)':44} "
            + ", ".join(f"{k} {v:.1f}" for k, v in steps.items())
        )
    for label, values in m.latencies.items():
        if values:
            spread = f"{pct(values, 50):6.1f} / {pct(values, 95):5.1f}  (n={len(values)})"
            print(f"{'search ' + label + ' p50 / p95 ms':44} {spread}")


def _rate(result: ReencodeResult) -> float:
    return result.encoded / result.seconds if result.seconds > 0 else 0.0


if __name__ == "__main__":
    main()
