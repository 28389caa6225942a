"""The registry schema: defined once (figvault/db/models.py), created and changed only by migrations.

A registry made by the code before SQLAlchemy and Alembic (tables created one by one with CREATE TABLE IF
NOT EXISTS, no ``alembic_version``) must upgrade in place: every row kept and readable through today's API,
and the migrated schema equal to the models.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect as sa_inspect

from figvault.access import Role
from figvault.db import Database, open_database, sqlite_url
from figvault.db.migrate import current, head
from figvault.db.models import Base
from figvault.pipeline import audit, users
from figvault.pipeline.apikeys import generate_api_key
from figvault.pipeline.jobs import JobState, JobStore, JobType
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.acl import acl_key
from figvault.retrieval.acl_sets import AclSetTable
from figvault.service.auth import Authenticator
from figvault.settings import ServiceSettings

# The CREATE statements of the registry before this change, verbatim (pipeline/registry.py, jobs.py,
# retrieval/acl_sets.py, service/users.py, service/audit.py at commit c9c3ba5).
LEGACY_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents ( doc_id TEXT NOT NULL, tenant TEXT NOT NULL, name TEXT NOT NULL,
 sha256 TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, units INTEGER NOT NULL DEFAULT 0,
 pages INTEGER NOT NULL DEFAULT 0, groups_json TEXT NOT NULL DEFAULT '[]', error TEXT NOT NULL DEFAULT '',
 collection TEXT NOT NULL DEFAULT '', embedding_version TEXT NOT NULL DEFAULT '',
 updated_at REAL NOT NULL, PRIMARY KEY (tenant, doc_id));
CREATE TABLE IF NOT EXISTS jobs ( id TEXT PRIMARY KEY, type TEXT NOT NULL, state TEXT NOT NULL,
 phase TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0, total INTEGER NOT NULL DEFAULT 0,
 rate REAL NOT NULL DEFAULT 0, eta_s REAL, errors_json TEXT NOT NULL DEFAULT '[]',
 error_count INTEGER NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT '',
 started_by TEXT NOT NULL DEFAULT '',
 tenant TEXT NOT NULL DEFAULT 'default', params_json TEXT NOT NULL DEFAULT '{}',
 checkpoint_json TEXT NOT NULL DEFAULT '{}', result_json TEXT NOT NULL DEFAULT '{}',
 cancel_requested INTEGER NOT NULL DEFAULT 0, owner TEXT NOT NULL DEFAULT '',
 attempts INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL, started_at REAL,
 finished_at REAL, updated_at REAL NOT NULL, heartbeat_at REAL);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs (state, created_at);
CREATE TABLE IF NOT EXISTS users (
    name        TEXT PRIMARY KEY,
    key_id      TEXT NOT NULL UNIQUE,
    key_hash    TEXT NOT NULL,
    role        TEXT NOT NULL,
    groups_json TEXT NOT NULL,
    tenant      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    revoked_at  TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at            TEXT NOT NULL,
    user          TEXT NOT NULL,
    tenant        TEXT NOT NULL,
    action        TEXT NOT NULL,
    query         TEXT NOT NULL DEFAULT '',
    unit_ids_json TEXT NOT NULL DEFAULT '[]',
    detail_json   TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_tenant_id ON audit (tenant, id);
CREATE TABLE IF NOT EXISTS acl_sets ( tenant TEXT NOT NULL, acl_key TEXT NOT NULL, groups_json TEXT NOT NULL,
 PRIMARY KEY (tenant, acl_key));
"""


def schema_diff(db: Database) -> list:
    with db.read() as conn:
        return compare_metadata(MigrationContext.configure(conn), Base.metadata)


def legacy_registry(path: Path) -> str:
    """A registry file as the old code left it, one row or more in every table; returns a user's key."""
    new = generate_api_key()
    conn = sqlite3.connect(path)
    conn.executescript(LEGACY_SCHEMA)
    conn.execute(
        "INSERT INTO documents VALUES ('q3.pdf', 'acme', 'q3.pdf', 'ab12', 'indexed', 7, 3, '[\"eng\"]', '',"
        " 'figvault_units_v1', 'v1', 1700000000.5)"
    )
    conn.execute(
        "INSERT INTO jobs (id, type, state, started_by, tenant, params_json, created_at, updated_at, done,"
        " total) VALUES ('0123456789ab', 'ingest', 'succeeded', 'cli', 'acme', '{\"paths\": [\"/x\"]}',"
        " 1700000000.25, 1700000001.0, 1, 1)"
    )
    conn.execute(
        "INSERT INTO users VALUES ('ana', ?, ?, 'reader', '[\"eng\"]', 'acme', '2026-11-01T00:00:00+00:00',"
        " NULL)",
        (new.key_id, new.key_hash),
    )
    for i in range(3):
        conn.execute(
            "INSERT INTO audit (at, user, tenant, action, query, unit_ids_json) VALUES (?, 'ana', 'acme',"
            " 'search', ?, '[\"u1\"]')",
            (f"2026-11-01T00:00:0{i}.000+00:00", f"question {i}"),
        )
    conn.execute("DELETE FROM audit WHERE id = 3")  # AUTOINCREMENT: id 3 must never come back
    conn.execute(
        "INSERT INTO acl_sets VALUES ('acme', ?, '[\"eng\"]')",
        (acl_key(["eng"]),),
    )
    conn.commit()
    conn.close()
    return new.key


def test_a_new_registry_is_the_models(registry_db: Database) -> None:
    assert current(registry_db) == head() != ""
    assert schema_diff(registry_db) == []


def test_the_documents_of_a_files_bytes_are_found_by_index(registry_db: Database) -> None:
    """Ingest asks for the documents of each new file's bytes (a renamed or copied file); a lookup that reads
    all of the tenant's document rows makes a batch into a large store quadratic."""
    select = "SELECT * FROM documents WHERE tenant = 'acme' AND sha256 = 'ab12' ORDER BY doc_id"
    with registry_db.read() as conn:
        if registry_db.is_postgresql:  # an empty table is scanned whatever the indexes: ask for the index
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = [str(row[0]) for row in conn.exec_driver_sql(f"EXPLAIN {select}").all()]
        else:
            plan = [str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {select}").all()]
    assert any("documents_tenant_sha256" in line for line in plan), plan


def test_migrations_go_down_and_up_again(registry_db: Database) -> None:
    """Each migration's downgrade works (what an operator rolling back a release runs)."""
    from figvault.db.migrate import downgrade, upgrade

    downgrade(registry_db, "base")
    with registry_db.read() as conn:
        assert "documents" not in sa_inspect(conn).get_table_names()
    upgrade(registry_db)
    assert current(registry_db) == head() and schema_diff(registry_db) == []


def test_a_registry_made_before_migrations_upgrades_in_place(tmp_path: Path) -> None:
    path = tmp_path / "registry.sqlite3"
    key = legacy_registry(path)
    db = open_database(sqlite_url(path))

    assert current(db) == head()
    assert schema_diff(db) == []  # the same schema as a new registry: later migrations see one form
    doc = DocumentRegistry(db).get("acme", "q3.pdf")
    assert doc is not None and (doc.state, doc.units, doc.groups, doc.updated_at) == (
        DocState.INDEXED,
        7,
        ["eng"],
        1700000000.5,
    )
    job = JobStore(db).require("0123456789ab")
    assert (job.state, job.params, job.created_at) == (JobState.SUCCEEDED, {"paths": ["/x"]}, 1700000000.25)
    assert Authenticator(ServiceSettings(), lambda: db).authenticate(key).user == "ana"
    assert [u.name for u in users.list_users(db)] == ["ana"]
    page = audit.list_entries(db, "acme")
    assert [e.query for e in page.entries] == ["question 1", "question 0"]
    assert AclSetTable(db).sets_of("acme") == {acl_key(["eng"]): ["eng"]}
    # Writes go on where the old rows stopped.
    principal = users.get_user(db, "ana").principal()  # type: ignore[union-attr]
    assert audit.record(db, principal, "search", query="after") == 4
    assert JobStore(db).create(JobType.INGEST, {}, started_by="cli", tenant="acme").state == JobState.QUEUED
    with db.read() as conn:  # the copy kept the rows bit for bit
        assert json.loads(conn.exec_driver_sql("SELECT groups_json FROM users").scalar_one()) == ["eng"]


def test_opening_a_registry_from_a_raw_sqlite3_connection(tmp_path: Path) -> None:
    """Callers written against the sqlite3 registry (tests, scripts) still work: the file is found."""
    raw = sqlite3.connect(tmp_path / "registry.sqlite3")
    record, _ = users.add_user(raw, "bo", Role.EDITOR, ["g"], "t")
    assert raw.execute("SELECT name FROM users").fetchall() == [("bo",)]
    assert DocumentRegistry(raw).list() == [] and record.tenant == "t"


def test_concurrent_first_opens_migrate_once(tmp_path: Path) -> None:
    """Several processes may open one new registry at once (replicas, the CLI beside the service)."""
    import subprocess
    import sys

    url = sqlite_url(tmp_path / "registry.sqlite3")
    code = "import sys; from figvault.db import open_database; open_database(sys.argv[1])"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate(timeout=120)[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    db = open_database(url)
    assert current(db) == head() and schema_diff(db) == []
    threads = [threading.Thread(target=AclSetTable(db).register, args=("t", ["a"])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AclSetTable(db).sets_of("t") == {acl_key(["a"]): ["a"]}


def test_existing_jobs_keep_their_starters_account(tmp_path: Path) -> None:
    """Migration 0007 binds jobs to accounts, not names: an existing job belongs to the account its
    recorded API key names, to its token subject or the process as before, and to nobody when the name
    was given to another account since it was queued (the heir must not take it for its own)."""
    from figvault.db.migrate import downgrade, upgrade

    db = open_database(sqlite_url(tmp_path / "registry.sqlite3"))
    downgrade(db, "0006")
    ana, bo = generate_api_key(), generate_api_key()
    day = 86400.0
    dec_1 = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    with db.write() as conn:
        for name, key, created in (("ana", ana, "2026-11-01"), ("bo", bo, "2026-12-01")):
            conn.exec_driver_sql(
                "INSERT INTO users VALUES (?, ?, ?, 'editor', '[\"eng\"]', 'acme', ?, NULL)",
                (name, key.key_id, key.key_hash, f"{created}T00:00:00+00:00"),
            )

        def job(job_id: str, started_by: str, principal: dict | None, created: float = dec_1) -> None:
            conn.exec_driver_sql(
                "INSERT INTO jobs (id, type, state, started_by, tenant, params_json, created_at, updated_at)"
                " VALUES (?, 'ingest', 'queued', ?, 'acme', ?, ?, ?)",
                (
                    job_id,
                    started_by,
                    json.dumps({"principal": principal} if principal else {}),
                    created,
                    created,
                ),
            )

        job("by-ana-key", "ana", {"user": "ana", "credential": {"kind": "api_key", "key_id": ana.key_id}})
        job("by-gone-key", "ana", {"user": "ana", "credential": {"kind": "api_key", "key_id": "0" * 16}})
        job("by-token", "jwt:jo", {"user": "jwt:jo", "credential": {"kind": "jwt", "expires": 1}})
        job("by-cli", "cli", None)
        job("by-ana-old", "ana", None)
        job("by-bo-before", "bo", None, created=dec_1 - day)
    upgrade(db)
    assert schema_diff(db) == []
    accounts = {u.name: u.account_id for u in users.list_users(db)}
    assert accounts["ana"].startswith("usr_") and accounts["ana"] != accounts["bo"]
    store = JobStore(db)
    owners = {j.id: j.started_by_id for j in store.list()}
    assert owners == {
        "by-ana-key": accounts["ana"],
        "by-gone-key": "",  # the key's account is gone: the job is nobody's
        "by-token": "jwt:jo",
        "by-cli": "cli",
        "by-ana-old": accounts["ana"],
        "by-bo-before": "",  # queued a day before the name bo was given to this account
    }
    ana_alone = users.get_user(db, "ana").principal().model_copy(update={"groups": ["other"]})  # type: ignore[union-attr]
    assert {j.id for j in store.list(visible_to=ana_alone)} == {"by-ana-key", "by-ana-old"}


def test_existing_audit_entries_get_their_callers_account(tmp_path: Path) -> None:
    """Migration 0009 records the account beside the name in the audit trail: an API-key user's entries
    from after its row was made are its account's, its name's entries from before are no account's (the
    name was given to this account since), and a token's or the command line's entries are their name."""
    from figvault.db.migrate import downgrade, upgrade

    db = open_database(sqlite_url(tmp_path / "registry.sqlite3"))
    downgrade(db, "0008")
    ana = generate_api_key()
    with db.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (name, key_id, key_hash, role, groups_json, tenant, created_at, account_id)"
            " VALUES ('ana', ?, ?, 'reader', '[\"eng\"]', 'acme', '2026-12-01T00:00:00+00:00', 'usr_ana')",
            (ana.key_id, ana.key_hash),
        )
        for user, tenant, at in (
            ("ana", "acme", "2026-11-30T23:59:59.999+00:00"),
            ("ana", "acme", "2026-12-01T00:00:00.000+00:00"),
            ("ana", "other", "2026-12-02T00:00:00.000+00:00"),
            ("jwt:jo", "acme", "2026-12-02T00:00:00.000+00:00"),
            ("cli", "acme", "2026-12-02T00:00:00.000+00:00"),
        ):
            conn.exec_driver_sql(
                "INSERT INTO audit (at, user, tenant, action) VALUES (?, ?, ?, 'search')", (at, user, tenant)
            )
    upgrade(db)
    assert schema_diff(db) == []
    with db.read() as conn:
        rows = conn.exec_driver_sql("SELECT user, tenant, account FROM audit ORDER BY id").all()
    assert [tuple(r) for r in rows] == [
        ("ana", "acme", ""),  # before this account was given the name
        ("ana", "acme", "usr_ana"),
        ("ana", "other", "ana"),  # not this tenant's user: the name is all that is known
        ("jwt:jo", "acme", "jwt:jo"),
        ("cli", "acme", "cli"),
    ]
    assert [e.account for e in audit.list_entries(db, "acme", accounts=["usr_ana"]).entries] == ["usr_ana"]
