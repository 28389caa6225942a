"""The registry database: one SQLAlchemy engine per URL and process, migrated to the newest schema on open.

``sqlite:///<data_dir>/registry.sqlite3`` (the embedded default: WAL, so readers never block the writer, and
a busy timeout, because the CLI, the service and jobs share the file) or ``postgresql://...`` (psycopg 3)
for several replicas. Code reads in ``db.read()`` and writes in ``db.write()``; a write transaction on
SQLite starts with ``BEGIN IMMEDIATE`` (it takes the write lock first, so read-then-write sequences such
as claiming a job are atomic and never fail half way with "database is locked").
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, InterfaceError, OperationalError

from figvault.errors import FigvaultError
from figvault.private_dirs import create_private_file
from figvault.settings import Settings

BUSY_TIMEOUT_S = 10.0
_WRITE = "figvault_write"
_MAX_OPEN = 32
"""Engines kept open per process (each test has its own data folder; a service has one)."""


class RegistryUnavailableError(FigvaultError):
    """The registry database cannot be opened (bad URL, server down, missing driver)."""


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver figvault ships with)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).expanduser().resolve()}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # The driver's own transaction handling is off: the "begin" hook below says how each one starts.
        dbapi_conn.isolation_level = None
        dbapi_conn.execute("PRAGMA journal_mode=WAL")
        dbapi_conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        dbapi_conn.execute("PRAGMA foreign_keys=ON")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Reads send no BEGIN: each statement is its own read transaction, which saves a round trip per
        # read (the API-key lookup runs on the event loop for every request); writes take the lock first.
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            create_private_file(Path(parsed.database))
        # One connection per busy thread (the service's thread pool has 40): a larger pool than the default.
        engine = create_engine(
            url,
            connect_args={"timeout": BUSY_TIMEOUT_S, "check_same_thread": False},
            pool_size=8,
            max_overflow=64,
        )
        _sqlite_setup(engine)
        return engine
    return create_engine(url, pool_size=5, max_overflow=20, pool_pre_ping=True)


class Database:
    """A registry database: reads, write transactions, and what kind of server it is."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._writer = engine.execution_options(**{_WRITE: True})

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def insert(self, table: Table) -> Any:
        """The dialect's INSERT, which has ``on_conflict_do_update`` / ``on_conflict_do_nothing``."""
        return (postgresql.insert if self.is_postgresql else sqlite.insert)(table)

    def upsert(self, table: Table, values: dict[str, Any], keys: list[str]) -> Any:
        """INSERT ... ON CONFLICT (keys) DO UPDATE SET the other columns: one statement on both backends."""
        return (
            self.insert(table)
            .values(**values)
            .on_conflict_do_update(
                index_elements=keys, set_={k: v for k, v in values.items() if k not in keys}
            )
        )

    @contextlib.contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads. On SQLite each statement sees the latest commit (no snapshot across
        statements); on PostgreSQL the reads share one transaction, rolled back at the end."""
        with self.engine.connect() as conn:
            yield conn

    @contextlib.contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction: committed at the end of the ``with``, rolled back on an exception."""
        with self._writer.begin() as conn:
            yield conn

    def close(self) -> None:
        """Nothing to do: the engine is the process's, shared by every user of this URL (code written for
        the sqlite3 registry closes its connection; pooled connections go back to the pool by themselves)."""

    def dispose(self) -> None:
        """Close the pooled connections (the next use opens new ones)."""
        self.engine.dispose()


_open: OrderedDict[str, Database] = OrderedDict()
_migrated: dict[str, object] = {}
"""URL -> what was migrated: for SQLite the file's identity (a folder removed and made again is a new
registry), else True."""
_guard = threading.Lock()


def _identity(url: str) -> object:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return True
    try:
        stat = Path(parsed.database).stat()
    except FileNotFoundError:
        return None
    return (stat.st_dev, stat.st_ino)


def open_database(url: str, *, migrate: bool = True) -> Database:
    """The process's Database for ``url``, migrated to the newest schema on first use."""
    url = normalise_url(url)
    with _guard:
        db = _open.get(url)
        identity = _identity(url)
        if db is not None and url in _migrated and _migrated[url] != identity:
            db.dispose()  # the file was replaced (or removed): open it afresh
            del _open[url], _migrated[url]
            db = None
        if db is None:
            try:
                db = Database(_make_engine(url))
            except (ImportError, ValueError) as exc:  # unknown scheme, missing driver, malformed URL
                raise RegistryUnavailableError(f"registry URL {_shown(url)!r}: {exc}") from None
            _open[url] = db
            while len(_open) > _MAX_OPEN:
                _open.popitem(last=False)[1].dispose()
        _open.move_to_end(url)
        if migrate and url not in _migrated:
            from figvault.db.migrate import upgrade

            try:
                upgrade(db)  # the first connection: a server down or a database missing shows here
            except (OperationalError, InterfaceError) as exc:
                raise RegistryUnavailableError(_cannot_open(url, exc)) from exc
            _migrated[url] = _identity(url)
    return db


def _shown(url: str) -> str:
    """``url`` with its password hidden (it goes to terminals and logs)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):  # not a URL SQLAlchemy parses: show only its scheme
        return url.split("://", 1)[0] + "://..."


def _cannot_open(url: str, exc: DBAPIError) -> str:
    """One line for a registry that cannot be reached or opened: the driver's reason (its lines joined;
    the traceback was 160 lines), the URL without its password, and the fix for a missing database."""
    reason = " ".join(str(exc.orig).split()) if exc.orig is not None else type(exc).__name__
    line = f"cannot open the registry at {_shown(url)}: {reason}"
    if "does not exist" in reason and "database" in reason:
        name = make_url(url).database
        line += f'; create it first (CREATE DATABASE "{name}"; empty: figvault creates its tables)'
    return line


def open_registry(settings: Settings) -> Database:
    """The registry of these settings: ``registry.url``, else the SQLite file in the data folder."""
    return open_database(settings.registry_url)


def as_database(conn: Any) -> Database:
    """``conn`` as a Database: a Database, or (for callers written before the registry moved to
    SQLAlchemy) a ``sqlite3.Connection`` to the registry file."""
    if isinstance(conn, Database):
        return conn
    if isinstance(conn, sqlite3.Connection):
        row = conn.execute("PRAGMA database_list").fetchone()
        if not row or not row[2]:
            raise RegistryUnavailableError("an in-memory sqlite3 connection is not a registry")
        return open_database(sqlite_url(Path(row[2])))
    raise TypeError(f"not a registry database: {type(conn).__name__}")


def ping(db: Database) -> None:
    with db.read() as conn:
        conn.execute(text("SELECT 1"))


def dispose_all() -> None:
    """Close every pooled connection of this process (tests; a forked child before it uses the registry)."""
    with _guard:
        for db in _open.values():
            db.dispose()
        _open.clear()
        _migrated.clear()
