"""Pytest fixtures: tiny random Qwen-VL model directories, built once a session (see tiny_qwen.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.encoders.tiny_qwen import Family, build_tiny_qwen


@pytest.fixture(scope="session")
def tiny_qwen_factory(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Family], Path]:
    """``factory(family)`` -> a saved tiny model directory of that family (built on first use)."""
    built: dict[Family, Path] = {}

    def factory(family: Family) -> Path:
        if family not in built:
            built[family] = build_tiny_qwen(tmp_path_factory.mktemp(f"tiny-{family}"), family)
        return built[family]

    return factory


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tiny_qwen_factory: Callable[[Family], Path]) -> Path:
    return tiny_qwen_factory("qwen2_vl")
