"""The text model in fp32 against bf16 weights on this CPU: what oneDNN offers, CPU per unit text and per
question, and how close the vectors stay.

Prints the CPU's bf16 flags (``avx512_bf16``, ``amx_bf16``, ``avx_ne_convert``), torch's CPU capability
and whether oneDNN has bf16 kernels here (``torch.ops.mkldnn._is_mkldnn_bf16_supported``, what
``text.precision = "auto"`` decides by). Then, on one torch thread, rounds of A B B A (fp32, bf16, bf16,
fp32) so the shared machine's noise hits both alike:

- one ``nn.Linear`` of MiniLM's shapes (384 -> 1536) on 256 tokens, the layer that dominates its cost;
- ``encode_texts`` on unit-sized texts (page text of the labelled corpus cut at ``text.max_chars``, as
  ingest's text channel input), in CPU seconds a text;
- ``encode_texts`` on one dev question at a time (the search-time question encoder on torch), in ms.

and the cosine of bf16 to fp32 vectors. ``--clip ViT-B-32``: also the CLIP image tower's forward (random
weights: speed does not depend on their values) on 4 images of 224 px. Ratios are the median over the
pairs; the absolute numbers move with the load (recorded at start and end).

    .venv/bin/python bench/text_precision.py [--texts 48] [--rounds 2] [--questions 16] [--clip ViT-B-32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.encoders.device import cpu_supports_bf16  # noqa: E402
from figvault.encoders.text import SentenceTextEncoder, resolve_text_spec  # noqa: E402
from figvault.settings import TextSettings  # noqa: E402

CORPUS = Path(os.environ.get("FIGVAULT_CORPUS", REPO.parent / "shared" / "corpus"))
FLAGS = ("avx512f", "avx512_bf16", "amx_bf16", "avx_ne_convert", "avx2")
PRECISIONS = ("fp32", "bf16")


def cpu_flags() -> dict[str, bool]:
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    present = set(line.split(":", 1)[-1].split())
    return {flag: flag in present for flag in FLAGS}


def unit_texts(n: int, max_chars: int) -> list[str]:
    """Page text of the labelled corpus's PDFs, cut like a unit's text channel input."""
    import pymupdf

    texts: list[str] = []
    if not (CORPUS / "docs").is_dir():
        raise SystemExit(f"no corpus at {CORPUS}: set FIGVAULT_CORPUS")
    for path in sorted((CORPUS / "docs").glob("*.pdf")):
        with pymupdf.open(path) as doc:
            for page in doc:
                words = " ".join(page.get_text().split())
                if len(words) > 200:
                    texts.append(words[:max_chars])
                if len(texts) >= n:
                    return texts
    return texts


def questions(n: int) -> list[str]:
    lines = (CORPUS / "dev_queries.jsonl").read_text().splitlines()
    return [json.loads(line)["query"] for line in lines[:n]]


def cpu_seconds(work: Callable[[], Any]) -> float:
    start = time.process_time()
    work()
    return time.process_time() - start


def abba(rounds: int, measure: Callable[[str], float]) -> dict[str, Any]:
    """``measure(precision)`` in A B B A order per round; per-precision values and bf16/fp32 pair ratios."""
    seen: dict[str, list[float]] = {p: [] for p in PRECISIONS}
    ratios = []
    for _ in range(rounds):
        a1, b1, b2, a2 = (measure(p) for p in ("fp32", "bf16", "bf16", "fp32"))
        seen["fp32"] += [a1, a2]
        seen["bf16"] += [b1, b2]
        ratios += [b1 / a1, b2 / a2]
    return {
        "median": {p: statistics.median(v) for p, v in seen.items()},
        "bf16/fp32": statistics.median(ratios),
    }


def linear_layer(rounds: int) -> dict[str, Any]:
    layer = torch.nn.Linear(384, 1536)
    layers = {"fp32": layer, "bf16": torch.nn.Linear(384, 1536).to(torch.bfloat16)}
    inputs = {p: torch.randn(8, 256, 384).to(layers[p].weight.dtype) for p in PRECISIONS}

    def measure(p: str) -> float:
        with torch.inference_mode():
            layers[p](inputs[p])  # warm
            return cpu_seconds(lambda: [layers[p](inputs[p]) for _ in range(10)]) / 10 * 1000

    return abba(rounds, measure)


def clip_images(model_name: str, rounds: int) -> dict[str, Any]:
    import open_clip

    models = {p: open_clip.create_model(model_name, pretrained=None).eval() for p in PRECISIONS}
    models["bf16"].to(torch.bfloat16)
    pixels = {p: torch.randn(4, 3, 224, 224).to(models[p].logit_scale.dtype) for p in PRECISIONS}

    def measure(p: str) -> float:
        with torch.inference_mode():
            return cpu_seconds(lambda: models[p].encode_image(pixels[p])) / 4 * 1000

    return abba(rounds, measure)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--texts", type=int, default=48)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--questions", type=int, default=16)
    parser.add_argument("--clip", help="an open_clip architecture: also time its image tower")
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"load average at start: {os.getloadavg()}")
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(f"CPU flags: {cpu_flags()}")
    print(f"oneDNN bf16 kernels (text.precision auto picks bf16): {cpu_supports_bf16()}")

    line = linear_layer(args.rounds)
    print(f"\nLinear 384->1536, 8x256 tokens, ms of CPU: {line['median']}, bf16/fp32 {line['bf16/fp32']:.2f}")

    if args.clip:
        clip = clip_images(args.clip, args.rounds)
        ratio = clip["bf16/fp32"]
        print(f"{args.clip} image tower, ms of CPU an image: {clip['median']}, bf16/fp32 {ratio:.2f}")
        print(f"load average now: {os.getloadavg()}")

    encoders = {
        p: SentenceTextEncoder(resolve_text_spec(TextSettings(precision=p))).load() for p in PRECISIONS
    }
    texts = unit_texts(args.texts, encoders["fp32"].spec.max_chars)
    asked = questions(args.questions)
    for enc in encoders.values():
        enc.encode_texts(texts[:4])  # warm both before timing

    units = abba(
        args.rounds, lambda p: cpu_seconds(lambda: encoders[p].encode_texts(texts)) / len(texts) * 1000
    )
    print(
        f"unit texts ({len(texts)}, mean {statistics.mean(map(len, texts)):.0f} chars), ms of CPU a text: "
        f"{units['median']}, bf16/fp32 {units['bf16/fp32']:.2f}"
    )

    def per_question(p: str) -> float:
        start = time.perf_counter()
        for q in asked:
            encoders[p].encode_texts([q])
        return (time.perf_counter() - start) / len(asked) * 1000

    one = abba(args.rounds, per_question)
    print(
        f"one question ({len(asked)} dev questions), ms wall: {one['median']},"
        f" bf16/fp32 {one['bf16/fp32']:.2f}"
    )

    full, low = encoders["fp32"].encode_texts(texts + asked), encoders["bf16"].encode_texts(texts + asked)
    cosine = np.sum(full * low, axis=1)
    print(f"cosine bf16 to fp32: min {cosine.min():.5f}, mean {cosine.mean():.5f}")
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
