"""The registry's schema, defined once: every table figvault keeps beside the vector store.

Documents, jobs, users, audit entries and access-group sets live in one database (SQLite in the data
folder by default, PostgreSQL by URL). The tables are created and changed only by the Alembic migrations
in ``figvault/db/migrations`` (a test checks that the migrated schema equals these models); a new column
or table is a change here plus one migration.

Column types keep what the first SQLite registry had, so a data folder made before these models upgrades
in place: JSON payloads are TEXT (``*_json``), times are unix seconds (REAL / double precision) or ISO 8601
text, booleans are integers.
"""

from __future__ import annotations

from sqlalchemy import Double, Index, Integer, MetaData, PrimaryKeyConstraint, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints, so migrations can refer to them on every backend.
NAMING = {"ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s"}


REWRITING = text("rewriting != 0")
"""The documents an in-place rewrite left marked (``documents.rewriting``): the partial index's condition,
which a query must state as is for SQLite to use the index."""


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _text(default: str | None = None, **kw: object) -> Mapped[str]:
    if default is None:
        return mapped_column(Text, nullable=False, **kw)
    return mapped_column(Text, nullable=False, server_default=default, **kw)


def _int(default: int = 0) -> Mapped[int]:
    return mapped_column(Integer, nullable=False, server_default=str(default))


class DocumentRow(Base):
    """One document of one tenant: which bytes, which collection, how its last ingest went."""

    __tablename__ = "documents"
    __table_args__ = (
        PrimaryKeyConstraint("tenant", "doc_id"),
        Index("documents_tenant_name", "tenant", "name"),
        # A file's other documents, in id order (DocumentRegistry.with_content; migration 0006).
        Index("documents_tenant_sha256", "tenant", "sha256", "doc_id"),
        # A folder's documents, by path prefix (DocumentRegistry.from_folder; migration 0008).
        Index("documents_tenant_source", "tenant", "source"),
        # The documents left rewriting, read every job runner round (DocumentRegistry.rewriting; migration
        # 0012): partial, nearly always empty. The query repeats the condition as written here.
        Index("documents_rewriting", "rewriting", sqlite_where=REWRITING, postgresql_where=REWRITING),
    )

    doc_id: Mapped[str] = _text()
    """``doc_`` + 24 hex digits, chosen by the server (pipeline/doc_identity.py); documents indexed before
    migration 0004 keep their file name as id."""
    tenant: Mapped[str] = _text()
    name: Mapped[str] = _text()
    """The file name people see; several documents may share it (found by it, indexed by migration 0004)."""
    sha256: Mapped[str] = _text("")
    state: Mapped[str] = _text()
    units: Mapped[int] = _int()
    pages: Mapped[int] = _int()
    groups_json: Mapped[str] = _text("[]")
    error: Mapped[str] = _text("")
    collection: Mapped[str] = _text("")
    embedding_version: Mapped[str] = _text("")
    updated_at: Mapped[float] = mapped_column(Double, nullable=False)
    tags_json: Mapped[str] = _text("[]")
    """The document's tags (figvault/tags.py), a JSON list; migration 0003."""
    source: Mapped[str] = _text("")
    """The path its file was last ingested from, as given (absolute on the CLI); empty for uploads and
    documents indexed before migration 0008."""
    failure: Mapped[str] = _text("")
    """A failed document's kind of failure (pipeline/failures.py): ``file`` (its bytes': an ingest skips the
    unchanged file), ``transient`` or empty (read again); migration 0010."""
    groups_asked_at: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    """When the change that gave the document its groups was asked for (unix time): an ingest job's
    creation, a set-groups call; 0 before migration 0011. Never shown (an admin's change of a group the
    reader is not in is not the reader's to see)."""
    tags_asked_at: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    """The same for its tags (an ingest job, a set-tags call); migration 0011."""
    rewriting: Mapped[int] = _int()
    """1 while an ingest rewrites the document's rows in place (other groups or tags): a run that finds it
    set finishes the rewrite first (a crash came between the rows and the record); migration 0011. Not the
    state, which readers see: it told them of a change to groups they are not in."""


class JobRow(Base):
    """One ingest or re-encode job; the queue is this table (pipeline/jobs.py)."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("jobs_state", "state", "created_at"),
        Index("jobs_tenant_created", "tenant", "created_at"),
        # Failed jobs awaiting a retry, each runner round (remove_unretried; migration 0012).
        Index("jobs_state_phase", "state", "phase", "created_at"),
        # One caller's pending ingest jobs, each upload's admission (service/pending_ingests.py; 0012).
        Index("jobs_tenant_starter", "tenant", "started_by_id", "state", "phase"),
    )

    id: Mapped[str] = mapped_column(Text, primary_key=True)
    type: Mapped[str] = _text()
    state: Mapped[str] = _text()
    phase: Mapped[str] = _text("")
    done: Mapped[int] = _int()
    total: Mapped[int] = _int()
    rate: Mapped[float] = mapped_column(Double, nullable=False, server_default="0")
    eta_s: Mapped[float | None] = mapped_column(Double)
    errors_json: Mapped[str] = _text("[]")
    error_count: Mapped[int] = _int()
    message: Mapped[str] = _text("")
    started_by: Mapped[str] = _text("")
    """The starter's name, for people (a name may be given again to another account)."""
    started_by_id: Mapped[str] = _text("")
    """The starter's account (``Principal.identity``): whose job it is for visibility, cancel, retry and
    per-caller bounds; migration 0007. Empty: an account nobody holds any more (no caller matches it)."""
    tenant: Mapped[str] = _text("default")
    params_json: Mapped[str] = _text("{}")
    checkpoint_json: Mapped[str] = _text("{}")
    result_json: Mapped[str] = _text("{}")
    cancel_requested: Mapped[int] = _int()
    owner: Mapped[str] = _text("")
    attempts: Mapped[int] = _int()
    created_at: Mapped[float] = mapped_column(Double, nullable=False)
    started_at: Mapped[float | None] = mapped_column(Double)
    finished_at: Mapped[float | None] = mapped_column(Double)
    updated_at: Mapped[float] = mapped_column(Double, nullable=False)
    heartbeat_at: Mapped[float | None] = mapped_column(Double)


class JobGroupRow(Base):
    """One access group an ingest job gives its documents (its ``params["groups"]``), so the jobs a caller may
    see are selected in SQL rather than by parsing every job of the tenant (pipeline/jobs.py
    ``visible_clause``); migration 0005."""

    __tablename__ = "job_groups"
    __table_args__ = (
        PrimaryKeyConstraint("job_id", "group_name"),
        Index("job_groups_group", "group_name", "job_id"),
    )

    job_id: Mapped[str] = _text()
    group_name: Mapped[str] = _text()


class UserRow(Base):
    """An API-key principal: role, groups and tenant, and the salted hash of the key (never the key)."""

    __tablename__ = "users"
    __table_args__ = (Index("users_account_id", "account_id", unique=True),)

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    account_id: Mapped[str] = _text("")
    """``usr_`` + 24 hex digits, new each time the name is given (``users add`` after a revoke): what the
    account's jobs and per-caller things are bound to, never the reusable name; migration 0007."""
    key_id: Mapped[str] = _text(unique=True)
    key_hash: Mapped[str] = _text()
    role: Mapped[str] = _text()
    groups_json: Mapped[str] = _text()
    tenant: Mapped[str] = _text()
    created_at: Mapped[str] = _text()
    revoked_at: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    """One audited action; rows are only ever appended."""

    __tablename__ = "audit"
    __table_args__ = (
        Index("audit_tenant_id", "tenant", "id"),
        # One account's entries, newest first (the user filter of GET /v1/audit; migration 0009).
        Index("audit_tenant_account", "tenant", "account", "id"),
        # One action's entries, newest first (the action filter of GET /v1/audit; migration 0012).
        Index("audit_tenant_action", "tenant", "action", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[str] = _text()
    user: Mapped[str] = _text()
    """The caller's name, for people (a name may be given again to another account)."""
    account: Mapped[str] = _text("")
    """The caller's account (``Principal.identity``): whose entry it is for the trail's user filter;
    migration 0009. Empty: an account nobody holds any more (an entry of a name before it was given again)."""
    tenant: Mapped[str] = _text()
    action: Mapped[str] = _text()
    query: Mapped[str] = _text("")
    unit_ids_json: Mapped[str] = _text("[]")
    detail_json: Mapped[str] = _text("{}")


class AclSetRow(Base):
    """A group set some units of a tenant carry, under its ``acl_key`` (retrieval/acl_sets.py)."""

    __tablename__ = "acl_sets"
    __table_args__ = (PrimaryKeyConstraint("tenant", "acl_key"),)

    tenant: Mapped[str] = _text()
    acl_key: Mapped[str] = _text()
    groups_json: Mapped[str] = _text()


class LexicalChangeRow(Base):
    """One write of the unit store: the ids a ``MilvusUnitStore`` wrote or deleted in a collection, appended
    after Milvus accepted it; every process's lexical index catches up from these (retrieval/lexical_log.py).
    ``unit_ids_json`` is a JSON list, or ``"*"`` when the collection was dropped."""

    __tablename__ = "lexical_changes"
    __table_args__ = ({"sqlite_autoincrement": True},)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    collection: Mapped[str] = _text()
    unit_ids_json: Mapped[str] = _text()
    at: Mapped[float] = mapped_column(Double, nullable=False)


class LexicalLogMetaRow(Base):
    """Facts about the change log itself: ``epoch`` (a random id: a snapshot made against another registry
    does not match it)."""

    __tablename__ = "lexical_log_meta"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    value: Mapped[str] = _text()


documents = DocumentRow.__table__
jobs = JobRow.__table__
job_groups = JobGroupRow.__table__
users = UserRow.__table__
audit = AuditRow.__table__
acl_sets = AclSetRow.__table__
lexical_changes = LexicalChangeRow.__table__
lexical_log_meta = LexicalLogMetaRow.__table__
