"""A loopback TCP listener that records every connection made to it: a file under test links to its URL,
and the test asserts that nothing connected (no fetch, no SSRF)."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType


class LoopbackTrap:
    """Listens on 127.0.0.1 (a free port) while the ``with`` block runs; ``hits`` holds the first bytes each
    connection sent (``b""`` for one that sent nothing)."""

    def __init__(self) -> None:
        self.hits: list[bytes] = []
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(16)
        self._server.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="loopback-trap", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.getsockname()[1])

    def url(self, path: str = "x") -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1.0)
                try:
                    self.hits.append(conn.recv(256))
                except OSError:
                    self.hits.append(b"")

    def __enter__(self) -> LoopbackTrap:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        time.sleep(0.3)  # a connection made at the end of the block is still accepted and recorded
        self._stop.set()
        self._thread.join()
        self._server.close()
