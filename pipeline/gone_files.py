"""Documents whose files are gone: ingested from a folder that is ingested again, their file no longer there.

Ingest never deletes a document because its file disappeared (a moved share, an unmounted disk, a folder
given by another path would otherwise empty the store); it says which documents that is, and removes them
only when asked (``figvault ingest --prune``), each checked again just before it goes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from figvault.pipeline.registry import DocumentRecord, DocumentRegistry

SHOWN = 5
"""Gone documents named in the ingest's note; the rest are counted (``--json`` lists all)."""


def gone_documents(
    registry: DocumentRegistry,
    tenant: str,
    paths: Sequence[str],
    allowed: Callable[[DocumentRecord], bool] = lambda _record: True,
) -> list[DocumentRecord]:
    """The documents of ``tenant`` ``allowed`` (the caller may replace them) last ingested from a file
    under one of the folders of ``paths`` (as the ingest was given them) that is no longer there."""
    found: dict[str, DocumentRecord] = {}
    for folder in (p for p in paths if Path(p).is_dir()):
        for record in registry.from_folder(tenant, folder):
            if allowed(record) and not Path(record.source).exists():
                found[record.doc_id] = record
    return sorted(found.values(), key=lambda r: r.source)


def gone_entries(records: Sequence[DocumentRecord]) -> list[dict[str, str]]:
    """The job result's ``gone`` list."""
    return [{"doc_id": r.doc_id, "name": r.name, "source": r.source} for r in records]


def gone_line(gone: Sequence[dict[str, Any]], pruned: bool) -> str:
    """The ingest's note on documents whose files are gone (or were pruned)."""
    n = len(gone)
    shown = ", ".join(f"{g['source']} ({g['doc_id']})" for g in gone[:SHOWN])
    more = f", and {n - SHOWN} more" if n > SHOWN else ""
    if pruned:
        return f"pruned {n} document{'' if n == 1 else 's'} whose files are gone: {shown}{more}"
    return (
        f"note: {n} document{'s' if n != 1 else ''} whose files are gone: {shown}{more}; they stay"
        " searchable until removed: `figvault documents delete ID`, or this ingest again with --prune,"
        " removes them"
    )
