"""Redirects that keep the browser's scheme and host.

Starlette's trailing-slash redirect (307, ``/v1/me/`` -> ``/v1/me``) names an absolute address built from
the request as figvault saw it. Behind a TLS-terminating proxy that is ``http://`` (the proxy speaks plain
HTTP to figvault, and its ``X-Forwarded-Proto`` is believed only from ``service.forwarded_allow_ips``), so a
user's browser left HTTPS. A redirect to figvault's own host is sent as a path (and query) only, which RFC
9110 allows: the browser resolves it against the address it used, scheme and host included.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RelativeRedirects:
    """ASGI middleware: a 3xx response whose ``Location`` is an absolute address on the request's own host
    gets that address's path and query instead. A redirect elsewhere (none in figvault today) is kept, and so
    is one whose path starts with "//" (sent alone it is a scheme-relative address of another host)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host", "")

        async def send_relative(message: Message) -> None:
            if message["type"] == "http.response.start" and 300 <= message["status"] < 400:
                _relative_location(MutableHeaders(scope=message), host)
            await send(message)

        await self.app(scope, receive, send_relative)


def _relative_location(headers: MutableHeaders, host: str) -> None:
    location = headers.get("location")
    if not location:
        return
    parts = urlsplit(location)
    if not (parts.scheme and parts.netloc and parts.netloc.lower() == host.lower()):
        return
    if parts.path.startswith("//"):  # as a path alone it would read as another host ("//other.example/x")
        return
    headers["location"] = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
