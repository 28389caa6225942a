"""The document registry: which documents are indexed, from which bytes, into which collection, how it went.

A table of the registry database (``figvault.db``: SQLite in the data folder, or PostgreSQL by
``registry.url``); ``connect(settings)`` opens that database for the other registry tables too (jobs,
users, audit, acl sets).
"""

from __future__ import annotations

import json
import time
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from enum import IntEnum, StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    JSON,
    ColumnElement,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    or_,
    select,
    true,
    union,
    update,
)
from sqlalchemy.sql.elements import KeyedColumnElement

from figvault.db import Database, as_database, open_registry
from figvault.db.models import REWRITING, documents
from figvault.settings import Settings

if TYPE_CHECKING:
    from figvault.access import Principal

DELETED_MEANWHILE = (
    "not ingested: its document was deleted meanwhile, or given groups that are not yours (a deletion wins)"
)
"""A file's outcome when its document was deleted after the ingest chose it (while its job waited, or while
the batch that writes it ran), or, for an upload, given groups its uploader may not replace it in: nothing
of it stays written. One sentence for both: which it was is not the uploader's to know."""


def connect(settings: Settings) -> Database:
    """The registry database of ``settings`` (migrated to the newest schema on first use)."""
    return open_registry(settings)


MEETING_CHUNK = 100
"""The most groups ``meets`` prefilters by with ``may_meet`` (two LIKE conditions each; one condition of
1,000 groups was past SQLite's expression depth)."""


def may_meet(groups: Sequence[str]) -> ColumnElement[bool]:
    """A SQL condition true for every document whose groups include one of ``groups`` (and, rarely, for some
    other: a name inside another's JSON text, or another case on SQLite). Read in SQL, a listing of a
    caller's documents no longer parses every record of the tenant, whose time told how many documents the
    caller may not see (5,000 of them: 7 ms to 132 ms; an audit, 2026-12-07). A group is matched as its JSON
    string (either encoding of non-ASCII text) inside ``groups_json``; no group: false."""
    forms = {json.dumps(g, ensure_ascii=escaped) for g in groups for escaped in (False, True)}
    return or_(false(), *(documents.c.groups_json.contains(form, autoescape=True) for form in sorted(forms)))


def _json_strings(db: Database, value: ColumnElement[Any], name: str) -> Any:
    """The elements of the JSON list ``value`` as a one-column table (``name.value``), each as its text."""
    pg = db.is_postgresql
    elements = func.json_array_elements_text(cast(value, JSON)) if pg else func.json_each(value)
    return elements.table_valued("value", name=name)


def meets(db: Database, groups: Sequence[str]) -> ColumnElement[bool]:
    """A SQL condition true exactly for the documents whose groups include one of ``groups`` (no group:
    false): ``Principal.sees``'s set test, read from the JSON of ``groups_json`` (so a JSON string inside
    another's, SQLite's LIKE's case and either encoding of non-ASCII text decide nothing) and compared
    byte for byte. The caller's groups are one JSON parameter, however many (a JWT's claim has no bound).
    ``may_meet`` comes first: a cheap test that leaves few records to parse (at most ``MEETING_CHUNK``
    groups: a longer condition was past SQLite's expression depth)."""
    wanted = sorted(set(groups))
    if not wanted:
        return false()
    held = _json_strings(db, func.nullif(documents.c.groups_json, ""), "held")
    mine = _json_strings(db, literal(json.dumps(wanted, ensure_ascii=False)), "mine")
    exact = exists(select(literal(1)).select_from(held).where(held.c.value.in_(select(mine.c.value))))
    return and_(may_meet(wanted), exact) if len(wanted) <= MEETING_CHUNK else exact


def id_order(db: Database) -> KeyedColumnElement[str]:
    """``doc_id`` as Python orders and compares ids (code point order): byte order of UTF-8 text. SQLite's
    default (BINARY) is that; PostgreSQL's database collation may not be (``en_US``: ``B.pdf`` before
    ``a.pdf``, ``a-b`` by ``ab``), and documents made before migration 0004 keep file names as ids."""
    return documents.c.doc_id.collate("C") if db.is_postgresql else documents.c.doc_id


def name_forms(key: str) -> list[str]:
    """``key`` and its NFC form: stored names are NFC (``text_checks.display_name``), and a name typed or
    sent decomposed (NFD, as macOS file names are) found no document (an audit, 2026-12-07)."""
    return list(dict.fromkeys([key, unicodedata.normalize("NFC", key)]))


ID_CHUNK = 500
"""The most ids ``DocumentRegistry.by_ids`` reads by (bound parameters are limited on both back ends)."""


class DocState(StrEnum):
    PENDING = "pending"
    INDEXED = "indexed"
    FAILED = "failed"


class DocumentRecord(BaseModel):
    doc_id: str
    tenant: str
    name: str
    sha256: str = ""
    state: DocState
    units: int = 0
    pages: int = 0
    groups: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    """The document's tags (``figvault/tags.py``), also written into each of its units."""
    error: str = ""
    collection: str = ""
    embedding_version: str = ""
    updated_at: float = 0.0
    """Unix time of the last change."""
    source: str = ""
    """The path its file was last ingested from, as given; empty for uploads (and documents indexed before
    registry migration 0008)."""
    failure: str = ""
    """A failed document's kind of failure (``pipeline/failures.py``): ``file`` when its bytes caused it (an
    ingest skips the unchanged file), else ``transient`` (read again); empty when not failed."""
    groups_asked_at: float = 0.0
    """When the change that gave the document its groups was asked for (registry migration 0011): an ingest
    job asked for before it keeps them (``set_later``). Internal: never shown."""
    tags_asked_at: float = 0.0
    """The same for its tags."""
    rewriting: int = 0
    """Which in-place change was rewriting its rows (``Rewrite``, migration 0011; 0: none): a process that
    stopped in the middle left it set, and ``regroup.finish_rewrite`` finishes it (the next change or ingest
    of the document, the job runner's rounds). Internal."""


class Rewrite(IntEnum):
    """What an in-place change marked ``rewriting`` sets on the rows, so that a stopped one is finished as
    it was asked (a retag finished as a regroup gave an old version's units the new groups, a review,
    2026-12-06)."""

    ALL = 1
    """Groups and tags: an ingest's in-place update that changes tags (and every mark made before kinds)."""
    GROUPS = 2
    """Groups and their ACL key: ``set-groups``, an admin's ``PATCH``, an ingest that changes groups only."""
    TAGS = 3
    """Tags, on every unit: an admin's or the operator's retag."""
    TAGS_OWN_GROUPS = 4
    """Tags, on the units of the record's groups only: an editor's retag (it changes no unit it may not
    see; an older version's units left by a failed replacement keep theirs)."""


class DocumentPage(BaseModel):
    """A page of documents (``DocumentRegistry.page``)."""

    records: list[DocumentRecord]
    total: int
    """How many documents there are on every page (not only after the cursor)."""
    next_after: str | None
    """The ``after`` of the next page; None when this one is the last."""


SEEN = "seen"
"""Job parameter: document id -> the document's groups and tags when the job was queued (an upload's, a
server-folder job's documents; never shown: job parameters are not in what the API returns)."""


LABELS = ("groups", "tags")
"""What a request sets of a document, each with the time it was asked for (``<label>_asked_at``)."""


def asked_field(label: str) -> str:
    return f"{label}_asked_at"


def asked_since(record: DocumentRecord, label: str, asked_at: float) -> float:
    """When what a request asked for at ``asked_at`` gives ``record`` of ``label`` counts as asked for:
    never back, so a later change stays the later one (a job asked for later that took the lock first)."""
    return max(float(getattr(record, asked_field(label))), asked_at)


def set_later(record: DocumentRecord | None, asked_at: float) -> frozenset[str]:
    """The labels of the document (``LABELS``) that a change asked for after ``asked_at`` (a job's creation)
    set. The later request wins: a job resumed after a crash or queued behind a ``set-groups`` must not give
    back the groups it was asked for before; a later change of tags alone leaves its groups to it."""
    if record is None:
        return frozenset()
    return frozenset(label for label in LABELS if getattr(record, asked_field(label)) > asked_at)


def seen_later(
    record: DocumentRecord | None, caller: Principal, seen: Mapping[str, Any]
) -> frozenset[str] | None:
    """The labels of the document that ``caller`` is shown otherwise now than it is shown them as they were
    when its job was queued (``seen``: ``SEEN``): a later request changed them, and wins. A change to groups
    the caller is not in does not count, as the caller may not learn of it (the job does what it would have
    done, and keeps those groups: ``access.groups_after_replace``). Both sides are seen by the caller as it
    is now (an upload retried by a caller whose groups changed). None for a document not in ``seen``
    (made after the job was queued): it is judged by time (``set_later``)."""
    if record is None:
        return frozenset()
    then = seen.get(record.doc_id)
    if then is None:
        return None
    was = caller.view_of(then.get("groups", []), then.get("tags", []))
    now = caller.view_of(record.groups, record.tags)
    return frozenset(label for label in LABELS if was[label] != now[label])


class DocumentRegistry:
    def __init__(self, conn: Database | Any) -> None:
        self.db = as_database(conn)

    @property
    def conn(self) -> Database:
        """The database (the name from when this was a sqlite3 connection)."""
        return self.db

    @classmethod
    def open(cls, settings: Settings) -> DocumentRegistry:
        return cls(connect(settings))

    @staticmethod
    def _record(row: Any) -> DocumentRecord:
        data = dict(row._mapping)
        data["groups"] = json.loads(data.pop("groups_json") or "[]")
        data["tags"] = json.loads(data.pop("tags_json") or "[]")
        return DocumentRecord.model_validate(data)

    def get(self, tenant: str, doc_id: str) -> DocumentRecord | None:
        query = select(documents).where(documents.c.tenant == tenant, documents.c.doc_id == doc_id)
        with self.db.read() as conn:
            row = conn.execute(query).first()
        return self._record(row) if row else None

    def matching(
        self, tenant: str, key: str, *, meeting: Sequence[str] | None = None
    ) -> list[DocumentRecord]:
        """The documents of ``tenant`` whose id or name is ``key`` (ids first, then by id); who may reach
        which is the caller's filter (``pipeline/doc_identity.py``). A name matches in either Unicode form
        (``name_forms``); an id only as given. ``meeting``: as in ``page``."""
        records = self._by_id_or_name(tenant, [key], name_forms(key), meeting)
        return sorted(records, key=lambda r: r.doc_id != key)

    def matching_any(
        self, tenant: str, keys: Sequence[str], *, meeting: Sequence[str] | None = None
    ) -> list[DocumentRecord]:
        """The documents of ``tenant`` whose id or name is one of ``keys`` (by id); ``meeting``: as in
        ``page``."""
        if not keys:
            return []
        return self._by_id_or_name(tenant, keys, [form for key in keys for form in name_forms(key)], meeting)

    def _by_id_or_name(
        self, tenant: str, ids: Sequence[str], names: Sequence[str], meeting: Sequence[str] | None
    ) -> list[DocumentRecord]:
        """The documents of ``tenant`` with one of ``ids`` or one of ``names``, each once, by id. A UNION of
        two lookups: ``tenant = ? AND (doc_id IN ... OR name IN ...)`` made SQLite read every document of
        the tenant (3.2 ms a lookup at 20,000 documents; one per file of an ingest, per document route).
        ``meeting`` is read in SQL: a name that thousands of documents the caller may not see carry took
        as many records' reads and checks, a time that told how many there were (124 ms at 3,000 against
        6 ms; a trust audit, 2026-12-07)."""
        c = documents.c
        where = [c.tenant == tenant]
        if meeting is not None:  # exact, however many groups (``may_meet`` alone: at most MEETING_CHUNK)
            where.append(meets(self.db, meeting))
        query = union(
            select(documents).where(*where, c.doc_id.in_(list(ids))),
            select(documents).where(*where, c.name.in_(list(names))),
        )
        found = query.subquery()
        with self.db.read() as conn:
            rows = conn.execute(select(found).order_by(found.c.doc_id)).all()
        return [self._record(r) for r in rows]

    def by_ids(self, tenant: str, doc_ids: Iterable[str]) -> dict[str, DocumentRecord]:
        """The documents of ``tenant`` with these ids, by id (those that exist), read by the primary key in
        chunks of ``ID_CHUNK`` (a page of jobs names thousands)."""
        ids = sorted({i for i in doc_ids if i})
        found: dict[str, DocumentRecord] = {}
        with self.db.read() as conn:
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start : start + ID_CHUNK]
                query = select(documents).where(documents.c.tenant == tenant, documents.c.doc_id.in_(chunk))
                found.update((r.doc_id, self._record(r)) for r in conn.execute(query))
        return found

    def with_content(self, tenant: str, sha256: str) -> list[DocumentRecord]:
        """The documents of ``tenant`` indexed from these bytes (by id): a renamed or copied file."""
        query = select(documents).where(documents.c.tenant == tenant, documents.c.sha256 == sha256)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(documents.c.doc_id)).all()
        return [self._record(r) for r in rows]

    def from_source(self, tenant: str, source: str) -> list[DocumentRecord]:
        """The documents of ``tenant`` last ingested from the file at exactly ``source`` (by id)."""
        query = select(documents).where(documents.c.tenant == tenant, documents.c.source == source)
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(documents.c.doc_id)).all()
        return [r for r in map(self._record, rows) if r.source == source]

    def from_folder(self, tenant: str, folder: str) -> list[DocumentRecord]:
        """The documents of ``tenant`` last ingested from a file under ``folder`` (a path as ingest was
        given it; by id)."""
        prefix = folder.rstrip("/\\") + "/"
        c = documents.c
        query = select(documents).where(c.tenant == tenant, c.source.startswith(prefix, autoescape=True))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(c.doc_id)).all()
        # SQLite's LIKE ignores case: the exact prefix is checked here.
        return [r for r in map(self._record, rows) if r.source.startswith(prefix)]

    def set_source(self, tenant: str, doc_id: str, source: str) -> None:
        """Record where the document's file now is (an unchanged file found at another path)."""
        stmt = update(documents).where(documents.c.tenant == tenant, documents.c.doc_id == doc_id)
        with self.db.write() as conn:
            conn.execute(stmt.values(source=source))

    def list(self, tenant: str | None = None, state: DocState | None = None) -> list[DocumentRecord]:
        """The documents (of ``tenant``, in ``state``), by tenant and id. A caller's documents are read
        through ``page``, ``count`` and the name lookups, which hold them to ``meets`` in SQL."""
        query = select(documents)
        if tenant is not None:
            query = query.where(documents.c.tenant == tenant)
        if state is not None:
            query = query.where(documents.c.state == str(state))
        with self.db.read() as conn:
            rows = conn.execute(query.order_by(documents.c.tenant, documents.c.doc_id)).all()
        return [self._record(r) for r in rows]

    def _among(self, tenant: str, meeting: Sequence[str] | None) -> ColumnElement[bool]:
        """``tenant``'s documents, and of ``meeting`` (not None) those whose groups include one of them."""
        groups = true() if meeting is None else meets(self.db, meeting)
        return and_(documents.c.tenant == tenant, groups)

    def page(
        self,
        tenant: str,
        *,
        meeting: Sequence[str] | None = None,
        after: str | None = None,
        limit: int | None = None,
    ) -> DocumentPage:
        """At most ``limit`` (None: all) documents of ``tenant`` whose id sorts after ``after`` (any string,
        only compared), in id order (``id_order``), with how many there are in all; ``meeting``: only those
        whose groups include one of these, exactly (``meets``). Only the page's records are read and parsed,
        and the database counts them all in the same statement (before, every visible record of the tenant
        was read and sorted in Python: 0.5-1 s a page for the local operator at 20,000 documents). SQLite
        walks the (tenant, id) key in order and stops after the page; PostgreSQL, whose key is in the
        database's collation, sorts the matching rows in byte order and sends the page."""
        order = id_order(self.db)
        among = self._among(tenant, meeting)
        total = select(func.count()).select_from(documents).where(among).correlate(None).scalar_subquery()
        query = select(documents, total.label("page_total")).where(among)
        query = query.where(true() if after is None else order > after).order_by(order)
        if limit is not None:
            query = query.limit(limit + 1)  # one more tells whether another page follows
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        # An empty page carries no count: then a statement of its own (nothing listed to disagree with).
        counted = int(rows[0].page_total) if rows else self.count(tenant, meeting=meeting)
        records = [self._record(r) for r in rows]  # page_total is no field of a record: left out
        more = limit is not None and len(records) > limit
        records = records[:limit]
        return DocumentPage(records=records, total=counted, next_after=records[-1].doc_id if more else None)

    def count(
        self, tenant: str, *, meeting: Sequence[str] | None = None, where: ColumnElement[bool] | None = None
    ) -> int:
        """How many documents of ``tenant`` (``meeting`` as in ``page``) ``where`` holds for (None: all),
        counted by the database."""
        query = select(func.count()).select_from(documents).where(self._among(tenant, meeting))
        if where is not None:
            query = query.where(where)
        with self.db.read() as conn:
            return int(conn.execute(query).scalar_one())

    def rewriting(self) -> list[DocumentRecord]:
        """Every tenant's documents marked ``rewriting`` (an in-place update a stopped process left)."""
        with self.db.read() as conn:
            # REWRITING as the partial index states it: "rewriting != ?" (a bound 0) does not use the index.
            rows = conn.execute(select(documents).where(REWRITING)).all()
        return [self._record(r) for r in rows]

    def state_counts(self) -> dict[DocState, tuple[int, int]]:
        """State -> (documents, those holding units), over every tenant: what ``status`` shows, counted by
        the database (reading every record took 0.75 s at 20,000 documents, twice: a scale audit)."""
        holding = func.sum(case((documents.c.units > 0, 1), else_=0))
        query = select(documents.c.state, func.count(), holding).group_by(documents.c.state)
        with self.db.read() as conn:
            rows = conn.execute(query).all()
        return {DocState(state): (int(count), int(units or 0)) for state, count, units in rows}

    def tenants(self) -> list[str]:
        """The tenants that hold a document, sorted (one query: the command line's check of ``--tenant``)."""
        with self.db.read() as conn:
            rows = conn.execute(select(documents.c.tenant).distinct().order_by(documents.c.tenant)).all()
        return [row[0] for row in rows]

    def content_in_use(self, sha256: str) -> bool:
        """Whether a document of any tenant holds these bytes (its kept original is still needed)."""
        query = select(documents.c.doc_id).where(documents.c.sha256 == sha256).limit(1)
        with self.db.read() as conn:
            return conn.execute(query).first() is not None

    def put(self, record: DocumentRecord) -> DocumentRecord:
        record = record.model_copy(update={"updated_at": time.time()})
        with self.db.write() as conn:
            conn.execute(self.db.upsert(documents, _values(record), ["tenant", "doc_id"]))
        return record

    def update(self, record: DocumentRecord, *, touch: bool = True) -> bool:
        """Write ``record`` over its row only if the row is still there, in one statement; False when it is
        gone (deleted meanwhile: an ingest must not bring back a document deleted while it ran). ``touch``:
        ``updated_at`` becomes now (not for a change of groups alone, ``regroup``: readers see the time, and
        it moved when an admin gave or took a group they are not in, which they may not know of)."""
        if touch:
            record = record.model_copy(update={"updated_at": time.time()})
        c = documents.c
        stmt = update(documents).where(c.tenant == record.tenant, c.doc_id == record.doc_id)
        with self.db.write() as conn:
            return conn.execute(stmt.values(_values(record))).rowcount > 0

    def note_asked(self, tenant: str, asked: Mapping[str, Mapping[str, float]]) -> None:
        """Record that a request found documents' labels as it asked (a run that skipped them; ``asked``:
        document id -> ``asked_field`` -> when), in one transaction: an older job resumed later must not
        change them (``set_later``). A time never goes back."""
        c = documents.c
        with self.db.write() as conn:
            for doc_id, times in asked.items():
                for field_name, asked_at in times.items():
                    column = c[field_name]
                    stmt = update(documents).where(c.tenant == tenant, c.doc_id == doc_id, column < asked_at)
                    conn.execute(stmt.values({column: asked_at}))

    def move_to_collection(self, collection: str, version: str) -> int:
        """Every document whose record names another collection now names ``collection`` and its
        ``version``, in one statement (a re-encode's switch: its units are all there); how many. Records of
        documents that never had a collection stay as they are."""
        c = documents.c
        stmt = update(documents).where(c.collection != collection, c.collection != "")
        with self.db.write() as conn:
            return conn.execute(stmt.values(collection=collection, embedding_version=version)).rowcount

    def delete_placeholder(self, tenant: str, doc_id: str) -> bool:
        """Delete the document only if it is still a placeholder (``doc_identity.is_placeholder``: pending,
        no content hash, no units), in one statement: a job that wrote it meanwhile keeps it."""
        c = documents.c
        stmt = delete(documents).where(
            c.tenant == tenant,
            c.doc_id == doc_id,
            c.state == str(DocState.PENDING),
            or_(c.sha256 == "", c.sha256.is_(None)),
            or_(c.units == 0, c.units.is_(None)),
        )
        with self.db.write() as conn:
            return conn.execute(stmt).rowcount > 0

    def delete(self, tenant: str, doc_id: str) -> bool:
        stmt = delete(documents).where(documents.c.tenant == tenant, documents.c.doc_id == doc_id)
        with self.db.write() as conn:
            return conn.execute(stmt).rowcount > 0


def _values(record: DocumentRecord) -> dict[str, Any]:
    """The documents table's columns of ``record``."""
    return record.model_dump(exclude={"groups", "tags"}) | {
        "state": str(record.state),
        "rewriting": int(record.rewriting),  # an integer column: PostgreSQL takes no boolean into it
        "groups_json": json.dumps(sorted(set(record.groups)), ensure_ascii=False),
        "tags_json": json.dumps(sorted(set(record.tags)), ensure_ascii=False),
    }
