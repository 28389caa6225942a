"""A request's head is bounded: a 1 MB header is answered 431 and the server goes on serving.

Before (uvicorn's httptools protocol as `figvault serve` ran it), a 1 MB header and a 16 MB one were read
whole and answered 200 (docs/deploy.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn
from uvicorn.server import ServerState

from figvault.commands import serve as serve_command
from figvault.service.http_protocol import bounded_head_protocol
from figvault.settings import load_settings
from tests.helpers.server import free_port, uvicorn_in_thread

BOUND = 64 * 1024


async def _ok(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:  # the whole body, so an upload's bytes are read as a body, never as a head
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(len(body)).encode()})


@pytest.fixture
def port() -> Iterator[int]:
    with uvicorn_in_thread(_ok, bounded_head_protocol(BOUND)) as chosen:
        yield chosen


def _status(port: int, request: bytes) -> int:
    """The status code the server answers ``request`` with (0: closed without an answer)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:
        # refused part-way: the answer may still be there to read
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            conn.sendall(request)
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else 0


def _get(header: bytes = b"") -> bytes:
    return b"GET / HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n"


def test_a_one_megabyte_header_is_refused_and_the_server_serves_on(port: int) -> None:
    assert _status(port, _get(b"X-Big: " + b"a" * 2**20 + b"\r\n")) == 431
    assert _status(port, _get(b"".join(b"X-%d: a\r\n" % i for i in range(20_000)))) == 431
    assert _status(port, _get()) == 200


def test_the_longest_token_and_a_big_body_pass(port: int) -> None:
    token = b"Authorization: Bearer " + b"t" * 16_384 + b"\r\n"
    assert _status(port, _get(token)) == 200
    body = b"b" * (4 * BOUND)  # in the same reads as the head: a body is never counted as head
    upload = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    assert _status(port, upload) == 200


def test_serve_hands_uvicorn_the_bound(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setenv("FIGVAULT_SERVICE__MAX_HEADER_KB", "8")
    settings = load_settings("offline", data_dir=tmp_path)
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))
    monkeypatch.setattr(serve_command, "_log_to_stderr", lambda _level: None)
    monkeypatch.setattr(serve_command, "state", lambda _ctx: type("S", (), {"settings": settings})())
    monkeypatch.setattr("figvault.service.app.create_app", lambda _settings, **_kw: object())
    serve_command.serve(None, host="127.0.0.1", port=free_port())  # type: ignore[arg-type]
    assert seen["http"].max_head_bytes == 8 * 1024


def _statuses(port: int, request: bytes, expected: int) -> list[int]:
    """The status codes of the answers to ``request`` (pipelined requests), read until ``expected`` came
    or the server closed."""
    answer = b""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=30) as conn,
        contextlib.suppress(BrokenPipeError, ConnectionResetError),
    ):
        conn.sendall(request)
        while answer.count(b"HTTP/1.1 ") < expected or not answer.endswith(b"0"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
    return [int(line.split(b" ", 2)[1]) for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]


def test_pipelined_small_requests_past_the_bound_together_pass(port: int) -> None:
    """5,000 GETs of 27 bytes sent at once (135 KB, past the 64 KiB bound together, each head tiny): all
    answered 200. Before (2026-12-05) a read ending inside a head counted the whole read, the heads and
    bodies of the requests before it too: the first answer was 431 and the connection closed."""
    count = 5000
    statuses = _statuses(port, _get() * count, count)
    assert statuses == [200] * count


def test_a_big_head_after_a_small_request_on_one_connection_is_refused(port: int) -> None:
    """Keep-alive: a request answered, then a 1 MB header on the same connection gets 431."""
    big = _get(b"X-Big: " + b"a" * 2**20 + b"\r\n")
    assert _statuses(port, _get() + big, 2) == [200, 431]


class _Transport(asyncio.Transport):
    """What the protocol writes and whether it closed; every read is the one ``data_received`` is given."""

    def __init__(self) -> None:
        super().__init__()
        self.written, self.closed = b"", False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 5000)}.get(name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += bytes(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None: ...

    def resume_reading(self) -> None: ...


@pytest.mark.parametrize("head", ["one header", "many headers", "request line"])
def test_a_head_past_the_bound_within_one_read_is_refused(head: str) -> None:
    """A head whole within one socket read (asyncio reads up to 256 KiB) was parsed to its end inside the
    read and reached the application (200) before the bound was checked, after the read."""
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["path"])
        await _ok(scope, receive, send)

    request = {
        "one header": _get(b"X-Big: " + b"a" * (2 * BOUND) + b"\r\n"),
        "many headers": _get(b"".join(b"X-%d: a\r\n" % i for i in range(BOUND // 4))),
        "request line": b"GET /" + b"p" * (2 * BOUND) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    }[head]
    assert len(request) < 256 * 1024

    async def one_read() -> _Transport:
        config = uvicorn.Config(app, http=bounded_head_protocol(BOUND), log_level="critical")
        config.load()
        protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(request)
        await asyncio.sleep(0.05)  # a request that got through has run by now
        return transport

    transport = asyncio.run(one_read())
    assert transport.written.startswith(b"HTTP/1.1 431 ") and transport.written.count(b"HTTP/1.1") == 1
    assert transport.closed and not seen


def test_a_refusal_in_the_parser_is_logged_once_as_what_it_is(caplog: pytest.LogCaptureFixture) -> None:
    """The exception that stops the parser reaches uvicorn as a parser error, which it logged as "Invalid
    HTTP request received." beside the refusal's own line: an operator read a malformed request."""

    async def one_read() -> _Transport:
        config = uvicorn.Config(_ok, http=bounded_head_protocol(BOUND), log_config=None, log_level="warning")
        config.load()
        protocol = config.http_protocol_class(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
        transport = _Transport()
        protocol.connection_made(transport)
        protocol.data_received(_get(b"X-Big: " + b"a" * (2 * BOUND) + b"\r\n"))
        protocol.connection_lost(None)  # what the closed transport calls next: it reads its logger's level
        return transport

    with caplog.at_level(logging.WARNING):
        transport = asyncio.run(one_read())
    assert transport.written.startswith(b"HTTP/1.1 431 ")
    messages = [record.getMessage() for record in caplog.records]
    assert any("service.max_header_kb" in m for m in messages), messages
    assert "Invalid HTTP request received." not in messages, messages  # uvicorn's words
