"""The servers the tests start listen on loopback only (the brief: "on loopback only"): a guard over the
Milvus 2.3.5 standalone of tests/fixtures_registry.py, which on its own binds every interface, and over
everything else this test process has started by then."""

from __future__ import annotations

import os

import pytest

from tests.helpers.listeners import descendants, listening_sockets

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_the_milvus_server_and_its_forwarder_listen_on_loopback_only(milvus_uri: str) -> None:
    sockets = listening_sockets(descendants(os.getpid()))
    # The server is a child of this process and listens (else the check below would pass vacuously).
    assert any(s.command == "milvus" for s in sockets), [str(s) for s in sockets]
    assert [str(s) for s in sockets if s.reachable_from_outside] == []
