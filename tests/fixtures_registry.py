"""Registry fixtures: the same tests against SQLite (the embedded default) and a real PostgreSQL; and the
servers a several-replica deployment shares (PostgreSQL, a Milvus 2.3.5 standalone), started on loopback.

``registry_url`` is parametrised over both back ends; a test (or a fixture) that takes it runs twice.
The PostgreSQL server starts once per session (tests/postgres_server.py) and each test gets a new database.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from figvault.db import Database, open_database, sqlite_url
from tests.helpers.netns import Forwarder, LoopbackNamespace, NamespaceUnavailable
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


@pytest.fixture(scope="session")
def milvus_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Milvus 2.3.5 standalone (the ``milvus`` package of the dev extra) for the session, reachable on
    loopback only. The server has no listen-address setting (it binds every interface), so it runs in a
    network namespace of its own whose one interface is ``lo``, and the tests reach its proxy port through
    a forwarder on 127.0.0.1 (tests/helpers/netns.py). Where no namespace can be made, the tests skip
    rather than start it on every interface."""
    milvus = pytest.importorskip("milvus", reason="the `milvus` package (dev extra) is not installed")
    try:
        namespace = LoopbackNamespace()
    except (NamespaceUnavailable, OSError) as exc:
        pytest.skip(f"cannot keep the Milvus 2.3.5 server on loopback here: no network namespace ({exc})")
    base = tmp_path_factory.mktemp("milvus-e2e")
    server = milvus.MilvusServer(wait_for_started=False)
    server.set_base_dir(str(base))
    forwarder: Forwarder | None = None
    try:
        # Started from a thread inside the namespace: the server process and the package's port probes
        # and health checks all live there.
        namespace.run(lambda: (server.start(), server.wait_started(timeout=90_000)))
        forwarder = Forwarder(namespace, server.listen_port)
    except Exception as exc:  # no binary for this platform, ports refused, ...: say why and skip
        _kill_milvus(server)
        namespace.close()
        pytest.skip(f"Milvus 2.3 server could not start here: {type(exc).__name__}: {exc}")
    try:
        yield f"http://127.0.0.1:{forwarder.port}"
    finally:
        forwarder.close()
        _kill_milvus(server)
        namespace.close()


def _kill_milvus(server: object) -> None:
    """The 2.3.5 server ignores SIGTERM for 30 s: stop it by pid."""
    proc = getattr(server, "server_proc", None)
    if proc is None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.wait(timeout=30)
    for fd in getattr(server, "proc_fds", {}).values():
        with contextlib.suppress(Exception):
            fd.close()
