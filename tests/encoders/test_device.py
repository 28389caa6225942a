"""Torch threads for a serving process: the configured count, or half the usable cores within 1 to 4."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from figvault.encoders import device
from figvault.encoders.factory import build_encoders
from figvault.errors import ModelUnavailableError
from figvault.retrieval.served_encoders import encoder_settings_record, settings_for_collection
from figvault.settings import Settings
from tests.conftest import REPO


def test_a_configured_thread_count_is_kept() -> None:
    assert device.serving_cpu_threads(3) == 3


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_auto_takes_half_the_usable_cores(monkeypatch: pytest.MonkeyPatch, cores: int, expected: int) -> None:
    monkeypatch.setattr(device, "usable_cores", lambda: cores)
    assert device.serving_cpu_threads(0) == expected


def test_auto_precision_on_cuda_is_one_a_cpu_reader_can_compute(tiny_clip_settings: Settings) -> None:
    """A store whose encoders ran with ``auto`` on CUDA (a GPU ingest, GPU Ray actors) records the dtype
    that ran; a search server on a CPU encodes its questions in that dtype, so it must be one a CPU has.
    No GPU needed: the record is pinned from settings, not from the device."""
    gpu = tiny_clip_settings.model_copy(
        update={
            name: getattr(tiny_clip_settings, name).model_copy(update={"device": "cuda", "precision": "auto"})
            for name in ("clip", "text")
        }
    )
    record = encoder_settings_record(gpu)
    assert record["clip"]["precision"] == record["text"]["precision"] == device.precision_here("auto", "cuda")

    reader = settings_for_collection(tiny_clip_settings, record)  # this process's device: cpu
    built = build_encoders(reader)  # was: ModelUnavailableError "precision fp16 needs a CUDA device"
    assert built.plan.clip is not None and built.plan.clip.device == "cpu"
    assert built.plan.clip.precision == record["clip"]["precision"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_encoders_for_cuda_are_planned_without_a_gpu_and_refused_when_loaded(
    tiny_clip_settings: Settings,
) -> None:
    """The driver of a Ray ingest whose actors encode on GPUs (``ingest.ray_encode_gpus``, the encoders on
    ``cuda``) plans their encoders (version, dimensions) on a machine that may have no GPU; only loading a
    model there needs the device."""
    on_gpu = tiny_clip_settings.model_copy(
        update={
            name: getattr(tiny_clip_settings, name).model_copy(update={"device": "cuda", "precision": "fp32"})
            for name in ("clip", "text")
        }
    )
    planned = build_encoders(on_gpu)  # was: ModelUnavailableError "torch sees no CUDA device"
    assert planned.embedding_version == build_encoders(tiny_clip_settings).embedding_version
    assert planned.clip is not None and planned.text is not None
    with pytest.raises(ModelUnavailableError, match="torch sees no CUDA device"):
        planned.clip.encode_texts(["revenue chart"])
    with pytest.raises(ModelUnavailableError, match="torch sees no CUDA device"):
        planned.text.encode_texts(["revenue chart"])


def test_the_offline_ingest_path_imports_no_torch(tmp_path: Path) -> None:
    """The offline profile's encoders (CLIP off, texts fp32 on the CPU) are built, and the ingest job's
    modules imported, without torch: a batch ingest whose texts run on ONNX Runtime starts extracting
    without torch's import (1.5-4 s on 2 cores). Before, encoders/device.py and clip.py imported it."""
    script = (
        "import sys\n"
        "from figvault.settings import load_settings\n"
        "from figvault.encoders.factory import build_encoders\n"
        "import figvault.pipeline.ingest_job, figvault.pipeline.ingest_pipeline, figvault.pipeline.runner\n"
        f"encoders = build_encoders(load_settings('offline', data_dir={str(tmp_path)!r}))\n"
        "print(encoders.embedding_version, 'torch' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")}
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "False", result.stdout


def test_the_precision_table_is_still_there_for_its_readers() -> None:
    table = device.DTYPES  # built on first use
    assert table == {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    assert device.torch_dtype("bf16") is torch.bfloat16
