"""The Ray engine's check of its actors' embedding version, without a Ray cluster (a stand-in ``ray``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from figvault.errors import FigvaultError, VersionMismatchError, public_line
from figvault.pipeline.ray_engine import RayEngine
from figvault.pipeline.stages import StageClock
from figvault.settings import Settings


def stand_in_ray() -> SimpleNamespace:
    """Actors whose ``loaded`` calls are done and say the old version."""
    return SimpleNamespace(
        get=lambda refs: [("clip-old", 1.0) for _ in refs],
        wait=lambda refs, num_returns, timeout: (refs, []),
    )


def test_a_version_mismatch_is_raised_again_when_the_engine_is_reused() -> None:
    engine = RayEngine(Settings())
    engine.ray = stand_in_ray()
    engine._unchecked = ["loaded-ref"]
    store = SimpleNamespace(embedding_version="clip-new")
    for _ in range(2):  # the second run must not skip the check and write vectors of the wrong version
        with pytest.raises(FigvaultError, match="reencode"):
            engine._check_loaded(store, StageClock())


def test_the_mismatch_says_the_one_sentence_and_is_a_version_mismatch() -> None:
    """The engine had its own sentence, and raised a plain FigvaultError, whose text HTTP readers of the job
    read whole; now the one hint (``served_encoders.mismatch_hint``) with the local engine as a way out, and
    a VersionMismatchError, which readers see as the fixed sentence."""
    engine = RayEngine(Settings())
    engine.ray = stand_in_ray()
    engine._unchecked = ["loaded-ref"]
    with pytest.raises(VersionMismatchError) as raised:
        engine._check_loaded(SimpleNamespace(embedding_version="clip-new"), StageClock())
    assert str(raised.value) == (
        "store serves clip-new, configured clip-old: run `figvault reencode`, or use --engine local"
    )
    assert "an admin must re-encode" in public_line(raised.value)
