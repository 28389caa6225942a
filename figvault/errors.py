"""Errors figvault reports to people: each carries a one-line reason."""

from __future__ import annotations

import errno


class FigvaultError(Exception):
    """Base class; ``str(err)`` is the one-line reason shown to the user."""


class ExtractionError(FigvaultError):
    """One document could not be read. The batch goes on."""


class MachineBoundError(ExtractionError):
    """A document that failed for the machine's sake, not its bytes': its worker killed by the OS (the
    out-of-memory killer of a loaded machine) or stopped by the wall-time backstop of a busy one. Unlike
    the other ExtractionErrors, the next ingest of the unchanged file reads it again
    (``pipeline/failures.py``)."""


class UnsupportedFileError(ExtractionError):
    pass


class UnsafeFileError(ExtractionError):
    """Zip bombs, decompression bombs, oversized files."""


class ModelUnavailableError(FigvaultError):
    """Model weights are missing (typically offline); the message says what and how to provide it."""


class StoreError(FigvaultError):
    pass


class StoreInUseError(StoreError):
    """The embedded store (Milvus Lite) is held by another process, a running ``figvault serve`` most often:
    Lite serves its folder from one process."""


class VersionMismatchError(StoreError):
    """The store serves vectors of another embedding_version than the configured encoders produce."""


def one_line(exc: BaseException) -> str:
    """The first non-blank line of ``str(exc)``, else the exception's type name: a one-line reason."""
    for line in str(exc).splitlines():
        if line.strip():
            return line.strip()
    return type(exc).__name__


def typed_line(exc: BaseException) -> str:
    """``"TypeName: first line"``; the type name alone when the exception has no message."""
    name, first = type(exc).__name__, one_line(exc)
    return name if first == name else f"{name}: {first}"


def shown_line(exc: BaseException, *, typed: bool = False) -> str:
    """``one_line`` (``typed``: ``typed_line``) of a document's failure, which everyone who may see its job
    reads: an OSError's file names left out, since they are server paths (an upload's spool file, a temp
    folder, a watched folder's file, the data folder); its errno and reason stay (``No space left on
    device``)."""
    if isinstance(exc, OSError) and exc.strerror:
        line = f"[Errno {exc.errno}] {exc.strerror}" if exc.errno is not None else exc.strerror
        return f"{type(exc).__name__}: {line}" if typed else line
    return typed_line(exc) if typed else one_line(exc)


class WithheldDetailError(FigvaultError):
    """A failure whose whole reason is not for everyone who may see the job: ``str()`` is the reason anyone
    who may see it reads (over HTTP too), ``detail`` the operator's (the command line, the server log,
    ``figvault jobs show``)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(reason)
        self.detail = detail


class DeploymentError(WithheldDetailError):
    """A failure whose whole reason names the deployment (a cluster's address, another program's own error
    text)."""


INTERNAL = "an internal error"
"""How ``public_line`` begins for an exception that is not figvault's."""


SERVER_SIDE: tuple[tuple[type[FigvaultError], str], ...] = (
    (ModelUnavailableError, "a model this request needs is not available on the server (see its log)"),
    (
        VersionMismatchError,
        "the encoder settings changed since the store was built; an admin must re-encode (figvault reencode)",
    ),
    (StoreError, "the vector store is unavailable or failed; try again later"),
)
"""figvault's errors whose text describes the server (a model's local path; a store's address, collections
and filter expressions): callers of the service read the fixed sentence, the log the text. The first kind
that matches wins: a version mismatch is a StoreError that no retry cures."""


def server_side_line(exc: BaseException) -> str | None:
    """The fixed sentence callers read for a ``SERVER_SIDE`` error; None for any other."""
    return next((text for kind, text in SERVER_SIDE if isinstance(exc, kind)), None)


def public_line(exc: BaseException) -> str:
    """The one-line reason of ``exc`` that callers of the service may read: figvault's own reasons, which
    are written for them, but the fixed sentence of an error that describes the server
    (``server_side_line``); of any other exception only its type, since its text may name hosts, server
    paths, collections or filter expressions (the log keeps it: ``operator_line``)."""
    fixed = server_side_line(exc)
    if fixed is not None:
        return fixed
    if isinstance(exc, FigvaultError):
        return one_line(exc)
    if disk_full(exc):  # said as itself: "an internal error (OSError)" left the reader guessing
        return DISK_FULL_LINE
    return f"{INTERNAL} ({type(exc).__name__}); the server log has the details"


DISK_FULL_LINE = "the disk of the data folder is full: free space there, then ingest it again"
"""What a document that failed on a full disk says (no path or device: the log has the OS's text)."""


def operator_line(exc: BaseException) -> str:
    """The whole one-line reason of ``exc``, for the operator only (see ``public_line``)."""
    if isinstance(exc, WithheldDetailError):
        return exc.detail
    return one_line(exc) if isinstance(exc, FigvaultError) else typed_line(exc)


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
DISK_FULL_TEXTS = ("No space left on device", "Disk quota exceeded", "database or disk is full")
"""How a full disk reads once a library has turned the OSError into its own exception: Milvus Lite's and
pymilvus's carry the OS's text, SQLite's its own sentence."""


def disk_full(exc: BaseException) -> bool:
    """``exc``, or an exception it was raised from or while handling, says the disk is full. A full disk
    fails wherever figvault writes next (the store, the registry, the log, the files), so what reaches the
    command line is often a later failure (recording the job's end) raised while handling the first."""
    return disk_full_cause(exc) is not None


def disk_full_cause(exc: BaseException) -> BaseException | None:
    """The exception in ``exc``'s chain (itself, its causes and contexts) that says the disk is full."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in DISK_FULL_ERRNOS:
            return current
        if any(text in str(current) for text in DISK_FULL_TEXTS):
            return current
        pending += [current.__cause__, current.__context__]
    return None
