"""The Ray engine's check of its actors' embedding version, without a Ray cluster (a stand-in ``ray``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from figvault.errors import FigvaultError
from figvault.pipeline.ray_engine import RayEngine
from figvault.pipeline.stages import StageClock
from figvault.settings import Settings


def test_a_version_mismatch_is_raised_again_when_the_engine_is_reused() -> None:
    engine = RayEngine(Settings())
    engine.ray = SimpleNamespace(get=lambda refs: [("clip-old", 1.0) for _ in refs])
    engine._unchecked = ["loaded-ref"]
    store = SimpleNamespace(embedding_version="clip-new")
    for _ in range(2):  # the second run must not skip the check and write vectors of the wrong version
        with pytest.raises(FigvaultError, match="reencode"):
            engine._check_loaded(store, StageClock())
