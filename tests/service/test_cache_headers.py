"""Authenticated answers are never stored by a cache. A browser keeps a GET's answer in its disk cache
unless told not to, credentials or not: a reader's search results, document list, audit rows and job list
stayed on the disk of a shared workstation after the tab (and its sessionStorage key) was gone, and a
cache between the browser and figvault configured to store authenticated answers had nothing saying no.
Every answer that sets no caching of its own now says ``Cache-Control: no-store``; the page (``no-cache``),
unit and page images (``private``, per credential) and the static scripts keep theirs."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from types import SimpleNamespace

from fastapi.testclient import TestClient

from figvault.access import Role
from figvault.pipeline import users
from figvault.settings import load_settings


def _key(registry: Path) -> dict[str, str]:
    conn = sqlite3.connect(registry)
    try:
        users.ensure_schema(conn)
        _record, key = users.add_user(conn, "ana", Role.ADMIN, ["g0"], "acme")
    finally:
        conn.close()
    return {"Authorization": f"Bearer {key}"}


def test_authenticated_answers_are_not_stored(tmp_path: Path) -> None:
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    # No engine: its warm-up fails at once (logged, never fatal); these routes need none.
    with TestClient(create_app(settings, engine=SimpleNamespace())) as client:
        auth = _key(settings.registry_path)
        answers = {
            "me": client.get("/v1/me", headers=auth),
            "documents": client.get("/v1/documents", headers=auth),
            "jobs": client.get("/v1/jobs", headers=auth),
            "audit": client.get("/v1/audit", headers=auth),
            "unknown job": client.get("/v1/jobs/0123456789ab", headers=auth),
            "no credential": client.get("/v1/documents"),
        }
        assert [answers[k].status_code for k in answers] == [200, 200, 200, 200, 404, 401]
        assert {k: a.headers.get("cache-control") for k, a in answers.items()} == {
            k: "no-store" for k in answers
        }
        page = client.get("/")
        assert page.headers["cache-control"] == "no-cache"  # the page's own, kept
        script = client.get("/static/api.js")
        assert script.status_code == 200 and "no-store" not in script.headers.get("cache-control", "")


def test_behind_a_proxy_prefix_the_scripts_keep_theirs_and_answers_are_not_stored(tmp_path: Path) -> None:
    """At ``service.root_path`` uvicorn's scope path carries the prefix (``/figvault/static/api.js``): the
    static scripts are still told apart, and the API's answers still say ``no-store``."""
    from figvault.service.app import create_app

    settings = load_settings("offline", data_dir=tmp_path / "data")
    with TestClient(create_app(settings, engine=SimpleNamespace()), root_path="/figvault") as client:
        auth = _key(settings.registry_path)
        script = client.get("/figvault/static/api.js")
        me = client.get("/figvault/v1/me", headers=auth)
    assert script.status_code == 200 and "no-store" not in script.headers.get("cache-control", "")
    assert me.status_code == 200 and me.headers["cache-control"] == "no-store"
