"""Registry fixtures: the same tests against SQLite (the embedded default) and a real PostgreSQL.

``registry_url`` is parametrised over both back ends; a test (or a fixture) that takes it runs twice.
The PostgreSQL server starts once per session (tests/postgres_server.py) and each test gets a new database.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from figvault.db import Database, open_database, sqlite_url
from tests.postgres_server import PostgresServer, find_bindir

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        if os.environ.get("CI"):  # CI installs it: a missing server there is a broken install, not a skip
            pytest.fail("PostgreSQL binaries not found: install.sh should have installed `postgresql`")
        pytest.skip("PostgreSQL binaries not found (install.sh installs the Debian `postgresql` package)")
    server = PostgresServer(bindir)
    try:
        server.start()
    except Exception as exc:
        log = server.log_tail()
        server.stop()
        pytest.fail(f"PostgreSQL did not start: {exc}\n{log}")
    try:
        yield server
    finally:
        from figvault.db import dispose_all

        dispose_all()
        server.stop()


@pytest.fixture(params=BACKENDS)
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "registry.sqlite3")
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def registry_db(registry_url: str) -> Database:
    return open_database(registry_url)
