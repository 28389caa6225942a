"""The driver of a Ray ingest whose encoder actors run on GPUs needs no GPU itself: it plans the encoders
(version, dimensions) and writes; only the actors load models. Here the actors get the same encoders on
the CPU (the device is not part of the version), since this machine has no GPU."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from figvault.pipeline import ray_engine
from figvault.pipeline.ingest_pipeline import INDEXED
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf

pytestmark = [
    pytest.mark.usefixtures("local_ray"),
    pytest.mark.skipif(torch.cuda.is_available(), reason="checks a driver without CUDA"),
]


def on_device(settings: Settings, device: str) -> Settings:
    return settings.model_copy(
        update={
            name: getattr(settings, name).model_copy(update={"device": device}) for name in ("clip", "text")
        }
    )


def test_a_driver_without_a_gpu_ingests_with_encoders_on_cuda(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = on_device(tiny_settings(tmp_path / "data", TINY_A), "cuda")
    settings.extract.workers = 1
    sent = ray_engine.encoder_settings
    monkeypatch.setattr(ray_engine, "encoder_settings", lambda s: on_device(sent(s), "cpu"))
    doc = figure_pdf(tmp_path / "report.pdf", seed=3)
    job = JobStore.open(settings).create(
        JobType.INGEST, {"paths": [str(doc)], "groups": [], "engine": "ray"}, started_by="t", tenant="default"
    )
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED, final
    assert [d["status"] for d in final.result["documents"]] == [INDEXED]
