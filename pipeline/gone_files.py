"""Documents whose files are gone: ingested from a folder that is ingested again, their file no longer there.

Ingest never deletes a document because its file disappeared (a moved share, an unmounted disk, a folder
given by another path would otherwise empty the store); it says which documents that is, and removes them
only when asked (``figvault ingest --prune``), each checked again just before it goes.

Over HTTP (``GET /v1/jobs/{id}``: ``gone``, ``pruned``) a job's caller learns the id and name of each such
document it may see, never the server path it came from (``shown_to``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from figvault.access import Action, Principal
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


def gone_entries(records: Sequence[DocumentRecord]) -> list[dict[str, Any]]:
    """The job result's ``gone`` (or ``pruned``) list; ``groups``: who could see each then (a pruned
    document has no record left to ask)."""
    return [
        {"doc_id": r.doc_id, "name": r.name, "source": r.source, "groups": list(r.groups)} for r in records
    ]


def shown_to(
    viewer: Principal,
    tenant: str,
    entries: Sequence[dict[str, Any]],
    current: Callable[[str], DocumentRecord | None] | None,
) -> list[dict[str, str]]:
    """``{"doc_id", "name"}`` of each entry of a job's ``gone``/``pruned`` list that ``viewer`` may see: a
    document of its own tenant that its groups reach (admins: every one of the tenant, as their document
    list). ``current`` gives a document's record now (for ``gone``: one deleted or regrouped since is judged
    as it is now, a deleted one not shown); None judges by the groups recorded then (``pruned``). No server
    path, no count of the others."""
    if tenant != viewer.tenant:
        return []
    out: list[dict[str, str]] = []
    for entry in entries:
        doc_id = str(entry.get("doc_id") or "")
        record = current(doc_id) if current is not None else None
        if current is not None and record is None:
            continue
        groups = record.groups if record is not None else list(entry.get("groups") or [])
        if viewer.can(Action.REGROUP) or viewer.sees(tenant, groups):
            out.append(
                {"doc_id": doc_id, "name": record.name if record is not None else str(entry.get("name"))}
            )
    return out


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
