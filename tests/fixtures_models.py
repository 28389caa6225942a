"""Pytest fixtures: encoder settings on tiny random OpenCLIP models (see tests/encoders/tiny_models.py).

``tiny_clip_settings``: CLIP channel on ``fv-tiny-a`` (32-d) + MiniLM text channel + BM25 lexical.
``tiny_clip_settings_b``: the same on ``fv-tiny-b`` (48-d): another embedding_version for re-encode tests.
``tiny_encoders`` / ``tiny_encoders_b``: the matching EncoderSets; their loaded models are shared across the
session (loading MiniLM costs about a second), which is safe because encoders are read-only and locked.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.encoders.factory import EncoderSet, build_encoders
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, TINY_B, tiny_settings

_loaded: dict[str, EncoderSet] = {}


def _shared_encoders(settings: Settings) -> EncoderSet:
    built = build_encoders(settings)
    return _loaded.setdefault(built.embedding_version, built)


@pytest.fixture
def tiny_clip_settings(data_dir: Path) -> Settings:
    return tiny_settings(data_dir, TINY_A)


@pytest.fixture
def tiny_clip_settings_b(data_dir: Path) -> Settings:
    return tiny_settings(data_dir, TINY_B)


@pytest.fixture
def tiny_encoders(tiny_clip_settings: Settings) -> EncoderSet:
    return _shared_encoders(tiny_clip_settings)


@pytest.fixture
def tiny_encoders_b(tiny_clip_settings_b: Settings) -> EncoderSet:
    return _shared_encoders(tiny_clip_settings_b)
