"""``--ray-address HOST:PORT`` (a GCS address) that nothing answers: Ray's connect retried for many minutes
with its own log lines only, the job running (an audit, 2026-12-07, stopped it at 300 s). The driver now
tries the port first and fails the connect with what to check within ``GCS_PROBE_S``. No Ray: a stand-in
records whether ``init`` was reached."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from figvault.errors import DeploymentError
from figvault.pipeline import ray_engine
from tests.encoders.tiny_models import tiny_settings


class Reached(Exception):
    pass


class RecordingRay:
    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: object) -> None:
        raise Reached(kwargs.get("address"))


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_gcs_address_nothing_answers_fails_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_engine, "require_ray", RecordingRay)
    address = f"127.0.0.1:{closed_port()}"
    engine = ray_engine.RayEngine(tiny_settings(tmp_path), address=address)
    with pytest.raises(DeploymentError) as failed:
        engine._connect()  # Reached would mean ray.init was called
    assert failed.value.detail.startswith(f"cannot connect to the Ray cluster at {address} (")
    assert "the GCS's for HOST:PORT" in failed.value.detail


def test_an_answering_gcs_address_goes_on_to_ray(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ray_engine, "require_ray", RecordingRay)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        address = f"127.0.0.1:{listening.getsockname()[1]}"
        with pytest.raises(Reached, match=address):
            ray_engine.RayEngine(tiny_settings(tmp_path), address=address)._connect()
    for left_to_ray in ("ray://head.invalid:10001", "auto"):
        with pytest.raises(Reached):
            ray_engine.RayEngine(tiny_settings(tmp_path), address=left_to_ray)._connect()


def test_a_dead_gcs_address_in_ray_address_fails_at_once_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """RAY_ADDRESS, Ray's own way to name a cluster, skipped the check (a review, 2026-12-07)."""
    monkeypatch.setattr(ray_engine, "require_ray", RecordingRay)
    address = f"127.0.0.1:{closed_port()}"
    monkeypatch.setenv("RAY_ADDRESS", address)
    with pytest.raises(DeploymentError) as failed:
        ray_engine.RayEngine(tiny_settings(tmp_path))._connect()
    assert address in failed.value.detail
