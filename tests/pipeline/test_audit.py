"""The audit trail as a tenant's admin reads it (pipeline/audit.py), on both registry back ends."""

from __future__ import annotations

from typing import Any

from figvault.access import Principal, Role
from figvault.db import Database
from figvault.pipeline import audit


def test_entry_ids_are_places_in_the_tenants_own_trail(registry_db: Database) -> None:
    """An entry's id is its place among its tenant's entries, whatever other tenants wrote between them
    (the row id, one sequence for every tenant, told an admin how much the others did), on every page and
    filter alike."""
    acme = Principal(user="ana", tenant="acme", groups=["g"], roles=[Role.ADMIN])
    globex = Principal(user="bo", tenant="globex", groups=["g"], roles=[Role.ADMIN])
    for i in range(9):  # acme writes rows 0, 3, 6 (a delete) and 8; globex the others
        caller = acme if i % 3 == 0 or i == 8 else globex
        audit.record(registry_db, caller, "delete" if i == 6 else "search", query=f"q{i}")

    def places(**kwargs: Any) -> list[tuple[int, str]]:
        return [(e.id, e.query) for e in audit.list_entries(registry_db, "acme", **kwargs).entries]

    assert places() == [(4, "q8"), (3, "q6"), (2, "q3"), (1, "q0")]
    assert places(limit=2, offset=1) == [(3, "q6"), (2, "q3")]
    assert places(action="search") == [(4, "q8"), (2, "q3"), (1, "q0")]
    assert places(action="delete") == [(3, "q6")]
    assert [e.id for e in audit.list_entries(registry_db, "globex").entries] == [5, 4, 3, 2, 1]
    assert audit.list_entries(registry_db, "nobody").entries == []
