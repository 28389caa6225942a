"""Encode throughput on a CPU and a CUDA device of one machine: units/s through figvault's encoders.

CLIP ViT-B-32 (image and text towers) and a text model of all-MiniLM-L6-v2's shape, both with random
weights (speed does not depend on the values; no hub, and MiniLM's weights are too large to carry to a GPU
machine). Rates go through ``ClipEncoder.encode_images`` / ``encode_texts`` and ``SentenceTextEncoder``, so
image preprocessing (PIL, on the CPU) is included; ``forward img/s`` is the image tower alone on
preprocessed tensors. Each configuration runs twice in the order A B C C B A (best of the two kept).
The CPU encodes fewer units a run (``--cpu-images``) to keep the run short; rates are per unit.

    python bench/gpu_encode.py [--batches 64,256] [--images 512] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from figvault.encoders.clip import ClipEncoder, resolve_clip_spec
from figvault.encoders.text import SentenceTextEncoder, resolve_text_spec
from figvault.settings import ClipSettings, TextSettings

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for bench.encode and tests.encoders.tiny_text

from bench.encode import synthetic_images, synthetic_texts  # noqa: E402
from tests.encoders.tiny_text import MINILM_SHAPE, build_tiny_sentence_model  # noqa: E402


def synchronised(call: Callable[[], object], device: str) -> float:
    started = time.perf_counter()
    call()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - started


def configurations() -> list[tuple[str, str]]:
    configs = [("cpu", "fp32")]
    if torch.cuda.is_available():
        configs += [("cuda", "fp32"), ("cuda", "bf16")]
    return configs


def measure(
    device: str, precision: str, batch: int, data: dict[str, Any], text_model: Path
) -> dict[str, Any]:
    images, texts = data["images"], data["texts"]
    clip = ClipEncoder(
        resolve_clip_spec(
            ClipSettings(
                model="ViT-B-32", pretrained="none", device=device, precision=precision, batch_size=batch
            )
        )
    ).load()
    text = SentenceTextEncoder(
        resolve_text_spec(
            TextSettings(
                model=f"local-dir:{text_model}", device=device, precision=precision, batch_size=batch
            )
        )
    ).load()
    pixels = torch.stack([clip._preprocess(image, 0) for image in images[:batch]])

    def forward() -> None:
        clip._forward(pixels=pixels)

    calls = {
        "clip_img": (lambda: clip.encode_images(images), len(images)),
        "forward_img": (forward, len(pixels)),
        "clip_txt": (lambda: clip.encode_texts(texts), len(texts)),
        "text_txt": (lambda: text.encode_texts(texts), len(texts)),
    }
    for call, _ in calls.values():  # warm-up: kernels chosen, caches filled
        call()
    return {name: count / synchronised(call, device) for name, (call, count) in calls.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", default="64,256")
    parser.add_argument("--images", type=int, default=512, help="units a run on the GPU")
    parser.add_argument("--cpu-images", type=int, default=128, help="units a run on the CPU (slower)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    batches = [int(b) for b in args.batches.split(",")]
    data = {
        "images": synthetic_images(args.images),
        "texts": synthetic_texts(args.images),
        "units": args.images,
        "cpu_units": min(args.images, args.cpu_images),
    }
    text_model = build_tiny_sentence_model(Path(tempfile.mkdtemp()), shape=MINILM_SHAPE, max_seq_length=256)
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() else "none"
    threads = f"{torch.get_num_threads()} CPU threads ({os.cpu_count()} cores)"
    print(f"torch {torch.__version__}, {threads}, GPU {gpu}")
    print(
        f"{args.images} (GPU) / {data['cpu_units']} (CPU) figure-sized images and texts a run; best of 2 runs"
    )
    best: dict[tuple[str, str, int], dict[str, float]] = {}
    for batch in batches:
        order = configurations()
        for device, precision in order + order[::-1]:
            rates = measure(device, precision, batch, data, text_model)
            key = (device, precision, batch)
            best[key] = {k: max(v, best.get(key, {}).get(k, 0.0)) for k, v in rates.items()}
    header = (
        "device",
        "precision",
        "batch",
        "CLIP img/s",
        "forward img/s",
        "CLIP txt/s",
        "MiniLM-shape txt/s",
    )
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header))
    for (device, precision, batch), r in best.items():
        print(
            f"| {device} | {precision} | {batch} | {r['clip_img']:.0f} | {r['forward_img']:.0f} | "
            f"{r['clip_txt']:.0f} | {r['text_txt']:.0f} |"
        )
    if args.json:
        rows = [{"device": d, "precision": p, "batch": b, **r} for (d, p, b), r in best.items()]
        args.json.write_text(json.dumps({"gpu": gpu, "torch": torch.__version__, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
