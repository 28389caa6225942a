"""Torch threads for a serving process: the configured count, or half the usable cores within 1 to 4."""

from __future__ import annotations

import os

import pytest

from figvault.encoders import device


def test_a_configured_thread_count_is_kept() -> None:
    assert device.serving_cpu_threads(3) == 3


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 1), (4, 2), (8, 4), (64, 4)])
def test_auto_takes_half_the_usable_cores(monkeypatch: pytest.MonkeyPatch, cores: int, expected: int) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert device.serving_cpu_threads(0) == expected
