"""A document that Ray fails for good (its worker or node lost, its retries spent) gets a reason without
Ray's own text, which names the cluster's nodes: the document's reason is shown to whoever sees the
document and the job (docs/service.md, "Learning the deployment from error messages"). No Ray is
started: the engine's two places that catch such a failure are called with a ``ray`` whose ``get``
fails as Ray's does."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from figvault.pipeline import ray_engine
from figvault.pipeline.stages import DocSpec, StageClock

RAY_TEXT = (
    "ray::extract_task() (pid=48213, ip=10.44.0.17, actor_id=5f1c0e) The worker died unexpectedly while"
    " executing this task (node 10.44.0.17 lost)"
)


class NodeLost(Exception):
    """Stands for Ray's errors (RayTaskError, WorkerCrashedError, NodeDiedError), whose text names nodes."""


class FailingRay:
    """What the engine uses of ``ray``: ``get`` fails as when a task's retries are spent."""

    @staticmethod
    def get(ref: Any) -> Any:
        raise NodeLost(RAY_TEXT)

    @staticmethod
    def is_initialized() -> bool:
        return True


def spec(tmp_path: Path) -> DocSpec:
    return DocSpec(0, tmp_path / "report.pdf", "d0", "report.pdf", "acme", ("eng",), (), "v")


def test_an_encode_call_ray_lost_fails_its_documents_without_rays_text(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = ray_engine.RayEngine.__new__(ray_engine.RayEngine)
    engine.ray = FailingRay()
    with caplog.at_level(logging.WARNING, logger="figvault"):
        [(_, reason)] = list(engine._collect("ref", [spec(tmp_path)], StageClock()))
    assert isinstance(reason, str) and "encoding failed on the Ray cluster (NodeLost)" in reason
    assert "10.44.0.17" not in reason and "pid=" not in reason
    assert "10.44.0.17" in caplog.text  # the driver's log keeps it for the operator


def test_an_extraction_ray_lost_fails_its_document_without_rays_text(monkeypatch: pytest.MonkeyPatch) -> None:
    import ray

    monkeypatch.setattr(ray, "get", FailingRay.get)
    actor = ray_engine.EncoderActor.__new__(ray_engine.EncoderActor)  # no encoders: no document reaches them
    results, _, _ = actor.encode(["ref"], [])
    [(reason, seconds)] = results
    assert isinstance(reason, str) and "extraction failed on the Ray cluster (NodeLost)" in reason
    assert "10.44.0.17" not in reason and seconds == 0.0
