"""Rerank latency: per candidate, and where the time goes (image loading, preprocessing, the model).

Runs the real second stage (``rerank_hits``: blob store -> PIL -> processor -> model -> P(yes)) over
synthetic chart images of a realistic size. Without ``--model`` it builds a tiny random Qwen2-VL (CPU
pipeline overhead; the model itself is negligible); with a real checkpoint it measures that.

    python bench/rerank.py                                   # tiny model, CPU, fp32 vs int8, 20 and 50
    python bench/rerank.py --model Qwen/Qwen2-VL-2B-Instruct --quantization bnb-4bit --device cuda \\
        --candidates 20                                      # the GPU target: 20 candidates <= 300 ms
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.encoders.tiny_qwen

from figvault.encoders.reranker import clear_cache, load_reranker  # noqa: E402
from figvault.retrieval.rerank_stage import rerank_hits  # noqa: E402
from figvault.search_models import SearchHit  # noqa: E402
from figvault.settings import RerankerSettings  # noqa: E402
from figvault.storage import BlobStore  # noqa: E402


def chart_png(index: int, width: int, height: int) -> bytes:
    """A bar chart-like figure: what unit images look like after extraction (PNG, mostly flat colours)."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    bars = 4 + index % 6
    for bar in range(bars):
        left = int(width * (0.1 + 0.8 * bar / bars))
        top = int(height * (0.2 + 0.6 * ((index * 7 + bar * 3) % 10) / 10))
        colour = ((index * 40 + bar * 60) % 255, (bar * 90) % 255, (index * 13) % 255)
        draw.rectangle([left, top, left + int(width * 0.6 / bars), int(height * 0.9)], fill=colour)
    draw.line([(int(width * 0.08), int(height * 0.9)), (int(width * 0.95), int(height * 0.9))], fill="black")
    draw.text((int(width * 0.1), int(height * 0.05)), f"Figure {index}: revenue by region", fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_hits(blobs: BlobStore, n: int, width: int, height: int) -> list[SearchHit]:
    hits = []
    for i in range(n):
        key = blobs.put(chart_png(i, width, height))
        hits.append(
            SearchHit(
                unit_id=f"unit-{i}",
                doc_id="doc",
                doc="report.pdf",
                page=i + 1,
                page_size=(612.0, 792.0),
                bbox=(72.0, 72.0, 540.0, 400.0),
                kind="chart",
                label=f"Figure {i}",
                caption=f"Figure {i}. Revenue by region and quarter, in millions of euros.",
                context="Revenue grew in every region; the strongest growth came from the Nordics. " * 3,
                image=key,
                score=1.0 - i / n,
                fused_score=1.0 - i / n,
            )
        )
    return hits


def run(cfg: RerankerSettings, count: int, repeats: int, blobs: BlobStore, size: tuple[int, int]) -> dict:
    """Median stage timings (ms) of ``repeats`` reranks of ``count`` candidates, after one warm-up."""
    reranker = load_reranker(cfg)
    query = "How did revenue develop by region?"
    rows = []
    for _ in range(repeats + 1):
        hits = make_hits(blobs, count, *size)
        rows.append(rerank_hits(reranker, query, hits, blobs, top_k=10, threshold=0.2, explain=False)[2])
    rows = rows[1:]
    median = {key: statistics.median(row.get(key, 0.0) for row in rows) for key in rows[0]}
    median["describe"] = reranker.describe()
    return median


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default="", help="hub id or local dir; empty: a tiny random Qwen2-VL")
    parser.add_argument("--family", default="qwen2_vl", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
    parser.add_argument(
        "--scale",
        default="tiny",
        choices=["tiny", "2b-layers"],
        help="random model without --model: tiny, or Qwen2-VL-2B widths with 2 text + 2 vision layers",
    )
    parser.add_argument(
        "--quantization",
        default="none,int8",
        help="comma-separated reranker.quantization values, each optionally @dtype (none@bf16)",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--candidates", default="20,50", help="comma-separated candidate counts")
    parser.add_argument("--batch-size", type=int, default=RerankerSettings().batch_size)
    parser.add_argument("--max-pixels", type=int, default=RerankerSettings().max_pixels)
    parser.add_argument("--min-pixels", type=int, default=RerankerSettings().min_pixels)
    parser.add_argument("--image-size", default="1000x700", help="synthetic figure size WxH")
    parser.add_argument("--repeats", type=int, default=5)
    return parser.parse_args()


def model_path(args: argparse.Namespace, tmp: Path) -> str:
    """``--model``, or a tiny random Qwen-VL of ``--family`` and ``--scale`` built under ``tmp``."""
    if args.model:
        return args.model
    from tests.encoders.tiny_qwen import QWEN2_VL_2B_LAYERS, build_tiny_qwen

    widths = QWEN2_VL_2B_LAYERS if args.scale == "2b-layers" else {}
    return str(
        build_tiny_qwen(
            tmp / args.scale,
            args.family,
            text_overrides=widths.get("text"),
            vision_overrides=widths.get("vision"),
        )
    )


def print_mode(
    args: argparse.Namespace, cfg: RerankerSettings, blobs: BlobStore, size: tuple[int, int], tmp: Path
) -> None:
    """The table rows of one quantization mode: each candidate count, then the model's load time."""
    started = time.perf_counter()
    load_reranker(cfg)
    load_s = time.perf_counter() - started
    for count in (int(c) for c in args.candidates.split(",")):
        t = run(cfg, count, args.repeats, blobs, size)
        overhead = t["rerank_load_images"] + t["rerank_preprocess"]
        name = t["describe"].replace(str(tmp) + "/", "")[:44]
        print(
            f"{name:<44} {count:>5} {t['rerank']:>9.1f} {t['rerank'] / count:>8.2f} "
            f"{t['rerank_load_images']:>9.1f} {t['rerank_preprocess']:>8.1f} "
            f"{t['rerank_model']:>9.1f} {100 * overhead / t['rerank']:>10.1f}"
        )
    print(f"  (load {load_s:.1f} s)")


def main() -> None:
    args = parse_args()
    size = tuple(int(v) for v in args.image_size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="figvault-bench-rerank-") as tmp:
        model = model_path(args, Path(tmp))
        blobs = BlobStore(Path(tmp) / "blobs")
        header = (
            f"{'model':<44} {'cands':>5} {'total ms':>9} {'ms/cand':>8} {'load img':>9} "
            f"{'preproc':>8} {'model ms':>9} {'overhead %':>10}"
        )
        pixels = f"{args.min_pixels}..{args.max_pixels}"
        print(f"image {size[0]}x{size[1]} PNG, batch {args.batch_size}, pixels {pixels}, {args.repeats} runs")
        print(header)
        print("-" * len(header))
        for mode in args.quantization.split(","):
            quantization, _, dtype = mode.strip().partition("@")
            cfg = RerankerSettings(
                model=model,
                quantization=quantization,
                device=args.device,
                dtype=dtype or args.dtype,
                batch_size=args.batch_size,
                min_pixels=args.min_pixels,
                max_pixels=args.max_pixels,
            )
            print_mode(args, cfg, blobs, size, Path(tmp))
            clear_cache()


if __name__ == "__main__":
    main()
