"""tests/helpers/netns.py on its own (no Milvus): a server inside a loopback-only namespace is out of reach
from ours, and the forwarder carries bytes both ways and passes a half-close on."""

from __future__ import annotations

import socket
import threading

import pytest

from tests.helpers.netns import Forwarder, LoopbackNamespace, NamespaceUnavailable


@pytest.fixture
def namespace() -> LoopbackNamespace:
    try:
        return LoopbackNamespace()
    except (NamespaceUnavailable, OSError) as exc:
        pytest.skip(f"no network namespace here: {exc}")


def _upper_echo(listener: socket.socket) -> None:
    """One connection: send back what comes, upper-cased, until the client half-closes; then say bye."""
    conn, _ = listener.accept()
    with conn:
        while data := conn.recv(4096):
            conn.sendall(data.upper())
        conn.sendall(b"BYE")


def test_the_forwarder_reaches_a_server_no_one_else_can(namespace: LoopbackNamespace) -> None:
    # Hold a loopback port here (bound, not listening: a connection to it is refused) ...
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    # ... and bind that port on every interface, as Milvus binds, inside the namespace: no clash there.
    listener = namespace.run(lambda: socket.create_server(("0.0.0.0", port)))
    server = threading.Thread(target=_upper_echo, args=(listener,), daemon=True)
    server.start()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
    forwarder = Forwarder(namespace, port)
    try:
        with socket.create_connection(("127.0.0.1", forwarder.port), timeout=10) as client:
            client.sendall(b"hello " * 20_000)  # more than one chunk
            client.shutdown(socket.SHUT_WR)  # the server sees the end only through the forwarder
            received = b""
            while data := client.recv(65536):
                received += data
        assert received == b"HELLO " * 20_000 + b"BYE"
        server.join(timeout=10)
        assert not server.is_alive()
    finally:
        forwarder.close()
        listener.close()
        held.close()
        namespace.close()
