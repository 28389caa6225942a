"""The first hour over HTTP: a document ingested without groups is visible to no one, a search says so
(``visible_documents``), and an admin gives it groups with ``PATCH /v1/documents/{id}`` (no re-ingest)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from figvault.access import Role
from figvault.pipeline import users
from figvault.pipeline.registry import connect
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf


@dataclass
class Team:
    client: TestClient
    keys: dict[str, str]
    data_dir: Path

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def search(self, user: str, query: str = "figure report", **body: object) -> dict:
        response = self.client.post("/v1/search", json={"query": query, **body}, headers=self.as_(user))
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    from figvault.pipeline.ingest_pipeline import ingest_paths
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    root = tmp_path_factory.mktemp("team")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("FIGVAULT_"):
                mp.delenv(key)
        mp.setenv("HF_HUB_OFFLINE", "1")
        settings = load_settings("offline", data_dir=root / "data")
        settings.extract.workers = 1
        engine = SearchEngine.from_settings(settings)
        decks = [figure_pdf(root / "decks.pdf", seed=41), figure_pdf(root / "budget.pdf", seed=42)]
        # As `figvault ingest ./decks` without --groups: nobody on the service sees it.
        ingest_paths(
            settings, decks[:1], groups=None, tenant="default", progress=False, encoders=engine.encoders
        )
        ingest_paths(
            settings, decks[1:], groups=["hr"], tenant="default", progress=False, encoders=engine.encoders
        )
        conn = connect(settings)
        users.ensure_schema(conn)
        keys = {
            name: users.add_user(conn, name, role, groups, tenant)[1]
            for name, role, groups, tenant in (
                ("ada", Role.ADMIN, ["ops"], "default"),
                ("alice", Role.READER, ["finance"], "default"),
                ("hank", Role.READER, ["hr"], "default"),
                ("eve", Role.EDITOR, ["finance"], "default"),
                ("otto", Role.ADMIN, ["finance"], "elsewhere"),
                ("hugo", Role.READER, ["hr", "sales"], "default"),
                ("rita", Role.READER, ["hr"], "default"),
            )
        }
        conn.close()
        with TestClient(create_app(settings, engine=engine)) as client:
            # As a client would wait for /readyz: a warm-up thread still in native code when the interpreter
            # exits aborts it (exit status 134).
            assert client.app.state.warm_up.done.wait(300)
            yield Team(client, keys, root / "data")


def test_a_caller_who_sees_nothing_is_told_so(team: Team) -> None:
    answer = team.search("alice")
    assert answer["results"] == [] and answer["visible_documents"] == 0
    # Only the caller's own documents are counted: hank sees budget.pdf, not the other one.
    assert team.search("hank", filters={"kinds": ["chart"]})["visible_documents"] == 1
    assert team.search("hank")["results"] and team.search("hank")["visible_documents"] is None


def test_only_admins_manage_groups(team: Team) -> None:
    for user in ("alice", "eve"):
        assert team.client.get("/v1/admin/documents", headers=team.as_(user)).status_code == 403
        patched = team.client.patch("/v1/documents/decks.pdf", json={"groups": ["x"]}, headers=team.as_(user))
        assert patched.status_code == 403
    assert team.client.patch("/v1/documents/decks.pdf", json={"groups": ["x"]}).status_code == 401
    # Another tenant's admin gets the same 404 as for a document that does not exist.
    foreign = team.client.patch("/v1/documents/decks.pdf", json={"groups": ["x"]}, headers=team.as_("otto"))
    missing = team.client.patch("/v1/documents/nope.pdf", json={"groups": ["x"]}, headers=team.as_("ada"))
    assert foreign.status_code == missing.status_code == 404 and foreign.json() == missing.json()
    for bad in (
        {"groups": []},
        {"groups": [" "]},
        {"groups": ["a b"]},
        {"groups": ["x"], "tenant": "elsewhere"},
    ):
        response = team.client.patch("/v1/documents/decks.pdf", json=bad, headers=team.as_("ada"))
        assert response.status_code == 422, bad


def test_admin_gives_an_invisible_document_groups(team: Team) -> None:
    listed = team.client.get("/v1/admin/documents", headers=team.as_("ada")).json()
    groups = {d["name"]: d["groups"] for d in listed["documents"]}
    assert groups == {"decks.pdf": [], "budget.pdf": ["hr"]}  # the admin sees it although no group can
    ids = {d["name"]: d["doc_id"] for d in listed["documents"]}

    patched = team.client.patch(
        "/v1/documents/decks.pdf", json={"groups": ["finance", "ops"]}, headers=team.as_("ada")
    )
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["groups"] == ["finance", "ops"] and body["before"] == [] and body["units_rewritten"] == 2

    found = team.search("alice")
    assert {r["doc_id"] for r in found["results"]} == {ids["decks.pdf"]}
    assert found["visible_documents"] is None
    docs = team.client.get("/v1/documents", headers=team.as_("alice")).json()["documents"]
    assert [(d["doc_id"], d["units"], d["groups"]) for d in docs] == [(ids["decks.pdf"], 2, ["finance"])]
    admin = team.as_("ada")
    listed = team.client.get("/v1/audit", params={"action": "admin_documents"}, headers=admin).json()
    assert sorted(listed["entries"][0]["detail"]["doc_ids"]) == sorted(ids.values())  # the listing is audited
    audit = team.client.get("/v1/audit", params={"action": "set-groups"}, headers=team.as_("ada")).json()
    detail = audit["entries"][0]["detail"]
    assert audit["entries"][0]["user"] == "ada"
    assert (detail["doc_id"], detail["before"], detail["after"]) == (ids["decks.pdf"], [], ["finance", "ops"])


def users_set(team: Team, *args: str) -> None:
    """``figvault users set ...`` at the command line, beside the running service."""
    from typer.testing import CliRunner

    from figvault.cli import load_commands
    from figvault.commands import app

    load_commands()
    base = ["--config", "offline", "--data-dir", str(team.data_dir)]
    result = CliRunner().invoke(app, [*base, "users", "set", *args])
    assert result.exit_code == 0, result.output


def test_a_user_taken_out_of_a_group_no_longer_sees_its_documents_at_once(team: Team) -> None:
    """``users set NAME --groups`` holds from the user's next request, on the search and the image routes
    (the same key: before it, only revoke + add, a new key, could change a user's groups)."""
    hits = team.search("hugo")["results"]
    assert hits and {r["doc"] for r in hits} == {"budget.pdf"}
    image = hits[0]["image_url"]
    assert team.client.get(image, headers=team.as_("hugo")).status_code == 200
    users_set(team, "hugo", "--groups", "sales")
    answer = team.search("hugo")
    assert answer["results"] == [] and answer["visible_documents"] == 0
    gone = team.client.get(image, headers=team.as_("hugo"))
    missing = team.client.get("/v1/units/" + "0" * 32 + "/image", headers=team.as_("hugo"))
    assert gone.status_code == missing.status_code == 404 and gone.json() == missing.json()
    unit = team.client.get(image.removesuffix("/image"), headers=team.as_("hugo"))
    assert unit.status_code == 404
    audit = team.client.get("/v1/audit", params={"action": "user-set"}, headers=team.as_("ada")).json()
    [entry] = [e for e in audit["entries"] if e["detail"]["user"] == "hugo"]
    assert entry["user"] == "cli" and entry["detail"]["before"]["groups"] == ["hr", "sales"]
    assert entry["detail"]["after"] == {"role": "reader", "groups": ["sales"]}


def test_a_reader_made_editor_can_upload_at_once(team: Team) -> None:
    files = [
        (
            "files",
            ("q3.pdf", figure_pdf(team.data_dir.parent / "q3.pdf", seed=43).read_bytes(), "application/pdf"),
        )
    ]
    refused = team.client.post("/v1/documents", files=files, data={"groups": "hr"}, headers=team.as_("rita"))
    assert refused.status_code == 403
    users_set(team, "rita", "--role", "editor")
    sent = team.client.post("/v1/documents", files=files, data={"groups": "hr"}, headers=team.as_("rita"))
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["job_id"]
    for _ in range(900):  # the job runs in the service; the module's teardown must not cut it
        job = team.client.get(f"/v1/jobs/{job_id}", headers=team.as_("rita")).json()
        if job["state"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.1)
    assert job["state"] == "succeeded", job


def test_a_document_whose_ingest_failed_is_not_counted_as_one(team: Team) -> None:
    """A caller whose only document failed to ingest was told it can see 1 document (``visible_documents``:
    the failed record counted), so the page said nothing of why every search came back empty. Listings
    keep the failed document, with its error, and say ``searchable``."""
    from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry

    settings = load_settings("offline", data_dir=team.data_dir)
    conn = connect(settings)
    registry = DocumentRegistry(conn)
    failed = DocumentRecord(doc_id="broken.pdf", tenant="default", name="broken.pdf", state=DocState.FAILED)
    registry.put(failed.model_copy(update={"groups": ["legal"], "error": "empty file"}))
    team.keys["lena"] = users.add_user(conn, "lena", Role.READER, ["legal"], "default")[1]
    try:
        answer = team.search("lena")
        assert answer["results"] == [] and answer["visible_documents"] == 0
        docs = team.client.get("/v1/documents", headers=team.as_("lena")).json()["documents"]
        assert [(d["doc_id"], d["state"], d["error"], d["searchable"]) for d in docs] == [
            ("broken.pdf", "failed", "empty file", False)
        ]
        managed = team.client.get("/v1/admin/documents", headers=team.as_("ada")).json()["documents"]
        searchable = {d["name"]: d["searchable"] for d in managed}
        assert (
            searchable["broken.pdf"] is False and searchable["decks.pdf"] is searchable["budget.pdf"] is True
        )
    finally:
        registry.delete("default", "broken.pdf")
        conn.close()


def test_an_editors_retag_waiting_on_a_regroup_that_hides_the_document_is_refused(
    team: Team, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``PATCH /v1/documents/{id}`` with ``tags`` checked the editor's access before it waited for the store
    lock (up to 30 s), and not again: an admin's regroup that held the lock meanwhile and took the
    document out of the editor's groups did not stop the retag, so an editor of ``finance`` wrote the tags
    of a document only ``hr`` may see (and read them back in the answer). Now judged again under the lock:
    the answer of a document that does not exist, nothing written (failed before: 200, tags written)."""
    from figvault.pipeline.registry import DocumentRegistry
    from figvault.pipeline.regroup import set_document_groups
    from figvault.service.api.routes import documents as route

    admin, editor = team.as_("ada"), team.as_("eve")
    both = {"groups": ["finance", "hr"]}
    assert team.client.patch("/v1/documents/budget.pdf", json=both, headers=admin).status_code == 200
    settings = team.client.app.state.settings
    real_find = route.find_document

    def regrouped_meanwhile(conn, principal, key, **kwargs):  # the admin's regroup, while eve waited
        record = real_find(conn, principal, key, **kwargs)
        if record is not None and principal.user == "eve":
            set_document_groups(settings, "default", record.doc_id, ["hr"])
        return record

    monkeypatch.setattr(route, "find_document", regrouped_meanwhile)
    try:
        refused = team.client.patch("/v1/documents/budget.pdf", json={"tags": ["eve"]}, headers=editor)
        missing = team.client.patch("/v1/documents/nope.pdf", json={"tags": ["eve"]}, headers=editor)
        assert refused.status_code == missing.status_code == 404 and refused.json() == missing.json()
        monkeypatch.setattr(route, "find_document", real_find)
        conn = connect(settings)
        [record] = DocumentRegistry(conn).matching("default", "budget.pdf")
        conn.close()
        assert (record.groups, record.tags) == (["hr"], [])
        assert team.search("hank", filters={"tags": ["eve"]})["results"] == []
        # Without a regroup between, the editor's retag of a document it sees goes through.
        assert team.client.patch("/v1/documents/budget.pdf", json=both, headers=admin).status_code == 200
        done = team.client.patch("/v1/documents/budget.pdf", json={"tags": ["ok"]}, headers=editor)
        assert done.status_code == 200 and done.json()["tags"] == ["ok"], done.text
    finally:
        monkeypatch.setattr(route, "find_document", real_find)
        restore = {"groups": ["hr"], "tags": []}
        assert team.client.patch("/v1/documents/budget.pdf", json=restore, headers=admin).status_code == 200
