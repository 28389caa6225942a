"""How many documents a person can search, with the failed ones said apart.

A document whose ingest failed has a registry record too (so ``documents list`` shows why it failed). The
counts people read (``users add``'s "can see N of the M documents", ``serve``'s start-up lines, the search's
``visible_documents``, the page) counted those records, so a folder of 2 good and 2 broken files read as
"4 documents": a user took N for documents a search can find. ``searchable`` is the one definition of what
such a count holds, and ``failed_note`` the one sentence for the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_

from figvault.db.models import documents
from figvault.pipeline.registry import DocState, DocumentRecord


def searchable(record: DocumentRecord) -> bool:
    """Indexed, or holding the units of an older version (a replacement that failed keeps them, and a search
    finds them). A failed or pending record without units has nothing a search can find."""
    return record.state == DocState.INDEXED or record.units > 0


def searchable_sql() -> ColumnElement[bool]:
    """``searchable`` as a SQL condition on the documents table (a count by the database)."""
    return or_(documents.c.state == str(DocState.INDEXED), documents.c.units > 0)


@dataclass(frozen=True)
class DocumentCounts:
    searchable: int
    """Documents a search can find (``searchable``)."""
    failed: int
    """Records whose last ingest failed (an older version they still serve is among ``searchable``)."""

    @classmethod
    def of(cls, records: Iterable[DocumentRecord]) -> DocumentCounts:
        listed = list(records)
        return cls(
            searchable=sum(1 for r in listed if searchable(r)),
            failed=sum(1 for r in listed if r.state == DocState.FAILED),
        )

    @classmethod
    def of_states(cls, counts: Mapping[DocState, tuple[int, int]]) -> DocumentCounts:
        """From ``DocumentRegistry.state_counts`` (state -> documents, those holding units): the same
        numbers as ``of`` the records, counted by the database."""
        indexed = counts.get(DocState.INDEXED, (0, 0))[0]
        holding = sum(units for state, (_, units) in counts.items() if state != DocState.INDEXED)
        return cls(searchable=indexed + holding, failed=counts.get(DocState.FAILED, (0, 0))[0])

    def failed_note(self, prefix: str = "figvault") -> str:
        """``", 1 failed: see `figvault documents list --failed`"`` (its error column says why), or ""."""
        if not self.failed:
            return ""
        return f", {self.failed} failed: see `{prefix} documents list --failed`"
