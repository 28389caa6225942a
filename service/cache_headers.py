"""``Cache-Control: no-store`` on every answer that says nothing of its own caching.

The API's answers are a caller's view (search results, documents, jobs, audit rows, counts) and most are
read with a credential. Without a ``Cache-Control`` header a browser keeps a GET's answer in its disk
cache, so a reader's results outlived the tab that held its key (sessionStorage) on a shared workstation,
and an intermediary configured to cache authenticated answers had nothing saying no. Routes whose
answers may be kept say so themselves and are left alone: the page (``no-cache``), unit and page images
(``private``, ``Vary: Authorization``), the job event stream (``no-cache``) and the static scripts under
``/static`` (public code, revalidated by their ETag).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NO_STORE = "no-store"
STATIC_PREFIX = "/static/"
"""The page's own scripts and styles (``service/api/routes/page.py``): nobody's data."""


class NoStoreByDefault:
    """ASGI middleware: a response without ``Cache-Control`` gets ``no-store``, outside ``/static/``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if scope["type"] != "http" or path.removeprefix(root).startswith(STATIC_PREFIX):
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "cache-control" not in headers:
                    headers["Cache-Control"] = NO_STORE
            await send(message)

        await self.app(scope, receive, send_no_store)
