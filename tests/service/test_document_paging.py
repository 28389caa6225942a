"""A page of documents is selected, ordered and counted by the registry's SQL (``DocumentRegistry.page``,
``registry.meets``), no longer by reading and sorting every visible record of the tenant in Python: the
answers must stay those of the Python paging, for every kind of caller, on both back ends.

Differential: random registries (two tenants, awkward group names: case, a quote, ``%``, non-ASCII, some
written as ASCII JSON; ids of the ``doc_`` form and file names of documents made before migration 0004)
and random callers, each page and the search hint's count compared with the Python rule
(``Principal.sees``, ``sorted`` by id, ``>`` for the cursor). PostgreSQL runs twice: its default database
and a database of ICU ``en-US`` collation, which orders ``B.pdf`` before ``a.pdf`` (Python: after).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from functools import partial

import pytest
from sqlalchemy import update

from figvault.access import Principal, Role
from figvault.db import Database, open_database, sqlite_url
from figvault.db.models import documents
from figvault.pipeline.document_counts import searchable
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.service.visible_documents import document_page, searchable_count
from tests.core.test_registry_indexes import plans
from tests.postgres_server import PostgresServer

TENANTS = ["acme", "globex"]
GROUPS = ["g1", "G1", "g2", "a_b", "100%", 'x"g1', "Équipe", "日本", "ops"]
NAMES = ["B.pdf", "a.pdf", "a-b.pdf", "ab.pdf", "Z", "z", "Été.pdf", "doc_", "doc_ZZ", "~", " lead"]
CURSORS = [None, "", "a", "B", "doc_", "doc_8", "ab", "É", "~~"]
LIMITS = [1, 2, 3, 7, None]


class NoStore:
    """The search engine ``documents_out`` asks for units of documents not indexed: none here (no
    collection is served, so a failed replacement shows no version: ``shown_version``)."""

    def __init__(self) -> None:
        self.store = self

    def served_collection(self) -> None:
        return None

    def units_by_document(self, principal: Principal, doc_ids: list[str]) -> dict[str, Counter[str]]:
        return {}


@pytest.fixture(params=["sqlite", "postgresql", "postgresql-icu"])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield open_database(sqlite_url(tmp_path / "registry.sqlite3"))
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.new_database()
    if request.param == "postgresql-icu":
        import psycopg

        name = url.rsplit("/", 1)[1] + "_icu"
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute(
                f"CREATE DATABASE \"{name}\" TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
            )
        url = server.url(name)
    yield open_database(url)


def fill(db: Database, rnd: random.Random) -> None:
    registry = DocumentRegistry(db)
    ids = NAMES + [f"doc_{rnd.getrandbits(96):024x}" for _ in range(30)]
    for doc_id in ids:
        for tenant in TENANTS[: rnd.randint(1, 2)]:  # the same id in both tenants, sometimes
            state = rnd.choice(list(DocState))
            record = DocumentRecord(
                doc_id=doc_id,
                tenant=tenant,
                name=rnd.choice(NAMES),
                state=state,
                units=rnd.choice([0, 0, 3]),
                groups=rnd.sample(GROUPS, rnd.randint(0, 3)),
            )
            registry.put(record)
            if rnd.random() < 0.2:  # as a record written before the registry kept non-ASCII as it is
                text = json.dumps(sorted(record.groups), ensure_ascii=True)
                c = documents.c
                with db.write() as conn:
                    conn.execute(
                        update(documents)
                        .where(c.tenant == tenant, c.doc_id == doc_id)
                        .values(groups_json=text)
                    )


def callers(rnd: random.Random) -> list[Principal]:
    many = [f"team-{n:04d}" for n in range(150)] + ["g2"]  # past MEETING_CHUNK: no LIKE prefilter
    out = [
        Principal(user="op", tenant="acme", roles=[Role.ADMIN], unrestricted=True),
        Principal(user="nobody", tenant="acme", groups=[]),
        Principal(user="many", tenant="acme", groups=many),
        Principal(user="case", tenant="acme", groups=["g1"]),
        Principal(user="other", tenant="globex", groups=["G1", "Équipe"]),
    ]
    for n in range(6):
        tenant = rnd.choice(TENANTS)
        out.append(Principal(user=f"r{n}", tenant=tenant, groups=rnd.sample(GROUPS, rnd.randint(1, 4))))
    return out


def python_page(
    records: list[DocumentRecord], principal: Principal, after: str | None, limit: int | None
) -> tuple[list[str], int, str | None]:
    """The paging before: every visible record, sorted and cut in Python."""
    mine = sorted((r for r in records if principal.sees(r.tenant, r.groups)), key=lambda r: r.doc_id)
    total = len(mine)
    if after is not None:
        mine = [r for r in mine if r.doc_id > after]
    more = limit is not None and len(mine) > limit
    mine = mine[:limit] if limit is not None else mine
    return [r.doc_id for r in mine], total, mine[-1].doc_id if more else None


@pytest.mark.parametrize("seed", range(3))
def test_pages_and_counts_are_those_of_the_python_paging(db: Database, seed: int) -> None:
    rnd = random.Random(seed)
    fill(db, rnd)
    everything = DocumentRegistry(db).list()
    for principal in callers(rnd):
        for after in CURSORS:
            for limit in LIMITS:
                docs, total, next_after = document_page(db, NoStore(), principal, after=after, limit=limit)  # type: ignore[arg-type]
                got = ([d.doc_id for d in docs], total, next_after)
                assert got == python_page(everything, principal, after, limit), (principal.user, after, limit)
        wanted = sum(1 for r in everything if principal.sees(r.tenant, r.groups) and searchable(r))
        assert searchable_count(db, principal) == wanted, principal.user


def test_walking_the_pages_lists_each_document_once_in_python_order(db: Database) -> None:
    rnd = random.Random(7)
    fill(db, rnd)
    everything = DocumentRegistry(db).list()
    principal = Principal(user="op", tenant="acme", roles=[Role.ADMIN], unrestricted=True)
    seen: list[str] = []
    after = None
    while True:
        docs, total, after = document_page(db, NoStore(), principal, after=after, limit=4)  # type: ignore[arg-type]
        seen += [d.doc_id for d in docs]
        if after is None:
            break
    assert seen == sorted(r.doc_id for r in everything if r.tenant == "acme") and total == len(seen)
    assert "B.pdf" in seen and seen.index("B.pdf") < seen.index("a.pdf")  # byte order on every back end


def test_a_page_walks_the_id_index_and_stops_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """SQLite reads a page through the (tenant, doc_id) key in order and stops after it: no sort of the
    tenant's records (a collation or an expression in the ORDER BY would bring one back)."""
    db = open_database(sqlite_url(tmp_path / "registry.sqlite3"))
    fill(db, random.Random(1))
    for meeting in (None, ["g1"]):
        read = partial(DocumentRegistry(db).page, "acme", meeting=meeting, after="a", limit=3)
        (plan,) = plans(db, read, "ORDER BY")
        assert any("sqlite_autoindex_documents_1" in line for line in plan), plan
        assert not any("TEMP B-TREE" in line for line in plan), plan
