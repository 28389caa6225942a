"""uvicorn's HTTP protocol with a bound on a request's head (request line and headers).

uvicorn's httptools protocol reads a request's headers whole, however big: a 1 MB or 16 MB header, or
100,000 headers, were read and answered (docs/deploy.md); its h11 limit is not applied there, and h11
itself let 10,000 headers arriving in one read through. This subclass counts the bytes of each request's
head as they arrive and, past the bound, answers ``431 Request Header Fields Too Large`` and closes the
connection before the application sees anything. The count is of whole reads, so a read that ends one
request's body and starts the next request's head counts a little more than the head: the bound is a
size class, not an exact byte count.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("figvault.service")

REFUSED = b"request header fields too large"


class BoundedHeadProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that refuses a request whose head exceeds ``max_head_bytes`` with 431."""

    max_head_bytes = 64 * 1024

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._head_bytes = 0
        self._in_head = True  # a connection starts with a request's head

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # Counted after parsing, so a read holding a small head and the body's start is never counted as
        # head; what the parser holds of an unfinished head is then at most the bound plus one read.
        if self._in_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > self.max_head_bytes:
                self._refuse()

    def _refuse(self) -> None:
        log.warning(
            "refused a request from %s: its headers passed %d bytes (service.max_header_kb)",
            self.client[0] if self.client else "?",
            self.max_head_bytes,
        )
        self.transport.write(
            b"".join(
                [
                    STATUS_LINE[431],
                    b"content-type: text/plain; charset=utf-8\r\n",
                    b"content-length: " + str(len(REFUSED)).encode("ascii") + b"\r\n",
                    b"connection: close\r\n\r\n",
                    REFUSED,
                ]
            )
        )
        self.transport.close()


def bounded_head_protocol(max_head_bytes: int) -> type[BoundedHeadProtocol]:
    """The protocol class to hand uvicorn (``http=``) for this bound."""
    return type("BoundedHeadProtocol", (BoundedHeadProtocol,), {"max_head_bytes": max_head_bytes})
