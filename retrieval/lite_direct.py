"""Milvus Lite's read calls of a search made in process, without the gRPC hop (pinned versions).

Why: pymilvus talks to Milvus Lite through a gRPC server that Lite starts inside this same process. Each
call serialises its request, crosses the server's polling thread and one of its worker threads and comes
back: with 8 concurrent searches on corpus + distractors that machinery (client channel and server threads,
not Lite's own work) was about 12% of the serving process's GIL-held time, for two calls per search (the
alias and the dense search) whose Lite work is a few milliseconds.

What changes: for ``READS`` only (a search, a query, the alias), pymilvus still builds the same request
message and reads the same response message; in between, the request goes straight to a ``MilvusServicer``
over the very ``MilvusLite`` database Lite's gRPC server serves (a servicer holds nothing but that
database; Lite's server builds its own the same way). The servicer turns every failure into a status in the
response, which pymilvus checks as before; a call where the servicer would have marked the gRPC status is
sent again through gRPC, so that it fails the way it always did. Writes, schema and flush calls go through
gRPC unchanged.

Pinned: applied only to milvus-lite ``PINNED_LITE`` with the servicer module it was written for
(``PINNED_SERVICER_SHA256``) and pymilvus ``PINNED_PYMILVUS``; anything else keeps gRPC, with one log line.
``store.lite_direct_reads = false`` keeps gRPC too. tests/retrieval/test_lite_direct.py checks that each
read answers the same both ways.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import os
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

PINNED_LITE = "3.2.2"
PINNED_PYMILVUS = "3.0.2"
PINNED_SERVICER_SHA256 = "a64899ca5c55d78075815688db74e523f2bc59f492f447acd6ae7436549e479f"
READS = ("Search", "Query", "DescribeAlias")


def why_not_applicable() -> str | None:
    """None when the installed milvus-lite and pymilvus are the ones this was written for."""
    try:
        import milvus_lite
        import pymilvus
        from milvus_lite.adapter.grpc import servicer
    except ImportError as exc:
        return f"milvus-lite is not importable ({exc})"
    if milvus_lite.__version__ != PINNED_LITE or pymilvus.__version__ != PINNED_PYMILVUS:
        found = f"milvus-lite {milvus_lite.__version__} / pymilvus {pymilvus.__version__}"
        return f"{found}, written for {PINNED_LITE} / {PINNED_PYMILVUS}"
    digest = hashlib.sha256(inspect.getsource(servicer).encode()).hexdigest()
    if digest != PINNED_SERVICER_SHA256:
        return "milvus-lite's servicer is not the code this was written for"
    return None


class _Context:
    """What the servicer reads of a gRPC call context: the call's metadata (the database name), and where
    it marks a gRPC status."""

    def __init__(self, metadata: Sequence[tuple[str, str]] | None) -> None:
        self._metadata = tuple(metadata or ())
        self.code: Any = None

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def set_code(self, code: Any) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details


class _Direct:
    """One read method: the servicer's, called on this thread; anything else of the stub's is gRPC's."""

    def __init__(self, wire: Any, method: Any) -> None:
        self._wire = wire
        self._method = method

    def __call__(self, request: Any, timeout: float | None = None, metadata: Any = None, **kw: Any) -> Any:
        context = _Context(metadata)
        response = self._method(request, context)
        if context.code is not None:  # a status only gRPC carries: fail through gRPC, as before
            return self._wire(request, timeout=timeout, metadata=metadata, **kw)
        return response

    def __getattr__(self, name: str) -> Any:  # .future, .with_call: through gRPC
        return getattr(self._wire, name)


class _Stub:
    """pymilvus's stub with ``READS`` made in process."""

    def __init__(self, wire: Any, servicer: Any) -> None:
        self.wire = wire
        for name in READS:
            setattr(self, name, _Direct(getattr(wire, name), getattr(servicer, name)))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wire, name)


def apply(client: Any, uri: str) -> bool:
    """Make ``client``'s (a pymilvus MilvusClient of the Lite folder ``uri``) search reads in process;
    False, and gRPC as before, when the versions differ or Lite's server for ``uri`` is not found."""
    reason = why_not_applicable()
    if reason is not None:
        log.info("Lite reads stay on gRPC: %s", reason)
        return False
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.server_manager import server_manager_instance

    entry = server_manager_instance._servers.get(os.path.abspath(uri))
    handler = client._get_connection()
    if entry is None or handler._stub is None:
        log.info("Lite reads stay on gRPC: no Lite server for %s in this process", uri)
        return False
    if not isinstance(handler._stub, _Stub):
        handler._stub = _Stub(handler._stub, MilvusServicer(entry[1]))
    return True


def applied(client: Any) -> bool:
    return isinstance(client._get_connection()._stub, _Stub)
