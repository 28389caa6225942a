"""A reverse proxy for tests that serves a backend under a path prefix only, as nginx's
``location /figvault/ { proxy_pass http://figvault/; }`` does: ``/figvault/x`` goes to the backend as
``/x`` (bodies streamed both ways, server-sent events included), and any path outside the prefix is 404,
so a page that fetches from the host's root fails behind it as it would behind the real one."""

from __future__ import annotations

import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn

from tests.helpers.server import free_port

HOP_BY_HOP = {b"host", b"connection", b"keep-alive", b"transfer-encoding", b"content-length"}


def _prefix_app(backend: str, prefix: str) -> Any:
    client = httpx.AsyncClient(base_url=backend, timeout=120)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if not path.startswith(prefix + "/"):
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"outside the proxy's prefix"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, v) for k, v in scope["headers"] if k.lower() not in HOP_BY_HOP]
        query = scope["query_string"].decode()
        target = path[len(prefix) :] + (f"?{query}" if query else "")
        request = client.build_request(scope["method"], target, headers=headers, content=body)
        response = await client.send(request, stream=True)
        out = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
        await send({"type": "http.response.start", "status": response.status_code, "headers": out})
        chunks: AsyncIterator[bytes] = response.aiter_raw()
        async for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await response.aclose()
        await send({"type": "http.response.body", "body": b""})

    return app


@contextmanager
def prefix_proxy(backend: str, prefix: str) -> Iterator[str]:
    """A proxy serving ``backend`` under ``prefix`` (``/figvault``) on a loopback port; yields its root."""
    port = free_port()
    config = uvicorn.Config(
        _prefix_app(backend, prefix), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
