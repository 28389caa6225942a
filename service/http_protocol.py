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

It also bounds how slowly a request may arrive. uvicorn times a connection out only while it is idle between
requests: a head or a body sent a byte at a time (slow-loris: an upload whose Content-Length promises more
than ever comes) held its connection, its handler and its spooled upload for ever. Now a request whose head or
body is unfinished is closed when no byte of it came for READ_IDLE_S, or when, READ_IDLE_S after its first
byte, its bytes average less than READ_MIN_BYTES_PER_S (time the server itself stopped reading, its flow
control or an ``Expect: 100-continue`` not yet answered, does not count, and the client's time starts again
at the first look after such a wait ended).
"""

from __future__ import annotations

import logging
import time
from asyncio import TimerHandle

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

log = logging.getLogger("figvault.service")

REFUSED = b"request header fields too large"
READ_IDLE_S = 30.0
"""Seconds without a byte of an unfinished request after which its connection is closed (nginx's
client_body_timeout is 60 s; a client that is sending at all sends more often than this)."""
READ_MIN_BYTES_PER_S = 8 * 1024
"""The least average rate of an unfinished request READ_IDLE_S after its first byte: a 100 MiB upload
(``service.max_upload_mb``) may take up to 3.6 hours at it; a modem-speed link (56 kbit/s) sends 7 KB/s."""
PACE_CHECK_S = 1.0
"""How often an unfinished request's pace is looked at."""


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
    read_idle_s: float = READ_IDLE_S
    read_min_rate: float = READ_MIN_BYTES_PER_S

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._in_head = True  # a connection starts with a request's head
        self._parsed_bytes = 0  # the request line and whole headers the parser handed over
        self._later_reads = 0  # the reads after the one the head began in, the head still unfinished
        self._began_in_read = False
        self._refused = False
        self._pace: TimerHandle | None = None  # armed while a request is unfinished
        self._since = self._last_byte = 0.0
        self._request_bytes = 0
        self._server_waited = False  # whether the last pace check found the server not reading

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._began_in_read = True
        self._parsed_bytes = 0
        self._later_reads = 0
        self._since = self._last_byte = time.monotonic()
        self._request_bytes = 0
        self._server_waited = False
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._pace = self.loop.call_later(PACE_CHECK_S, self._check_pace)

    def _disarm(self) -> None:
        if self._pace is not None:
            self._pace.cancel()
            self._pace = None

    def _check_pace(self) -> None:
        """Close the connection of an unfinished request that stalls or trickles (see the module's text)."""
        self._pace = None
        if self.transport.is_closing():
            return
        now = time.monotonic()
        cycle = self.cycle
        server_waits = self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)
        if server_waits or self._server_waited:
            # Our wait, not the client's; one that ended since the last look ended at an unknown moment
            # after it (an app reading just before this check), so the client's time starts now.
            self._since, self._last_byte, self._request_bytes = now, now, 0
        self._server_waited = server_waits
        elapsed = now - self._since
        if now - self._last_byte > self.read_idle_s:
            self._too_slow(f"no byte for {now - self._last_byte:.0f} s")
        elif elapsed > self.read_idle_s and self._request_bytes < self.read_min_rate * elapsed:
            self._too_slow(f"{self._request_bytes} bytes in {elapsed:.0f} s")
        else:
            self._arm()

    def _too_slow(self, what: str) -> None:
        log.warning(
            "closed a request from %s that came too slowly: %s (at most %g s without a byte, at least %d"
            " bytes a second)",
            self.client[0] if self.client else "?",
            what,
            self.read_idle_s,
            self.read_min_rate,
        )
        self.transport.close()

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
        self._last_byte = time.monotonic()
        super().data_received(data)
        self._request_bytes += len(data)  # after the parse: a read that began a request counts for it
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


def bounded_head_protocol(
    max_head_bytes: int, read_idle_s: float = READ_IDLE_S, read_min_rate: float = READ_MIN_BYTES_PER_S
) -> type[BoundedHeadProtocol]:
    """The protocol class to hand uvicorn (``http=``) for these bounds."""
    bounds = {"max_head_bytes": max_head_bytes, "read_idle_s": read_idle_s, "read_min_rate": read_min_rate}
    return type("BoundedHeadProtocol", (BoundedHeadProtocol,), bounds)
