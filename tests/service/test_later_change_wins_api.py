"""An upload waits in the queue while an admin changes its document's groups: the later change wins, and
what the uploader learns of it is only what it may see (a read-only trust audit, 2026-12-06 evening).

Before, the job gave the document the groups the upload was sent with when it ran: an admin's narrowing
(finance taken away) was undone, and finance's readers saw the document again. The first fix (the time of
the request) then told the editor, through its job's counts, that an admin had changed a group it is not
in: so an editor's job judges by what it was shown when it queued the upload."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from figvault.access import Role
from figvault.pipeline import ingest_job, users
from figvault.pipeline.registry import connect
from figvault.settings import load_settings
from tests.generated_docs import figure_pdf
from tests.helpers.jobs import finished_job


@dataclass
class Office:
    client: TestClient
    keys: dict[str, str]
    root: Path

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def upload(self, user: str, path: Path, groups: str, tags: str | None = None) -> dict[str, Any]:
        form = {"groups": groups} | ({"tags": tags} if tags is not None else {})
        files = [("files", (path.name, path.read_bytes(), "application/pdf"))]
        response = self.client.post("/v1/documents", files=files, data=form, headers=self.as_(user))
        assert response.status_code == 202, response.text
        return response.json()

    def ended(self, user: str, job_id: str) -> dict[str, Any]:
        return finished_job(self.client, job_id, self.as_(user))

    def regroup(self, doc_id: str, groups: list[str]) -> None:
        body = {"groups": groups}
        response = self.client.patch(f"/v1/documents/{doc_id}", json=body, headers=self.as_("ada"))
        assert response.status_code == 200, response.text

    def groups(self, doc_id: str) -> list[str]:
        """The document's groups, as the admin's listing gives them (all of them)."""
        listing = self.client.get("/v1/admin/documents", headers=self.as_("ada")).json()["documents"]
        [record] = [d for d in listing if d["doc_id"] == doc_id]
        return record["groups"]

    def document(self, user: str, doc_id: str) -> tuple[int, dict[str, Any]]:
        response = self.client.get(f"/v1/documents/{doc_id}", headers=self.as_(user))
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Office]:
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    root = tmp_path_factory.mktemp("office")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("FIGVAULT_"):
                mp.delenv(key)
        mp.setenv("HF_HUB_OFFLINE", "1")
        settings = load_settings("offline", data_dir=root / "data")
        settings.extract.workers = 1
        settings.service.rate_limit_per_key = settings.service.rate_limit_per_address = ""
        engine = SearchEngine.from_settings(settings)
        conn = connect(settings)
        users.ensure_schema(conn)
        keys = {
            name: users.add_user(conn, name, role, groups, "default")[1]
            for name, role, groups in (
                ("ada", Role.ADMIN, ["ops"]),
                ("eve", Role.EDITOR, ["finance", "sales"]),
                ("alice", Role.READER, ["finance"]),
            )
        }
        conn.close()
        with TestClient(create_app(settings, engine=engine)) as client:
            assert client.app.state.warm_up.done.wait(300)
            yield Office(client, keys, root)


@pytest.fixture
def hold_jobs(monkeypatch: pytest.MonkeyPatch) -> Callable[[], Callable[[], None]]:
    """Called: ingest jobs wait from now until the function it returns is called (as behind other jobs in
    the queue)."""
    gate = threading.Event()
    run = ingest_job.run_ingest_job

    def held(ctx: Any) -> Any:
        assert gate.wait(120), "the test never let the job run"
        return run(ctx)

    def hold() -> Callable[[], None]:
        monkeypatch.setattr(ingest_job, "run_ingest_job", held)
        return gate.set

    return hold


def stored(office: Office, name: str, seed: int, groups: str) -> tuple[Path, str]:
    """A one-figure PDF uploaded by the admin for ``groups`` and ingested: its path and document id."""
    path = figure_pdf(office.root / name, seed=seed, n_figures=1)
    upload = office.upload("ada", path, groups)
    assert office.ended("ada", upload["job_id"])["state"] == "succeeded"
    return path, upload["documents"][0]["doc_id"]


def test_an_admin_regroup_of_a_queued_uploads_new_document_stays(
    office: Office, hold_jobs: Callable[[], Callable[[], None]]
) -> None:
    path = figure_pdf(office.root / "mistake.pdf", seed=91, n_figures=1)
    release = hold_jobs()
    upload = office.upload("eve", path, "finance")
    doc_id = upload["documents"][0]["doc_id"]
    office.regroup(doc_id, ["hr"])  # the pending document, taken away from finance
    release()
    assert office.ended("eve", upload["job_id"])["state"] == "succeeded"
    assert office.groups(doc_id) == ["hr"]
    assert office.document("alice", doc_id)[0] == 404


def test_an_admin_regroup_while_an_in_place_update_waits_stays(
    office: Office, hold_jobs: Callable[[], Callable[[], None]]
) -> None:
    path, doc_id = stored(office, "board.pdf", 92, "finance,hr")
    release = hold_jobs()
    upload = office.upload("eve", path, "finance", tags="q4")  # the same bytes: an in-place update
    assert upload["documents"][0]["doc_id"] == doc_id
    office.regroup(doc_id, ["hr", "sales"])
    release()
    assert office.ended("eve", upload["job_id"])["state"] == "succeeded"
    assert office.groups(doc_id) == ["hr", "sales"]
    assert office.document("alice", doc_id)[0] == 404


def test_an_admins_queued_upload_keeps_a_later_change_of_groups_it_is_not_in(
    office: Office, hold_jobs: Callable[[], Callable[[], None]]
) -> None:
    """An admin's upload sets every group of the document (it may regroup): a later change of a group the
    admin is not in is judged by time, as the local operator's (a read-only review of the first fix: the
    upload, queued first, took hr away again)."""
    path, doc_id = stored(office, "plan.pdf", 95, "ops,finance")
    release = hold_jobs()
    upload = office.upload("ada", path, "ops")
    office.regroup(doc_id, ["hr", "ops"])
    release()
    assert office.ended("ada", upload["job_id"])["state"] == "succeeded"
    assert office.groups(doc_id) == ["hr", "ops"]


@pytest.mark.parametrize("hidden_change", [False, True], ids=["alone", "after-a-hidden-change"])
def test_a_change_of_a_group_the_editor_is_not_in_does_not_show_in_its_job(
    office: Office, hold_jobs: Callable[[], Callable[[], None]], hidden_change: bool
) -> None:
    """The admin adds legal, a group eve is not in, while eve's in-place update waits: eve's job reads as
    it does without the change (its tag set), and legal stays."""
    path, doc_id = stored(office, f"memo-{hidden_change}.pdf", 93 + hidden_change, "finance,hr")
    release = hold_jobs()
    upload = office.upload("eve", path, "finance", tags="q4")
    if hidden_change:
        office.regroup(doc_id, ["finance", "hr", "legal"])
    release()
    job = office.ended("eve", upload["job_id"])
    assert job["state"] == "succeeded" and job["result"]["updated"] == 1, job
    status, seen = office.document("eve", doc_id)
    assert status == 200 and (seen["groups"], seen["tags"]) == (["finance"], ["q4"])
    expected = ["finance", "hr", "legal"] if hidden_change else ["finance", "hr"]
    assert office.groups(doc_id) == expected
