"""A served app for the upload and job tests: a TestClient on the app of the given settings, a server folder
the ingest allow-list admits (``root/allowed``), API-key users, and a wait for a job's end."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from fastapi.testclient import TestClient

from figvault.access import Role
from figvault.pipeline import users
from figvault.settings import Settings

FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class Service:
    settings: Settings
    client: TestClient
    root: Path
    keys: dict[str, str] = field(default_factory=dict)
    """user name -> API key (or token)"""

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def wait(self, job_id: str, user: str, timeout_s: float = 120, poll_s: float = 0.05) -> dict:
        """The job as ``user`` reads it once it has finished; AssertionError past ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            job = self.client.get(f"/v1/jobs/{job_id}", headers=self.headers(user)).json()
            if job["state"] in FINISHED:
                return job
            time.sleep(poll_s)
        raise AssertionError(f"job {job_id} did not finish in {timeout_s}s")


ServiceT = TypeVar("ServiceT", bound=Service)


@contextmanager
def serving(
    settings: Settings,
    root: Path,
    accounts: Iterable[tuple[str, Role, list[str], str]],
    kind: type[ServiceT],
) -> Iterator[ServiceT]:
    """The app of ``settings`` served to a TestClient, with ``root/allowed`` on the ingest allow-list and
    an API key for each (name, role, groups, tenant) of ``accounts``."""
    from figvault.service.app import create_app

    allowed = root / "allowed"
    allowed.mkdir()
    settings.service.ingest_allow_dirs = [str(allowed)]
    with TestClient(create_app(settings)) as client:
        svc = kind(settings=settings, client=client, root=root)
        conn = sqlite3.connect(settings.registry_path)
        try:
            users.ensure_schema(conn)
            for name, role, groups, tenant in accounts:
                svc.keys[name] = users.add_user(conn, name, role, groups, tenant)[1]
        finally:
            conn.close()
        yield svc
