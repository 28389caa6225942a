"""The local Ray of the pipeline tests (tests/pipeline/conftest.py) listens on loopback only: its GCS,
raylet, workers, agents and autoscaler monitor. Without RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 (set in
tests/conftest.py) Ray on Linux swaps even ``_node_ip_address="127.0.0.1"`` for the machine's address and
binds every interface."""

from __future__ import annotations

import os

import pytest

from tests.helpers.listeners import descendants, listening_sockets

ray = pytest.importorskip("ray", reason="the `ray` extra is not installed")

pytestmark = pytest.mark.usefixtures("local_ray")


@ray.remote
def _plus_one(x: int) -> int:
    return x + 1


def test_local_ray_listens_on_loopback_only() -> None:
    assert ray.get([_plus_one.remote(i) for i in range(2)]) == [1, 2]  # workers up: they listen too
    sockets = listening_sockets(descendants(os.getpid()))
    assert any(s.command == "raylet" for s in sockets), [str(s) for s in sockets]
    assert [str(s) for s in sockets if s.reachable_from_outside] == []
