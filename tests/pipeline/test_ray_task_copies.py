"""The Ray extraction task's private copy of a document goes with its task, however the task ends: a task
cancelled or a worker killed mid-document left ``/tmp/figvault-ray-*/<file>`` on the node for good (a
TemporaryDirectory's cleanup never ran; an audit, 2026-12-07, found three such copies of a deck). The
copies are named by the worker's pid, and each task first removes those of workers that are gone. No Ray
here: the task is a plain function, called in this process as a worker calls it."""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

import pytest

from figvault.pipeline import ray_engine
from figvault.pipeline.stages import DocSpec
from figvault.settings import ExtractSettings


def _spec(name: str) -> DocSpec:
    return DocSpec(0, Path("/drop") / name, "d1", name, "acme", ("g",), (), "v1")


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.fixture
def temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_killed_workers_copy_is_removed_by_the_next_task(
    temp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dead = temp / f"{ray_engine.TASK_COPY_PREFIX}{_dead_pid()}-x1y2"
    dead.mkdir()
    (dead / "secret.pptx").write_bytes(b"PK confidential")
    alive = temp / f"{ray_engine.TASK_COPY_PREFIX}{os.getppid()}-a1b2"  # another worker, still running
    alive.mkdir()
    seen: list[bytes] = []

    def extracted(spec, settings, clock):  # type: ignore[no-untyped-def]
        seen.append(spec.path.read_bytes())
        return "stand-in reason"

    monkeypatch.setattr(ray_engine, "extract_and_prepare", extracted)
    outcome, _ = ray_engine.extract_task(_spec("deck.pptx"), b"PK deck", ExtractSettings())
    assert outcome == "stand-in reason" and seen == [b"PK deck"]
    assert not dead.exists() and alive.exists()
    assert sorted(p.name for p in temp.iterdir()) == [alive.name]  # its own copy went with it


def test_a_task_stopped_mid_document_leaves_no_copy(temp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def cancelled(spec, settings, clock):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt  # what Ray raises in a task it cancels

    monkeypatch.setattr(ray_engine, "extract_and_prepare", cancelled)
    with pytest.raises(KeyboardInterrupt):
        ray_engine.extract_task(_spec("deck.pptx"), b"PK deck", ExtractSettings())
    assert list(temp.iterdir()) == []
