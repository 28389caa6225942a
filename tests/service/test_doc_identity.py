"""Document identity over HTTP (issue 12): a file name never reaches another group's or tenant's document.

Same-named uploads by users of different groups and tenants become separate documents, and what each
uploader receives is the same as for a name nobody used; an editor who may edit a document replaces it in
place; a failed ingest leaves every other document as it was; random uploads, replacements and deletes
across users leave no unit without its registry document and no document with units it does not own.

Encoders: the tiny OpenCLIP model (CLIP channel plus BM25), so the service starts in a second.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from figvault.access import Role
from figvault.db.models import jobs as jobs_table
from figvault.pipeline.jobs import JobRunner, JobState, JobStore, run_here
from figvault.pipeline.registry import DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_DOC, F_DOC_ID, F_GROUPS, F_ID, F_TENANT
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.service import upload_service
from tests.service.upload_service import serving

BROKEN_PDF = b"%PDF-1.7\n" + b"this is not a PDF body\n" * 40
USERS = {  # name -> (role, groups, tenant)
    "ed_a": (Role.EDITOR, ["a"], "default"),
    "ed_b": (Role.EDITOR, ["b"], "default"),
    "ed_ab": (Role.EDITOR, ["a", "b"], "default"),
    "read_a": (Role.READER, ["a"], "default"),
    "read_b": (Role.READER, ["b"], "default"),
    "admin": (Role.ADMIN, ["a", "b"], "default"),
    "ed_g": (Role.EDITOR, ["a"], "globex"),
    "admin_g": (Role.ADMIN, ["a"], "globex"),
}


@dataclass
class Service(upload_service.Service):
    seed: int = 0

    def pdf(self) -> bytes:
        self.seed += 1
        return figure_pdf(self.root / f"src-{self.seed}.pdf", seed=self.seed, n_figures=1).read_bytes()

    def post(self, user: str, name: str, groups: str, data: bytes | None = None, **form: str) -> Any:
        content = self.pdf() if data is None else data
        return self.client.post(
            "/v1/documents",
            files=[("files", (name, content, "application/pdf"))],
            data={"groups": groups, **form},
            headers=self.headers(user),
        )

    def upload(self, user: str, name: str, groups: str, data: bytes | None = None, **form: str) -> dict:
        """Upload one file and wait for its job: the upload's answer and the finished job, as the caller
        receives them."""
        response = self.post(user, name, groups, data, **form)
        assert response.status_code == 202, response.text
        body = response.json()
        return {"upload": body, "job": self.wait(body["job_id"], user)}

    def documents(self, user: str) -> list[dict]:
        response = self.client.get("/v1/documents", headers=self.headers(user))
        assert response.status_code == 200, response.text
        return response.json()["documents"]

    def named(self, user: str, name: str) -> list[dict]:
        return [d for d in self.documents(user) if d["name"] == name]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = tiny_settings(tmp_path / "data", TINY_A, text=False)
    settings.extract.workers = 1
    accounts = [(name, role, groups, tenant) for name, (role, groups, tenant) in USERS.items()]
    with serving(settings, tmp_path, accounts, Service) as svc:
        yield svc


def _what_the_uploader_learns(outcome: dict) -> dict:
    """An upload's answer and job without what differs between any two uploads (ids, names, times, the
    caller's own tenant)."""
    job, [doc] = outcome["job"], outcome["upload"]["documents"]
    varying = ("summary", "tenant", "timings")
    return {
        "upload": {k: v for k, v in doc.items() if k not in ("doc_id", "name")},
        "id_form": (doc["doc_id"][:4], len(doc["doc_id"])),
        "job": {k: job[k] for k in ("state", "phase", "done", "total", "errors", "error_count")},
        "result": {k: v for k, v in job["result"].items() if k not in varying},
        "message": job["message"].split(" in ")[0],  # the summary without its seconds
    }


def _units_of(svc: Service, user: str, doc_id: str) -> list[str]:
    response = svc.client.get(f"/v1/documents/{doc_id}/units", headers=svc.headers(user))
    assert response.status_code == 200, response.text
    return [u["unit_id"] for u in response.json()["units"]]


def test_same_name_in_other_groups_and_tenants_is_a_new_document_and_reveals_nothing(
    service: Service,
) -> None:
    first = service.upload("ed_a", "report.pdf", "a")
    a_id = first["upload"]["documents"][0]["doc_id"]
    assert a_id.startswith("doc_") and first["job"]["result"]["indexed"] == 1
    a_units = _units_of(service, "read_a", a_id)
    # A name nobody else uses, by the same uploader, for comparison.
    control = service.upload("ed_b", "fresh.pdf", "b")
    same_name = service.upload("ed_b", "report.pdf", "b")
    other_tenant = service.upload("ed_g", "report.pdf", "a")

    for outcome in (same_name, other_tenant):
        assert _what_the_uploader_learns(outcome) == _what_the_uploader_learns(control)
        assert a_id not in str(outcome)
    b_id = same_name["upload"]["documents"][0]["doc_id"]
    g_id = other_tenant["upload"]["documents"][0]["doc_id"]
    assert len({a_id, b_id, g_id}) == 3
    # Each sees only its own "report.pdf", with its own units; the first one is untouched.
    assert [d["doc_id"] for d in service.named("read_a", "report.pdf")] == [a_id]
    assert [d["doc_id"] for d in service.named("read_b", "report.pdf")] == [b_id]
    assert [d["doc_id"] for d in service.named("admin_g", "report.pdf")] == [g_id]
    assert _units_of(service, "read_a", a_id) == a_units
    assert service.client.get(f"/v1/documents/{a_id}", headers=service.headers("read_b")).status_code == 404
    # By name, each caller reaches its own; one who sees both is asked for the id.
    assert (
        service.client.get("/v1/documents/report.pdf", headers=service.headers("read_b")).json()["doc_id"]
        == b_id
    )
    ambiguous = service.client.get("/v1/documents/report.pdf", headers=service.headers("admin"))
    assert ambiguous.status_code == 409 and a_id in ambiguous.json()["detail"]
    assert service.post("ed_ab", "report.pdf", "a").status_code == 409  # may edit both: which one?
    chosen = service.upload("ed_ab", "report.pdf", "b", doc_id=b_id)
    assert chosen["upload"]["documents"][0]["doc_id"] == b_id and chosen["job"]["result"]["replaced"] == 1


def test_an_editor_who_may_edit_replaces_in_place(service: Service) -> None:
    first = service.upload("ed_a", "deck.pdf", "a")
    doc_id = first["upload"]["documents"][0]["doc_id"]
    old_units = _units_of(service, "read_a", doc_id)
    again = service.upload("ed_ab", "deck.pdf", "a")  # another editor of every group the document has
    assert again["upload"]["documents"][0]["doc_id"] == doc_id
    assert again["job"]["result"]["replaced"] == 1 and again["job"]["result"]["indexed"] == 0
    new_units = _units_of(service, "read_a", doc_id)
    assert new_units and not set(new_units) & set(old_units)
    for unit_id in old_units:
        gone = service.client.get(f"/v1/units/{unit_id}", headers=service.headers("read_a"))
        assert gone.status_code == 404
    assert [d["doc_id"] for d in service.named("read_a", "deck.pdf")] == [doc_id]


def test_an_upload_tells_an_editor_nothing_of_a_documents_groups_it_is_not_in(service: Service) -> None:
    """An editor's upload replaced a same-named document it sees only when every group of the document was
    the editor's, and made a new document otherwise: the answer (the same id, or a new one) told it that the
    document has groups the listing hides. It now replaces any document it sees, as a tag change may
    (commit 60a97d5), and the groups it is not in stay: their readers get the new version, and nothing
    tells the editor they exist."""
    alone = service.upload("ed_ab", "alone.pdf", "a")["upload"]["documents"][0]["doc_id"]
    shared = service.upload("ed_ab", "shared.pdf", "a,b")["upload"]["documents"][0]["doc_id"]
    data = service.pdf()
    replaced = {name: service.upload("ed_a", name, "a", data) for name in ("alone.pdf", "shared.pdf")}
    assert [r["upload"]["documents"][0]["doc_id"] for r in replaced.values()] == [alone, shared]
    learnt = [_what_the_uploader_learns(r) for r in replaced.values()]
    assert learnt[0] == learnt[1] and replaced["shared.pdf"]["job"]["result"]["replaced"] == 1
    # Explicitly by id, the same: not "no document you may replace" (404) for the shared one.
    ids = {"alone.pdf": alone, "shared.pdf": shared}
    by_id = [service.upload("ed_a", n, "a", service.pdf(), doc_id=d) for n, d in ids.items()]
    assert [_what_the_uploader_learns(r) for r in by_id] == learnt
    registry = DocumentRegistry.open(service.settings)
    assert registry.get("default", shared).groups == ["a", "b"]  # b was not the editor's to take away
    [listed] = service.named("ed_a", "shared.pdf")
    assert listed["groups"] == ["a"]
    assert _units_of(service, "read_b", shared) == _units_of(service, "read_a", shared)  # the new version
    # An admin's replacement sets the groups it gives, as a regroup does.
    service.upload("admin", "shared.pdf", "a", data=service.pdf(), doc_id=shared)
    assert registry.get("default", shared).groups == ["a"]


def test_a_failed_ingest_leaves_other_documents_as_they_were(service: Service) -> None:
    first = service.upload("ed_a", "plan.pdf", "a")
    doc_id = first["upload"]["documents"][0]["doc_id"]
    before = DocumentRegistry.open(service.settings).get("default", doc_id)
    units = _units_of(service, "read_a", doc_id)

    broken = service.upload("ed_b", "plan.pdf", "b", data=BROKEN_PDF)
    assert broken["job"]["state"] == "failed" and broken["upload"]["documents"][0]["doc_id"] != doc_id
    after = DocumentRegistry.open(service.settings).get("default", doc_id)
    assert after == before
    assert [d["doc_id"] for d in service.named("read_a", "plan.pdf")] == [doc_id]
    assert _units_of(service, "read_a", doc_id) == units
    # A failed replacement by its own editor keeps its groups and units; only its state says so.
    own = service.upload("ed_a", "plan.pdf", "a", data=BROKEN_PDF)
    assert own["upload"]["documents"][0]["doc_id"] == doc_id
    [listed] = [d for d in service.documents("read_a") if d["doc_id"] == doc_id]
    assert listed["state"] == "failed" and listed["groups"] == ["a"] and listed["units"] == len(units)
    deleted = service.client.delete(f"/v1/documents/{doc_id}", headers=service.headers("admin"))
    assert deleted.status_code == 200
    assert _orphans(service.settings) == []


def test_an_upload_without_groups_is_told_to_give_one(service: Service) -> None:
    # An empty groups field was answered "Field required", as if the form had no such field.
    for groups in ("", " , "):
        response = service.post("ed_a", "plan.pdf", groups)
        assert response.status_code == 422, response.text
        assert response.json()["detail"] == "groups: give at least one access group"
    assert service.documents("ed_a") == []


@pytest.mark.parametrize("name", [".", "..", "", "/", "\\"])
def test_names_that_are_no_names_are_refused(service: Service, name: str) -> None:
    response = service.post("ed_a", name, "a")
    assert response.status_code == 422, response.text
    if name:  # an empty one never reaches the route: multipart without a file name is not a file
        assert "name" in response.json()["detail"]
    assert service.documents("ed_a") == []


def test_a_second_upload_before_the_first_job_runs_goes_to_the_same_document(service: Service) -> None:
    runner: JobRunner = service.client.app.state.jobs
    runner.stop()  # nothing runs: both uploads wait in the queue
    first, second = (service.post("ed_a", "draft.pdf", "a") for _ in range(2))
    assert first.status_code == second.status_code == 202
    doc_id = first.json()["documents"][0]["doc_id"]
    assert second.json()["documents"][0]["doc_id"] == doc_id  # not a twin of the same name
    pending = service.client.get(f"/v1/documents/{doc_id}", headers=service.headers("read_a")).json()
    assert (pending["name"], pending["state"], pending["units"]) == ("draft.pdf", "pending", 0)
    jobs = JobStore.open(service.settings)
    results = [run_here(service.settings, jobs.require(r.json()["job_id"])).result for r in (first, second)]
    assert [(r["indexed"], r["replaced"]) for r in results] == [(1, 0), (0, 1)]
    assert [d["doc_id"] for d in service.named("read_a", "draft.pdf")] == [doc_id]
    assert _orphans(service.settings) == []
    # An upload whose job is cancelled once it runs, before its file, leaves no placeholder behind.
    third = service.post("ed_b", "never.pdf", "b")
    job_id = third.json()["job_id"]
    assert [d["state"] for d in service.named("read_b", "never.pdf")] == ["pending"]
    with jobs.db.write() as conn:  # asked to stop as it starts (a queued job's cancel ends it unstarted)
        conn.execute(update(jobs_table).where(jobs_table.c.id == job_id).values(cancel_requested=1))
    assert run_here(service.settings, jobs.require(job_id)).state == JobState.CANCELLED
    assert service.named("read_b", "never.pdf") == []


def test_a_server_folder_ingest_follows_the_same_rule(service: Service) -> None:
    first = service.upload("ed_a", "shared.pdf", "a")
    doc_id = first["upload"]["documents"][0]["doc_id"]
    folder = Path(service.settings.service.ingest_allow_dirs[0])
    figure_pdf(folder / "shared.pdf", seed=77, n_figures=1)
    results = {}
    for user, groups in (("ed_b", ["b"]), ("ed_a", ["a"])):
        body = {"paths": [str(folder / "shared.pdf")], "groups": groups}
        response = service.client.post("/v1/jobs/ingest", json=body, headers=service.headers(user))
        assert response.status_code == 202, response.text
        results[user] = service.wait(response.json()["id"], user)["result"]
    assert (results["ed_b"]["indexed"], results["ed_b"]["replaced"]) == (1, 0)  # b's own, new document
    assert (results["ed_a"]["indexed"], results["ed_a"]["replaced"]) == (0, 1)  # a's, replaced in place
    assert [d["doc_id"] for d in service.named("read_a", "shared.pdf")] == [doc_id]
    [b_doc] = service.named("read_b", "shared.pdf")
    assert b_doc["doc_id"] != doc_id
    assert _orphans(service.settings) == []


def test_the_command_line_takes_an_id_or_a_name_and_refuses_an_ambiguous_one(service: Service) -> None:
    from typer.testing import CliRunner

    from figvault.cli import load_commands
    from figvault.commands import app

    a_id = service.upload("ed_a", "twin.pdf", "a")["upload"]["documents"][0]["doc_id"]
    b_id = service.upload("ed_b", "twin.pdf", "b")["upload"]["documents"][0]["doc_id"]
    load_commands()
    base = ["--data-dir", str(service.settings.data_dir), "documents", "set-tags"]
    ambiguous = CliRunner().invoke(app, [*base, "twin.pdf", "--tags", "x"])
    assert ambiguous.exit_code != 0 and a_id in ambiguous.output and b_id in ambiguous.output
    by_id = CliRunner().invoke(app, [*base, b_id, "--tags", "x"])
    assert by_id.exit_code == 0, by_id.output
    assert f"twin.pdf ({b_id}, tenant default): tags (none) -> x" in by_id.stdout


def _orphans(settings: Settings) -> list[str]:
    """Every disagreement between the store and the registry: a unit whose document is not registered, a
    unit with another name or other groups than its document's record, a record whose unit count is not
    what the store holds."""
    store = MilvusUnitStore.from_settings(settings)
    records = {(r.tenant, r.doc_id): r for r in DocumentRegistry.open(settings).list()}
    held: dict[tuple[str, str], int] = {}
    problems = []
    for collection in store.list_collections():
        for row in store.query_rows(collection, "", [F_ID, F_TENANT, F_DOC_ID, F_DOC, F_GROUPS]):
            key = (row[F_TENANT], row[F_DOC_ID])
            held[key] = held.get(key, 0) + 1
            record = records.get(key)
            if record is None:
                problems.append(f"unit {row[F_ID]} of unregistered document {key}")
            elif row[F_DOC] != record.name or sorted(row[F_GROUPS]) != sorted(record.groups):
                problems.append(f"unit {row[F_ID]} of {key}: {row[F_DOC]} {row[F_GROUPS]} vs {record}")
    for key, record in records.items():
        if held.get(key, 0) != record.units:
            problems.append(f"{key} records {record.units} units, the store holds {held.get(key, 0)}")
    return problems


def test_random_uploads_replaces_and_deletes_leave_no_orphans(service: Service) -> None:
    rng = random.Random(12)
    editors = ["ed_a", "ed_b", "ed_ab", "admin", "ed_g", "admin_g"]
    for step in range(24):
        user = rng.choice(editors)
        role, groups, _tenant = USERS[user]
        if role == Role.ADMIN and rng.random() < 0.3:
            mine = service.documents(user)
            if mine:
                doc_id = rng.choice(mine)["doc_id"]
                response = service.client.delete(f"/v1/documents/{doc_id}", headers=service.headers(user))
                assert response.status_code == 200, (step, response.text)
            continue
        name = rng.choice(["same.pdf", "same.pdf", "other.pdf"])
        chosen = ",".join(sorted(rng.sample(groups, rng.randint(1, len(groups)))))
        data = BROKEN_PDF if rng.random() < 0.25 else None
        response = service.post(user, name, chosen, data)
        if response.status_code == 409:  # several documents of that name this caller may edit
            continue
        assert response.status_code == 202, (step, response.text)
        job = service.wait(response.json()["job_id"], user)
        assert job["state"] in ("succeeded", "failed"), job
        assert _orphans(service.settings) == [], (step, user, name, chosen)
    # Every document can still be reached and deleted by an admin of its tenant and groups.
    for admin in ("admin", "admin_g"):
        for doc in service.documents(admin):
            deleted = service.client.delete(f"/v1/documents/{doc['doc_id']}", headers=service.headers(admin))
            assert deleted.status_code == 200
    assert _orphans(service.settings) == []
    assert DocumentRegistry.open(service.settings).list() == []


def test_an_upload_of_another_document_s_bytes_says_so_only_to_who_may_edit_it(service: Service) -> None:
    # The warning for a renamed file passed over uploads: their new documents are placeholders, not None.
    jobs, data = JobStore.open(service.settings), service.pdf()

    def warnings_of(user: str, name: str, groups: str) -> list[str]:
        job_id = service.upload(user, name, groups, data)["upload"]["job_id"]
        return jobs.require(job_id).result["documents"][0]["warnings"]  # as `figvault jobs show` reads it

    assert warnings_of("ed_a", "budget.pdf", "a") == []
    first = service.named("read_a", "budget.pdf")[0]["doc_id"]
    assert warnings_of("ed_a", "budget-final.pdf", "a")[0].startswith(
        f"same content as document 'budget.pdf' ({first})"
    )
    assert warnings_of("ed_b", "budget-copy.pdf", "b") == []  # ed_b may not even see it


def test_two_files_of_one_name_in_one_upload_are_refused_whole(service: Service) -> None:
    """Before, both went to one document and the job replaced the first with the second ("1 new,
    1 replaced"): the first file was lost without a word (an audit, 2026-12-07)."""
    files = [("files", ("twin.pdf", service.pdf(), "application/pdf")) for _ in range(2)]
    response = service.client.post(
        "/v1/documents", files=files, data={"groups": "a"}, headers=service.headers("ed_a")
    )
    assert response.status_code == 422 and "two files named 'twin.pdf'" in response.text
    assert service.named("read_a", "twin.pdf") == []
