"""A request that finds the server's disk full is answered 507 with a sentence, and logged in one line.

An upload through the page to a `figvault serve` whose data folder was full (a 5 MB tmpfs) was answered a
plain-text "Internal Server Error" (the page showed "Internal Server Error"), and the log had some 40 lines:
the spooled file's move (ENOSPC), then the registry's "database or disk is full" raised while handling it.
"""

from __future__ import annotations

import errno
import logging
import sqlite3

import pytest
import sqlalchemy.exc
from fastapi import APIRouter
from fastapi.testclient import TestClient

from figvault.service.app import Mount, create_app
from figvault.settings import Settings

router = APIRouter()


@router.post("/v1/full")
def full() -> None:
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        raise sqlalchemy.exc.OperationalError(
            "INSERT", {}, sqlite3.OperationalError("database or disk is full")
        ) from sqlite3.OperationalError("database or disk is full")


@router.post("/v1/denied")
def denied() -> None:
    raise PermissionError(errno.EACCES, "Permission denied")


@pytest.fixture
def client(offline_settings: Settings) -> TestClient:
    # No lifespan (no ``with``): these routes need neither the engine nor the registry.
    app = create_app(offline_settings, engine=object(), mounts=[Mount(router)])
    return TestClient(app, raise_server_exceptions=False)


def test_a_full_disk_is_a_507_with_a_sentence_and_one_log_line(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    answer = client.post("/v1/full")
    assert answer.status_code == 507
    assert "no space left" in answer.json()["detail"]
    lines = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(lines) == 1 and lines[0].exc_info is None
    reason = "OperationalError: (sqlite3.OperationalError) database or disk is full"
    assert lines[0].getMessage() == f"POST /v1/full: the disk is full: {reason}"


def test_another_os_error_stays_a_500(client: TestClient) -> None:
    assert client.post("/v1/denied").status_code == 500
