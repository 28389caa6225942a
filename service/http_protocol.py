"""uvicorn's HTTP protocol with a bound on a request's head (request line and headers).

uvicorn's httptools protocol reads a request's headers whole, however big: a 1 MB or 16 MB header, or
100,000 headers, were read and answered (docs/deploy.md); its h11 limit is not applied there, and h11
itself let 10,000 headers arriving in one read through. This subclass counts the bytes of each request's
head and, past the bound, answers ``431 Request Header Fields Too Large`` and closes the connection before
the application sees anything. Two counts, each of head bytes only: the request line and the headers the
parser has handed over, checked as each is handed over (a whole head within one socket read, up to 256 KiB,
is parsed to its end inside that read: checked after the read, it had already gone to the application), and
the whole reads that arrived after the one the head began in while the head is still unfinished. A read's
bytes before the head began (a pipelined request's body or head) are never counted: counting whole reads
refused 5,000 pipelined 27-byte GETs sent at once. What the parser holds of an unfinished head is at most the
bound plus one read.
"""

from __future__ import annotations

import logging

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("figvault.service")

REFUSED = b"request header fields too large"


class HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head past the bound (already answered 431)."""


PARSER_ERROR = "Invalid HTTP request received."
"""What uvicorn logs of an error raised while parsing, ours (HeadTooLarge) included."""


REFUSED_LOG = logging.getLogger("uvicorn.error.refused")
"""uvicorn's logger of a connection refused from a parser callback (a Logger, as uvicorn reads its ``level``;
its records reach uvicorn.error's handlers): the parser error uvicorn then reports is the HeadTooLarge that
stopped the parser, not a malformed request, and the refusal is logged already, so that line is dropped."""
REFUSED_LOG.addFilter(lambda record: record.getMessage() != PARSER_ERROR)


class BoundedHeadProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that refuses a request whose head exceeds ``max_head_bytes`` with 431."""

    max_head_bytes: int  # set by bounded_head_protocol (service.max_header_kb: its one default)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_head = True  # a connection starts with a request's head
        self._parsed_bytes = 0  # the request line and whole headers the parser handed over
        self._later_reads = 0  # the reads after the one the head began in, the head still unfinished
        self._began_in_read = False
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._began_in_read = True
        self._parsed_bytes = 0
        self._later_reads = 0

    def on_url(self, url: bytes) -> None:
        super().on_url(url)
        self._count_parsed(len(url))

    def on_header(self, name: bytes, value: bytes) -> None:
        super().on_header(name, value)
        self._count_parsed(len(name) + len(value) + 4)  # ': ' and CRLF

    def _count_parsed(self, size: int) -> None:
        """Count head bytes as the parser hands them over; past the bound, answer 431 and stop the parser
        there (uvicorn answers a parser error 400: ``send_400_response`` stays silent after a refusal)."""
        self._parsed_bytes += size
        if self._parsed_bytes > self.max_head_bytes:
            self._refuse()
            self.logger = REFUSED_LOG
            raise HeadTooLarge

    def send_400_response(self, msg: str) -> None:
        if not self._refused:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        self._began_in_read = False
        super().data_received(data)
        # Counted after parsing: a read that ended a head (its body's start, a next request) adds nothing,
        # and of the read a head began in only what the parser handed over counts.
        if not self._in_head or self.transport.is_closing():
            return
        if not self._began_in_read:
            self._later_reads += len(data)
        if self._later_reads > self.max_head_bytes:
            self._refuse()

    def _refuse(self) -> None:
        self._refused = True
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
