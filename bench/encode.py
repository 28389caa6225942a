"""Encode throughput: raw open_clip vs figvault's ClipEncoder on the same batch, in the same run.

Random-weight models (no hub needed; speed does not depend on the weight values). For each precision the
raw baseline is what a user of open_clip writes: its inference transform on every image, ``torch.stack``,
``encode_image`` under inference_mode, L2 normalisation; plus the model forward alone on pre-processed
tensors. Repetitions are interleaved and the best of each is kept, because the CPU is shared.

    .venv/bin/python bench/encode.py [--model ViT-B-32] [--images 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import open_clip
import torch
import torch.nn.functional as F
from open_clip.transform import PreprocessCfg, image_transform_v2
from PIL import Image

from figvault.encoders.clip import ClipEncoder, resolve_clip_spec
from figvault.encoders.text import SentenceTextEncoder, resolve_text_spec
from figvault.settings import ClipSettings, TextSettings


def synthetic_images(n: int) -> list[Image.Image]:
    """Figure-like sizes (a unit image at 150 dpi is typically a few hundred pixels a side)."""
    rng = np.random.default_rng(0)
    sizes = [(640, 420), (900, 600), (480, 480), (1200, 500)]
    return [
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)) for w, h in sizes * (n // 4 + 1)
    ][:n]


def synthetic_texts(n: int) -> list[str]:
    words = ["revenue", "quarterly", "chart", "network", "topology", "figure", "growth", "region", "share"]
    rng = np.random.default_rng(1)
    return [" ".join(rng.choice(words, size=int(rng.integers(6, 30)))) for _ in range(n)]


def best_rate(count: int, runs: list[float]) -> float:
    return count / min(runs)


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def bench_clip(model_name: str, precision: str, images: list[Image.Image], texts: list[str], repeats: int):
    settings = ClipSettings(model=model_name, pretrained="none", precision=precision, batch_size=len(images))
    encoder = ClipEncoder(resolve_clip_spec(settings)).load()
    model = encoder._model
    assert model is not None
    dtype = next(model.parameters()).dtype
    # open_clip's inference transform for this model, built the way create_model_and_transforms does.
    transform = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
    tokenizer = open_clip.get_tokenizer(model_name)
    pixels = torch.stack([transform(image) for image in images]).to(dtype)

    def raw_images() -> np.ndarray:
        batch = torch.stack([transform(image) for image in images]).to(dtype)
        with torch.inference_mode():
            return F.normalize(model.encode_image(batch).float(), dim=-1).numpy()

    def raw_forward() -> None:
        with torch.inference_mode():
            model.encode_image(pixels)

    def raw_texts() -> np.ndarray:
        with torch.inference_mode():
            return F.normalize(model.encode_text(tokenizer(texts)).float(), dim=-1).numpy()

    # Same model object, so the pipeline and the raw calls must agree exactly.
    np.testing.assert_allclose(encoder.encode_images(images[:4]), raw_images()[:4], atol=2e-2)
    n_img, n_txt = len(images), len(texts)
    forward = [timed(raw_forward) for _ in range(repeats)]
    raw_img, pipe_img, img_ratio = paired(raw_images, lambda: encoder.encode_images(images), repeats)
    raw_txt, pipe_txt, txt_ratio = paired(raw_texts, lambda: encoder.encode_texts(texts), repeats)
    return {
        "precision": encoder.spec.precision,
        "forward_img_s": best_rate(n_img, forward),
        "raw_img_s": best_rate(n_img, raw_img),
        "pipe_img_s": best_rate(n_img, pipe_img),
        "img_ratio": img_ratio,
        "raw_txt_s": best_rate(n_txt, raw_txt),
        "pipe_txt_s": best_rate(n_txt, pipe_txt),
        "txt_ratio": txt_ratio,
    }


def paired(
    raw: Callable[[], object], pipeline: Callable[[], object], repeats: int
) -> tuple[list[float], list[float], float]:
    """Times of both, and the median of per-repetition speed ratios pipeline/raw.

    Each repetition runs raw, pipeline, pipeline, raw (ABBA), so load from other processes that drifts
    during a repetition hits both sides alike; the median drops repetitions hit by a burst.
    """
    raw_times: list[float] = []
    pipe_times: list[float] = []
    ratios: list[float] = []
    for _ in range(repeats):
        a1, b1, b2, a2 = timed(raw), timed(pipeline), timed(pipeline), timed(raw)
        raw_times += [a1, a2]
        pipe_times += [b1, b2]
        ratios.append((a1 + a2) / (b1 + b2))
    return raw_times, pipe_times, float(np.median(ratios))


def bench_open_clip_mixed_bf16(
    model_name: str, images: list[Image.Image], repeats: int
) -> tuple[float, float]:
    """open_clip's own precision='bf16' (mixed: LayerNorm kept fp32), the alternative we did not pick."""
    model = open_clip.create_model(model_name, pretrained=None, precision="bf16").eval()
    pixels = torch.randn(len(images), 3, 224, 224, dtype=torch.bfloat16)
    tokens = open_clip.get_tokenizer(model_name)(synthetic_texts(len(images)))
    with torch.inference_mode():
        img = [timed(lambda: model.encode_image(pixels)) for _ in range(repeats)]
        txt = [timed(lambda: model.encode_text(tokens)) for _ in range(repeats)]
    return best_rate(len(images), img), best_rate(len(images), txt)


def bench_minilm(texts: list[str], repeats: int) -> tuple[float, float, float]:
    encoder = SentenceTextEncoder(resolve_text_spec(TextSettings())).load()
    model = encoder._model
    raw, pipe, ratio = paired(
        lambda: model.encode(texts, batch_size=64, normalize_embeddings=True, show_progress_bar=False),
        lambda: encoder.encode_texts(texts),
        repeats,
    )
    return best_rate(len(texts), raw), best_rate(len(texts), pipe), ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--images", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--precisions", default="fp32,bf16")
    args = parser.parse_args()
    images, texts = synthetic_images(args.images), synthetic_texts(args.images)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, model {args.model} (random weights), "
        f"batch of {len(images)} images / texts; rates: best run, ratios: median of {args.repeats} ABBA pairs"
    )
    print()
    header = (
        "precision",
        "forward img/s",
        "raw img/s",
        "pipeline img/s",
        "pipe/raw (median)",
        "raw txt/s",
        "pipeline txt/s",
        "pipe/raw (median)",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    precisions = [p for p in args.precisions.split(",") if p]
    for precision in precisions:
        r = bench_clip(args.model, precision, images, texts, args.repeats)
        print(
            f"| {r['precision']} | {r['forward_img_s']:.1f} | {r['raw_img_s']:.1f} | {r['pipe_img_s']:.1f} | "
            f"{r['img_ratio']:.0%} | {r['raw_txt_s']:.1f} | {r['pipe_txt_s']:.1f} | {r['txt_ratio']:.0%} |"
        )
    if "bf16" in precisions:
        mixed_img, mixed_txt = bench_open_clip_mixed_bf16(args.model, images, args.repeats)
        print(
            f"| open_clip precision='bf16' (mixed, not used) | {mixed_img:.1f} | | | | {mixed_txt:.1f} | | |"
        )
    print()
    raw, pipe, ratio = bench_minilm(synthetic_texts(128), args.repeats)
    print("| MiniLM (all-MiniLM-L6-v2, fp32) | raw sentence-transformers txt/s | pipeline txt/s | pipe/raw |")
    print("|---|---|---|---|")
    print(f"| 128 texts | {raw:.1f} | {pipe:.1f} | {ratio:.0%} |")


if __name__ == "__main__":
    main()
