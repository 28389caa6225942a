"""Which failures of a document are its bytes' own, so that an ingest of the unchanged file skips it.

A corrupt, encrypted or pathological file fails the same way every time it is read, perhaps after its whole
CPU budget (``extract.doc_timeout_s``): reading it again on each ``figvault ingest`` of its folder made a
re-run cost that budget again and repeat the failure as if new. Its reason is a ``FileFailure`` (a str, so
the engines, Ray's included, pass it on as any reason) and the registry records the failure's kind; the
plan then skips the unchanged file (``--retry-failed`` reads it again). Every other failure is retried: the
machine's (``MachineBoundError``: a worker killed by the OS, the wall-time backstop of a busy machine), the
encoder's, the store's, an unreadable file's, and those recorded before registry migration 0010.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from figvault.errors import ExtractionError, MachineBoundError

if TYPE_CHECKING:  # the registry's database imports stay out of the extraction workers
    from figvault.pipeline.registry import DocumentRecord

FILE = "file"
"""``DocumentRecord.failure`` of a failure the file's bytes cause: not read again while unchanged."""
TRANSIENT = "transient"
"""``DocumentRecord.failure`` of a failure the next ingest retries."""


class FileFailure(str):
    """A document's one-line failure reason that its bytes cause (a str subclass: pickles as itself)."""

    __slots__ = ()


def failure_reason(exc: ExtractionError) -> str:
    """The reason an extraction failed, marked ``FileFailure`` unless the machine caused it."""
    return str(exc) if isinstance(exc, MachineBoundError) else FileFailure(str(exc))


def unreadable_reason(exc: OSError | ExtractionError) -> str:
    """Why a listed file could not be read for its hash or its extraction: the system's reason (not marked:
    a permission or a mount put right, the next run reads it), or the extraction's (a pipe or a device
    swapped in, over the size limit). One wording for ``ingest``, ``extract`` and the Ray driver."""
    if isinstance(exc, OSError):
        return f"cannot read file: {exc.strerror or exc}"
    return failure_reason(exc)


def failure_kind(reason: str) -> str:
    """What the registry records of a failed document whose reason is ``reason``."""
    return FILE if isinstance(reason, FileFailure) else TRANSIENT


def failed_before(known: DocumentRecord | None, sha256: str) -> bool:
    """Whether ``known`` is a document whose last ingest failed for these very bytes' sake."""
    from figvault.pipeline.registry import DocState

    return (
        known is not None
        and known.state == DocState.FAILED
        and known.failure == FILE
        and bool(sha256)
        and known.sha256 == sha256
    )
