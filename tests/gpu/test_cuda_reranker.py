"""The Qwen-VL reranker on a CUDA device, for real, on the tiny random models of tests/encoders/tiny_qwen.py:
scores on cuda (bf16, fp32, bitsandbytes 4-bit) against the CPU's, the rerank stage's order, and the
``auto`` settings. Skipped where torch sees no CUDA device (CI); run by bench/gpu_check.sh.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from figvault.encoders.reranker import (
    QwenVLReranker,
    load_reranker,
    resolve_dtype,
    resolve_quantization,
    resolve_rerank,
)
from figvault.retrieval.rerank_stage import rerank_hits
from figvault.settings import RerankerSettings, Settings
from figvault.storage import BlobStore
from tests.encoders.test_reranker import QUERY, make_items
from tests.retrieval.test_rerank_stage import make_hits

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (bench/gpu_check.sh on a GPU machine)"
)

# Largest |P(yes) on cuda - P(yes) on the CPU in fp32|. The tiny models' scores spread over about 0.27; bf16
# moved them by up to 0.008 on the CPU (same weights), so 0.03 leaves room and still has power.
SCORE_TOLERANCE = {"fp32": 2e-3, "bf16": 0.03}


def reranker(model_dir: Path, device: str, dtype: str, quantization: str = "none") -> QwenVLReranker:
    return load_reranker(
        RerankerSettings(
            model=str(model_dir), device=device, dtype=dtype, quantization=quantization, batch_size=4
        )
    )


def agree(name: str, reference: list[float], scores: list[float], tolerance: float) -> None:
    """Scores within ``tolerance`` of the CPU's, and every pair the CPU sets apart by 2 x tolerance in the
    CPU's order."""
    ref, got = np.asarray(reference), np.asarray(scores)
    print(f"GPU-CHECK {name}: max |cuda - cpu| {np.abs(ref - got).max():.5f}, cpu spread {np.ptp(ref):.3f}")
    assert np.ptp(ref) > 4 * tolerance, "the tiny model scores too alike: the test has no power"
    np.testing.assert_allclose(got, ref, atol=tolerance)
    gap = ref[:, None] - ref[None, :]
    clear = gap > 2 * tolerance
    assert ((got[:, None] - got[None, :])[clear] > 0).all(), "a clearly ordered pair swapped on cuda"


def on_cuda(model: torch.nn.Module) -> bool:
    return {p.device.type for p in model.parameters()} == {"cuda"}


def test_auto_picks_cuda_bf16_and_4bit_where_bitsandbytes_is(
    tiny_qwen2_vl: Path, offline_settings: Settings
) -> None:
    from figvault.encoders.reranker import _bnb_installed

    assert resolve_dtype("auto", "cuda", "none") == "bf16"
    expected = "bnb-4bit" if _bnb_installed() else "none"
    assert resolve_quantization("auto", "cuda", None) == expected
    offline_settings.reranker.model = str(tiny_qwen2_vl)
    assert resolve_rerank(offline_settings, None) == (
        True,
        f"on: CUDA device and local weights of {tiny_qwen2_vl}",
    )
    loaded = reranker(tiny_qwen2_vl, "auto", "auto", "auto").loaded
    assert (loaded.device, loaded.dtype, loaded.quantization) == ("cuda", "bf16", expected)
    assert on_cuda(loaded.model)


@pytest.mark.parametrize("dtype", ["fp32", "bf16"])
@pytest.mark.parametrize("family", ["qwen2_vl", "qwen2_5_vl", "qwen3_vl"])
def test_scores_on_cuda_agree_with_the_cpu(
    tiny_qwen_factory: Callable[[str], Path], family: str, dtype: str
) -> None:
    model_dir = tiny_qwen_factory(family)
    items = make_items(12)
    cpu = reranker(model_dir, "cpu", "fp32").score(QUERY, items)
    gpu = reranker(model_dir, "cuda", dtype)
    assert on_cuda(gpu.loaded.model) and gpu.describe().endswith(f"(cuda, none, {dtype})")
    batched = gpu.score(QUERY, items)
    agree(f"rerank {family} {dtype}", cpu, batched, SCORE_TOLERANCE[dtype])
    # Left padding on the GPU: a candidate's score does not depend on its batch-mates.
    single = [gpu.score(QUERY, [item])[0] for item in items]
    np.testing.assert_allclose(batched, single, atol=SCORE_TOLERANCE[dtype] / 2)


def test_rerank_stage_on_cuda_orders_like_the_cpu(tiny_qwen2_vl: Path, tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path / "blobs")
    cpu_kept, _, _ = rerank_hits(
        reranker(tiny_qwen2_vl, "cpu", "fp32"), QUERY, make_hits(blobs, 10), blobs, 10, 0.0, explain=False
    )
    gpu_kept, no_match, timings = rerank_hits(
        reranker(tiny_qwen2_vl, "cuda", "bf16"), QUERY, make_hits(blobs, 10), blobs, 10, 0.0, explain=True
    )
    cpu_scores = {h.unit_id: h.rerank_score for h in cpu_kept}
    agree(
        "rerank stage bf16",
        [cpu_scores[h.unit_id] for h in gpu_kept],
        [h.rerank_score for h in gpu_kept],
        SCORE_TOLERANCE["bf16"],
    )
    assert no_match is False and timings["rerank_model"] > 0
    assert all(isinstance(h.explanation, str) for h in gpu_kept)  # generate() ran on the GPU


def test_bnb_4bit_on_cuda(tiny_qwen2_vl: Path) -> None:
    bnb = pytest.importorskip(
        "bitsandbytes", reason="bitsandbytes is not installed (pip install figvault[gpu])"
    )
    gpu = reranker(tiny_qwen2_vl, "cuda", "auto", "bnb-4bit")
    model = gpu.loaded.model
    assert (gpu.loaded.quantization, gpu.loaded.dtype) == ("bnb-4bit", "bf16")
    four_bit = {name for name, module in model.named_modules() if isinstance(module, bnb.nn.Linear4bit)}
    assert four_bit, "no layer was quantized"
    assert not any(".visual." in f".{name}." or name.endswith("lm_head") for name in four_bit)
    assert any("language_model" in name for name in four_bit)

    items = make_items(12)
    scores = gpu.score(QUERY, items)
    reference = reranker(tiny_qwen2_vl, "cuda", "bf16").score(QUERY, items)
    # NF4 rounds the tiny random weights coarsely: only a loose bound; the numbers go to the log.
    print(f"GPU-CHECK rerank bnb-4bit vs bf16: max diff {np.abs(np.subtract(scores, reference)).max():.4f}")
    assert all(0.0 < s < 1.0 for s in scores)
    np.testing.assert_allclose(scores, reference, atol=0.15)
