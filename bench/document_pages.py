"""A page of ``GET /v1/documents`` and the empty search's document count on a large registry, interleaved
in one run: the Python paging before (every visible record of the tenant read, checked and sorted) against
``service.visible_documents`` now (the registry selects, orders and counts). Prints a table (ms, mean of
``--rounds``) and the load average before and after.

    .venv/bin/python bench/document_pages.py [--documents 20000] [--rounds 20] [--registry-url URL]

The registry (SQLite in a temporary folder unless ``--registry-url`` names an empty database) holds
``--documents`` documents of tenant ``big`` in groups ``g0``..``g49`` (one each) and 50 of another tenant.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

from sqlalchemy import insert

from figvault.access import Principal, Role
from figvault.db import Database, open_database, sqlite_url
from figvault.db.models import documents
from figvault.pipeline.document_counts import searchable
from figvault.pipeline.registry import DocumentRegistry
from figvault.service.visible_documents import document_page, documents_out, searchable_count

PAGE = 100
GROUPS = 50


class NoStore:
    """``documents_out``'s store count, for documents not indexed: there are none here."""

    def units_by_document(self, principal: Principal, doc_ids: list[str]) -> dict[str, Counter[str]]:
        return {}


def fill(db: Database, count: int) -> None:
    now = time.time()
    rows = [
        {
            "doc_id": f"doc_{n:024x}",
            "tenant": "big",
            "name": f"f{n}.pdf",
            "sha256": f"{n:064x}",
            "state": "indexed" if n % 10 else "failed",
            "units": 5 if n % 10 else 0,
            "pages": 3,
            "groups_json": json.dumps([f"g{n % GROUPS}"]),
            "updated_at": now,
        }
        for n in range(count)
    ]
    rows += [dict(row, tenant="small", doc_id=f"doc_s{n:023x}") for n, row in enumerate(rows[:50])]
    with db.write() as conn:
        for start in range(0, len(rows), 5_000):
            conn.execute(insert(documents), rows[start : start + 5_000])


def old_records(db: Database, principal: Principal) -> list:
    """``visible_records`` before: the tenant's records, each checked in Python. (The registry's LIKE
    prefilter that an earlier ``visible_records`` added, ``list(meeting=...)``, is gone with its last
    caller: a restricted caller's "before" reads the whole tenant, as the listing did before that too.)"""
    records = DocumentRegistry(db).list(tenant=principal.tenant)
    return [r for r in records if principal.sees(r.tenant, r.groups)]


def old_page(db: Database, principal: Principal, after: str | None, limit: int) -> tuple:
    """``document_page`` before: every visible record sorted and cut in Python."""
    records = sorted(old_records(db, principal), key=lambda r: r.doc_id)
    total = len(records)
    if after is not None:
        records = [r for r in records if r.doc_id > after]
    more = len(records) > limit
    records = records[:limit]
    return documents_out(NoStore(), principal, records), total, records[-1].doc_id if more else None  # type: ignore[arg-type]


def new_page(db: Database, principal: Principal, after: str | None, limit: int) -> tuple:
    return document_page(db, NoStore(), principal, after=after, limit=limit)  # type: ignore[arg-type]


def old_count(db: Database, principal: Principal) -> int:
    """The empty search's hint before: every visible record read to count the searchable ones."""
    return sum(1 for r in old_records(db, principal) if searchable(r))


def row(read: str, caller: str, before: float, after: float) -> None:
    print(f"| {read} | {caller} | {before:.2f} | {after:.2f} | {before / after:.1f}x |", flush=True)


def timed(fn: Callable[[], object], rounds: int) -> float:
    fn()
    start = time.perf_counter()
    for _ in range(rounds):
        fn()
    return (time.perf_counter() - start) / rounds * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--registry-url", default=None)
    args = parser.parse_args()
    url = args.registry_url or sqlite_url(
        Path(tempfile.mkdtemp(prefix="figvault-bench-")) / "registry.sqlite3"
    )
    db = open_database(url)
    fill(db, args.documents)
    middle = f"doc_{args.documents // 2:024x}"
    callers = {
        "admin (whole tenant)": Principal(user="op", tenant="big", roles=[Role.ADMIN], unrestricted=True),
        "reader of 1 group": Principal(user="r", tenant="big", groups=["g7"]),
        "reader of 5 groups": Principal(user="r5", tenant="big", groups=[f"g{n}" for n in range(5)]),
    }
    print(f"{db.engine.dialect.name}, {args.documents} documents, page of {PAGE}; load {os.getloadavg()}")
    print("| read | caller | before ms | after ms | ratio |\n|---|---|---|---|---|")
    for label, principal in callers.items():
        for where, after in (("first page", None), ("middle page", middle)):
            old, new = (
                partial(old_page, db, principal, after, PAGE),
                partial(new_page, db, principal, after, PAGE),
            )
            assert old()[1:] == new()[1:]
            row(where, label, timed(old, args.rounds), timed(new, args.rounds))
        old, new = partial(old_count, db, principal), partial(searchable_count, db, principal)
        assert old() == new()
        row("search hint count", label, timed(old, args.rounds), timed(new, args.rounds))
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
