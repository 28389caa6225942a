"""Fixtures shared by the pipeline tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from figvault.settings import Settings, load_settings


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray for one test module (2 CPUs, no dashboard, on loopback only: tests/conftest.py sets
    Ray's local-only mode); modules that need it say ``pytestmark = pytest.mark.usefixtures("local_ray")``.
    Ray is imported here, not at the top: the other pipeline tests run without the ``[ray]`` extra."""
    import ray

    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    """The offline profile in the test's data folder, one extraction worker (a module may define its own)."""
    s = load_settings("offline", data_dir=data_dir)
    s.extract.workers = 1
    return s
