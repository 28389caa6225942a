"""A registry that cannot be opened (PostgreSQL down, its database not created) ends a command with one
line naming the URL without its password and the driver's reason. Before (2026-12-05 operator walk),
`figvault documents list` and `users add` printed a 160-line SQLAlchemy traceback, the password-less
reason on its last lines, and a URL the driver could not parse was echoed with its password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from figvault.db import open_database
from figvault.db.database import RegistryUnavailableError
from tests.helpers.server import free_port, server_env
from tests.postgres_server import PostgresServer


@pytest.mark.parametrize("command", [["users", "list"], ["documents", "list"]])
def test_a_registry_server_that_is_down_is_one_line_without_the_password(
    tmp_path: Path, command: list[str]
) -> None:
    url = f"postgresql://figvault:s3cret-pass@127.0.0.1:{free_port()}/figvault"
    done = subprocess.run(
        [sys.executable, "-m", "figvault", "--config", "offline", "--data-dir", str(tmp_path), *command],
        env=server_env(FIGVAULT_REGISTRY__URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("error: cannot open the registry at postgresql+psycopg://figvault:***@127.0.0.1:")
    assert "Connection refused" in line
    assert "s3cret" not in done.stderr + done.stdout and "Traceback" not in done.stderr


def test_a_database_not_created_says_to_create_it(postgres_server: PostgresServer) -> None:
    with pytest.raises(RegistryUnavailableError) as raised:
        open_database(postgres_server.url("never_created"))
    message = str(raised.value)
    assert 'database "never_created" does not exist' in message
    assert 'CREATE DATABASE "never_created"' in message


def test_a_url_no_driver_opens_is_shown_without_its_password() -> None:
    with pytest.raises(RegistryUnavailableError) as raised:
        open_database("mysql://figvault:s3cret-pass@db.internal/figvault")
    assert "s3cret" not in str(raised.value) and "figvault:***@db.internal" in str(raised.value)
