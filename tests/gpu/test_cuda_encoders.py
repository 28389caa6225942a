"""The encoders on a CUDA device, for real: CLIP and text vectors on cuda against the CPU's, the `auto`
settings, what a collection records, and the Ray engine's encoder actor on a GPU.

Skipped where torch sees no CUDA device (CI). Run on a GPU machine with bench/gpu_check.sh, which also
installs what such a machine lacks; results of the last run are in docs/encoders.md ("On a GPU").
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from figvault.encoders.device import DTYPES, precision_here, resolve_device
from figvault.encoders.factory import EncoderSet, build_encoders, with_precision_pinned
from figvault.pipeline.ray_engine import EncoderActor, encoder_settings
from figvault.retrieval.served_encoders import encoder_settings_record, settings_for_collection
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.encoders.tiny_text import build_tiny_sentence_model

pytestmark = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device (bench/gpu_check.sh on a GPU machine)"
)

# Least cosine of a CUDA vector to the CPU's fp32 vector of the same input. fp32 on CUDA is not bit-equal
# (cuDNN convolutions may use TF32, kernels sum in another order); bf16 keeps 8 bits of mantissa.
MIN_COSINE = {"fp32": 0.9999, "fp16": 0.999, "bf16": 0.99}


@pytest.fixture(scope="module")
def tiny_text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_sentence_model(tmp_path_factory.mktemp("tiny-text"))


def settings_on(data_dir: Path, text_model: Path, device: str, precision: str) -> Settings:
    """Tiny CLIP + tiny text model on ``device`` in ``precision``."""
    settings = tiny_settings(data_dir, TINY_A)
    settings.clip.device = settings.text.device = device
    settings.clip.precision = settings.text.precision = precision
    settings.text.model = f"local-dir:{text_model}"
    return settings


def images() -> list[Image.Image]:
    rng = np.random.default_rng(3)
    out = [
        Image.fromarray(rng.integers(0, 255, (int(h), int(w), 3), dtype=np.uint8))
        for h, w in rng.integers(20, 400, (10, 2))
    ]
    out.append(Image.new("RGBA", (120, 80), (200, 30, 30, 128)))  # alpha over the fixed background
    out.append(Image.new("L", (64, 300), 90))
    return out


TEXTS = [
    "Figure 3: quarterly revenue by region, bar chart",
    "network topology diagram",
    "pie chart",
    "",
    "latency and memory table " * 40,
    "accuracy of each model",
]


def compare(name: str, precision: str, reference: np.ndarray, vectors: np.ndarray) -> None:
    """Vectors close to the CPU's, and closer to their own input's than any two inputs are to each other."""
    assert vectors.dtype == np.float32 and vectors.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)
    cosine = (vectors * reference).sum(axis=1)
    gram = reference @ reference.T
    apart = float((1 - gram[~np.eye(len(gram), dtype=bool)]).min())
    print(f"GPU-CHECK {name} {precision}: min cosine to cpu fp32 {cosine.min():.6f}, apart {apart:.4f}")
    assert cosine.min() >= MIN_COSINE[precision], (name, precision, cosine)
    assert (1 - cosine).max() < apart / 2, "the difference to the CPU would reorder distinct inputs"


def model_placement(module: torch.nn.Module) -> tuple[str, torch.dtype]:
    parameter = next(module.parameters())
    return parameter.device.type, parameter.dtype


def test_auto_settings_pick_cuda_and_bf16(data_dir: Path, tiny_text_model: Path) -> None:
    assert resolve_device("auto") == "cuda"
    assert precision_here("auto", "auto") == "bf16"
    plan = build_encoders(settings_on(data_dir, tiny_text_model, "auto", "auto")).plan
    assert plan.clip is not None and plan.text is not None
    assert (plan.clip.device, plan.clip.precision) == ("cuda", "bf16")
    assert (plan.text.device, plan.text.precision) == ("cuda", "bf16")


@pytest.mark.parametrize("precision", ["fp32", "bf16", "fp16"])
def test_clip_and_text_on_cuda_match_the_cpu(data_dir: Path, tiny_text_model: Path, precision: str) -> None:
    cpu = build_encoders(settings_on(data_dir, tiny_text_model, "cpu", "fp32"))
    gpu = build_encoders(settings_on(data_dir, tiny_text_model, "cuda", precision))
    assert cpu.clip and cpu.text and gpu.clip and gpu.text
    pictures = images()

    compare("clip images", precision, cpu.clip.encode_images(pictures), gpu.clip.encode_images(pictures))
    compare("clip texts", precision, cpu.clip.encode_texts(TEXTS), gpu.clip.encode_texts(TEXTS))
    compare("text", precision, cpu.text.encode_texts(TEXTS), gpu.text.encode_texts(TEXTS))
    # Questions: ONNX Runtime is a CPU fp32 path; on CUDA they stay on torch, and equal the stored vectors.
    assert gpu.text.prepare_questions("auto", 1) == "torch"
    np.testing.assert_allclose(gpu.text.encode_questions(TEXTS), gpu.text.encode_texts(TEXTS), atol=1e-6)

    assert model_placement(gpu.clip._model) == ("cuda", DTYPES[precision])
    assert model_placement(gpu.text._model) == ("cuda", DTYPES[precision])
    described = gpu.describe()["channels"]
    assert described["clip"]["device"] == described["text"]["device"] == "cuda"
    assert described["clip"]["precision"] == described["text"]["precision"] == precision
    # The device is not in the version, the dtype is.
    same = gpu.embedding_version == cpu.embedding_version
    assert same if precision == "fp32" else not same


def test_a_bad_image_fails_alone_on_cuda(data_dir: Path, tiny_text_model: Path) -> None:
    gpu = build_encoders(settings_on(data_dir, tiny_text_model, "cuda", "bf16"))
    assert gpu.clip is not None
    broken = Image.new("RGB", (0, 0))
    partial = gpu.clip.encode_images_partial([*images()[:3], broken, images()[4]])
    assert partial.indices == [0, 1, 2, 4] and list(partial.errors) == [3]
    assert partial.vectors.shape == (4, gpu.clip.dim)


def test_collection_record_names_what_ran_and_a_cpu_reader_rebuilds_it(
    data_dir: Path, tiny_text_model: Path
) -> None:
    gpu_settings = settings_on(data_dir, tiny_text_model, "cuda", "auto")
    gpu = build_encoders(with_precision_pinned(gpu_settings))
    record = encoder_settings_record(gpu_settings)
    assert record["clip"]["precision"] == record["text"]["precision"] == "bf16"

    reader = build_encoders(
        settings_for_collection(settings_on(data_dir, tiny_text_model, "cpu", "fp32"), record)
    )
    assert reader.embedding_version == gpu.embedding_version
    assert reader.plan.clip is not None and reader.plan.clip.device == "cpu"
    assert gpu.clip is not None and reader.clip is not None
    # A question encoded on the CPU reader lands where the GPU's stored vectors are.
    compare("clip texts cpu-reader", "bf16", gpu.clip.encode_texts(TEXTS), reader.clip.encode_texts(TEXTS))


def test_ray_encoder_actor_encodes_on_cuda_in_the_drivers_dtype(
    data_dir: Path, tiny_text_model: Path
) -> None:
    """The actor class of ``--engine ray`` (here in-process: Ray is not on the GPU machine), built from what
    the driver sends with ``ingest.ray_encode_gpus`` set and the encoders on ``cuda``."""
    settings = settings_on(data_dir, tiny_text_model, "cuda", "auto")
    settings.ingest.ray_encode_gpus = 1.0
    sent = encoder_settings(settings)
    assert sent.clip.precision == sent.text.precision == "bf16"
    actor = EncoderActor(sent)
    version, load_s = actor.loaded()
    assert version == build_encoders(with_precision_pinned(settings)).embedding_version and load_s > 0
    encoders: EncoderSet = actor.encoders
    assert encoders.clip is not None and encoders.text is not None
    assert model_placement(encoders.clip._model) == ("cuda", torch.bfloat16)
    assert model_placement(encoders.text._model) == ("cuda", torch.bfloat16)
