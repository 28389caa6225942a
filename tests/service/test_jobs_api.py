"""The jobs API: uploads answered 202 with a job, progress (JSON and server-sent events), cancel, roles,
the server-folder allow-list, and a re-encode started over HTTP while the service keeps answering.

Encoders: the tiny OpenCLIP model (CLIP channel only, plus BM25), so the service starts in a second."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from figvault.access import Role
from figvault.db.models import jobs as jobs_table
from figvault.errors import StoreError, VersionMismatchError
from figvault.pipeline import users
from figvault.pipeline.ingest_job import uploads_dir
from figvault.pipeline.jobs import GLOBAL_TENANT, JobRunner, JobState, JobStore, JobType
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, TINY_B, tiny_settings
from tests.generated_docs import damaged_pdf, figure_pdf
from tests.pipeline.engine_checks import UnreachableRay
from tests.service import upload_service
from tests.service.upload_service import serving


class Service(upload_service.Service):
    def wait(self, job_id: str, user: str = "admin", timeout_s: float = 90, poll_s: float = 0.1) -> dict:
        return super().wait(job_id, user, timeout_s, poll_s)


def service_settings(data_dir: Path, config: Path) -> Settings:
    settings = tiny_settings(data_dir, config, text=False)
    settings.extract.workers = 1
    settings.jobs.batch_size = 2
    return settings


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = service_settings(tmp_path / "data", TINY_A)
    accounts = [
        ("admin", Role.ADMIN, ["eng"], "default"),
        ("editor", Role.EDITOR, ["eng"], "default"),
        ("reader", Role.READER, ["eng"], "default"),
        ("other", Role.ADMIN, ["eng"], "globex"),
    ]
    with serving(settings, tmp_path, accounts, Service) as svc:
        yield svc


def post_upload(svc: Service, user: str, *seeds: int, groups: str = "eng", **fields: str) -> Any:
    """``POST /v1/documents`` of one generated PDF a seed (``report-SEED.pdf``), as ``user``, for ``groups``,
    with the other form ``fields`` (``doc_id``); the response, whatever its status."""
    files = [
        (
            "files",
            (f"report-{s}.pdf", figure_pdf(svc.root / f"up-{s}.pdf", seed=s).read_bytes(), "application/pdf"),
        )
        for s in seeds
    ]
    data = {"groups": groups, **fields}
    return svc.client.post("/v1/documents", files=files, data=data, headers=svc.headers(user))


def upload(svc: Service, user: str, *seeds: int) -> dict:
    response = post_upload(svc, user, *seeds)
    assert response.status_code == 202, response.text
    return response.json()


def test_upload_is_a_job_with_progress_and_events(service: Service) -> None:
    body = upload(service, "editor", 1, 2)
    job_id = body["job_id"]
    assert [d["state"] for d in body["documents"]] == ["queued", "queued"]
    assert service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).status_code == 200

    with service.client.stream(
        "GET", f"/v1/jobs/{job_id}/events", headers=service.headers("editor")
    ) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        events = []
        for block in stream.iter_text():
            events.append(block)
    text = "".join(events)
    frames = [f for f in text.split("\n\n") if f.startswith("event:")]
    kinds = [f.split("\n")[0].removeprefix("event: ") for f in frames]
    assert kinds[-1] == "end" and "progress" in kinds  # the stream ends by itself
    final = json.loads(frames[-1].split("data: ", 1)[1])
    assert final["state"] == "succeeded" and (final["done"], final["total"]) == (2, 2)
    assert final["result"]["indexed"] == 2 and final["result"]["units"] == 4

    docs = service.client.get("/v1/documents", headers=service.headers("reader")).json()["documents"]
    assert sorted(d["name"] for d in docs) == ["report-1.pdf", "report-2.pdf"]
    assert sorted(d["doc_id"] for d in docs) == sorted(d["doc_id"] for d in body["documents"])
    listed = service.client.get("/v1/jobs", headers=service.headers("editor")).json()["jobs"]
    assert [j["id"] for j in listed] == [job_id] and listed[0]["started_by"] == "editor"
    # Readers do not see jobs; another tenant's admin does not see this one.
    assert service.client.get("/v1/jobs", headers=service.headers("reader")).status_code == 403
    assert service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("other")).status_code == 404
    assert service.client.get("/v1/jobs/nope", headers=service.headers("admin")).status_code == 404


def test_the_folders_an_upload_fills_are_private(service: Service) -> None:
    """The blobs, the store, the lexical index and the logs an upload job makes are its user's alone
    (0700; tests/cli/test_data_dir_private.py has the data folder itself). Before (2026-12-05) 0755."""
    job = upload(service, "editor", 3)
    assert service.wait(job["job_id"], "editor")["state"] == "succeeded"
    data_dir = service.settings.data_dir
    entries = [data_dir, *data_dir.iterdir()]  # what is below them (Milvus Lite's own 0755) is unreachable
    assert {"blobs", "milvus", "registry.sqlite3"} <= {p.name for p in entries}
    assert [f"{p} {oct(p.stat().st_mode)}" for p in entries if p.stat().st_mode & 0o077] == []


def test_cancel_queued_job(service: Service) -> None:
    runner: JobRunner = service.client.app.state.jobs
    runner.stop()  # nothing runs: the upload waits in the queue
    body = upload(service, "editor", 3)
    job_id = body["job_id"]
    assert (
        service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers("reader")).status_code == 403
    )
    cancelled = service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers("editor"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    again = service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers("editor"))
    assert again.status_code == 409
    assert JobStore.open(service.settings).require(job_id).state == JobState.CANCELLED


def documents_named(svc: Service, name: str) -> list[dict]:
    listed = svc.client.get("/v1/documents", headers=svc.headers("admin")).json()["documents"]
    return [d for d in listed if d["name"] == name]


def test_cancelling_a_queued_upload_leaves_no_document_and_no_files(service: Service) -> None:
    """The placeholder registered when the upload was accepted goes with the job, and so do its files."""
    service.client.app.state.jobs.stop()  # nothing runs: the upload waits in the queue
    job_id = upload(service, "editor", 4)["job_id"]
    assert [d["state"] for d in documents_named(service, "report-4.pdf")] == ["pending"]
    cancelled = service.client.post(f"/v1/jobs/{job_id}/cancel", headers=service.headers("editor"))
    assert cancelled.json()["state"] == "cancelled"
    assert documents_named(service, "report-4.pdf") == []
    assert not uploads_dir(service.settings, job_id).exists()


def test_cancelling_a_queued_replacement_keeps_the_document(service: Service) -> None:
    first = upload(service, "editor", 5)
    assert service.wait(first["job_id"])["state"] == "succeeded"
    before = documents_named(service, "report-5.pdf")
    assert [d["state"] for d in before] == ["indexed"] and before[0]["units"] > 0
    service.client.app.state.jobs.stop()
    again = upload(service, "editor", 5)
    assert again["documents"][0]["doc_id"] == before[0]["doc_id"]  # it replaces that document
    service.client.post(f"/v1/jobs/{again['job_id']}/cancel", headers=service.headers("editor"))
    after = documents_named(service, "report-5.pdf")
    assert [(d["doc_id"], d["state"], d["units"]) for d in after] == [
        (before[0]["doc_id"], "indexed", before[0]["units"])
    ]
    assert not uploads_dir(service.settings, again["job_id"]).exists()


def upload_orphaned_at_last_attempt(service: Service, n: int) -> tuple[JobStore, str]:
    """An upload job left running by a dead process that has died jobs.max_attempts - 1 times before: the
    next orphan sweep gives it up. The service's own runner is stopped so that only the sweep under test
    touches it."""
    runner: JobRunner = service.client.app.state.jobs
    runner.stop()
    job_id = upload(service, "editor", n)["job_id"]
    jobs = JobStore.open(service.settings)
    jobs.claim(job_id, "this-host-is-gone:1:1")
    deaths = {"deaths": service.settings.jobs.max_attempts - 1}
    with jobs.db.write() as conn:
        conn.execute(
            update(jobs_table)
            .where(jobs_table.c.id == job_id)
            .values(heartbeat_at=0, checkpoint_json=json.dumps(deaths))
        )
    return jobs, job_id


def test_an_upload_job_given_up_after_crashes_leaves_no_pending_document(service: Service) -> None:
    """A job whose process died jobs.max_attempts times is failed without running its handler again: its
    new documents' placeholders and its staged files go, as when any ingest job ends."""
    _, job_id = upload_orphaned_at_last_attempt(service, 6)
    restarted = JobRunner(service.settings)
    restarted.start()  # what a restarted service does first
    restarted.stop()
    assert service.wait(job_id)["state"] == "failed"
    assert documents_named(service, "report-6.pdf") == []
    assert not uploads_dir(service.settings, job_id).exists()


def test_figvault_reencode_cleans_up_an_upload_job_it_gives_up(service: Service) -> None:
    """`figvault reencode` also ends orphaned jobs before it starts (Milvus Lite: while no service runs);
    an upload job it gives up on leaves no pending document and no staged files, as with the runner."""
    from figvault.commands.reencode import _resumable_job

    jobs, job_id = upload_orphaned_at_last_attempt(service, 7)
    assert _resumable_job(jobs, service.settings) is None
    assert service.wait(job_id)["state"] == "failed"
    assert documents_named(service, "report-7.pdf") == []
    assert not uploads_dir(service.settings, job_id).exists()


def test_an_upload_that_fails_shows_failed_with_its_reason(service: Service) -> None:
    """A file that is a PDF by its header but cannot be read: the job fails, the document says why."""
    broken = ("files", ("broken.pdf", b"%PDF-1.7\n" + b"\x00 not a pdf body" * 64, "application/pdf"))
    response = service.client.post(
        "/v1/documents", files=[broken], data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert response.status_code == 202, response.text
    job = service.wait(response.json()["job_id"])
    assert job["state"] == "failed" and job["errors"]
    docs = documents_named(service, "broken.pdf")
    assert [d["state"] for d in docs] == ["failed"] and docs[0]["error"]
    assert not uploads_dir(service.settings, job["id"]).exists()


def test_folder_ingest_allow_list(service: Service, tmp_path: Path) -> None:
    allowed = Path(service.settings.service.ingest_allow_dirs[0])
    figure_pdf(allowed / "inside.pdf", seed=5)
    outside = figure_pdf(tmp_path / "outside.pdf", seed=6)
    (allowed / "sneaky").symlink_to(outside.parent, target_is_directory=True)
    post = service.client.post
    editor = service.headers("editor")
    for path, code in ((outside, 403), (allowed / "sneaky" / "outside.pdf", 403), (Path("inside.pdf"), 422)):
        response = post("/v1/jobs/ingest", json={"paths": [str(path)], "groups": ["eng"]}, headers=editor)
        assert response.status_code == code, (path, response.text)
    reader = service.headers("reader")
    assert (
        post("/v1/jobs/ingest", json={"paths": [str(allowed)], "groups": ["eng"]}, headers=reader).status_code
        == 403
    )
    (allowed / "empty" / "notes").mkdir(parents=True)  # a job that "succeeded" with nothing in it
    (allowed / "empty" / "notes" / "minutes.docx").write_bytes(b"PK")
    empty = post(
        "/v1/jobs/ingest", json={"paths": [str(allowed / "empty")], "groups": ["eng"]}, headers=editor
    )
    assert empty.status_code == 422 and "no PDF or PPTX file in" in empty.text, empty.text
    accepted = post("/v1/jobs/ingest", json={"paths": [str(allowed)], "groups": ["eng"]}, headers=editor)
    assert accepted.status_code == 202 and accepted.headers["location"].endswith(accepted.json()["id"])
    final = service.wait(accepted.json()["id"], "editor")
    assert final["state"] == "succeeded" and final["result"]["indexed"] == 1


def test_an_accepted_jobs_location_follows_the_root_path(service: Service) -> None:
    """Behind a proxy at ``service.root_path`` (uvicorn's root path in the scope) the 202's ``Location``
    named ``/v1/jobs/ID`` at the host's root before (2026-12-05), outside the proxy's prefix."""
    figure_pdf(Path(service.settings.service.ingest_allow_dirs[0]) / "inside.pdf", seed=5)
    body = {"paths": [service.settings.service.ingest_allow_dirs[0]], "groups": ["eng"]}
    proxied = TestClient(service.client.app, root_path="/figvault")  # the app already started above
    accepted = proxied.post("/v1/jobs/ingest", json=body, headers=service.headers("editor"))
    assert accepted.status_code == 202, accepted.text
    assert accepted.headers["location"] == f"/figvault/v1/jobs/{accepted.json()['id']}"
    assert service.wait(accepted.json()["id"], "editor")["state"] == "succeeded"


def test_folder_ingest_per_tenant_folders(service: Service, tmp_path: Path) -> None:
    """``{tenant}`` in service.ingest_allow_dirs gives each tenant its own folder: an admin of globex may
    ingest its folder and not default's (a shared list let every tenant's editors read every file)."""
    drop = tmp_path / "drop"
    for seed, tenant in enumerate(("default", "globex")):
        (drop / tenant).mkdir(parents=True)
        figure_pdf(drop / tenant / "own.pdf", seed=20 + seed)
    (drop / "globex" / "to-default").symlink_to(drop / "default", target_is_directory=True)
    service.settings.service.ingest_allow_dirs = [str(drop / "{tenant}")]
    other = service.headers("other")  # admin of tenant globex

    def ingest(path: Path) -> Any:
        return service.client.post(
            "/v1/jobs/ingest", json={"paths": [str(path)], "groups": ["eng"]}, headers=other
        )

    for path in (drop / "default", drop / "default" / "own.pdf", drop / "globex" / "to-default" / "own.pdf"):
        assert ingest(path).status_code == 403, path
    accepted = ingest(drop / "globex")
    assert accepted.status_code == 202, accepted.text
    final = service.wait(accepted.json()["id"], "other")
    assert final["state"] == "succeeded" and final["result"]["indexed"] == 1, final  # not to-default's


def test_server_file_names_are_shown_cleaned_and_their_paths_kept(service: Service) -> None:
    """A server folder's file names were shown as they are: a bidi override made ``x\u202egpj.pdf`` read
    as ``xfdp.jpg`` in the page and the JSON, a zero-width space hid in a name, and a name with a line
    break or a control character could not be ingested at all (the job's error then carried the raw
    name). Uploads' names were already cleaned; server files' names now are, by the same definition
    (``display_name``), everywhere they are shown, and the stored path stays exact."""
    from figvault.pipeline.registry import DocumentRegistry, connect
    from figvault.text_checks import display_name

    allowed = Path(service.settings.service.ingest_allow_dirs[0]) / "names"
    allowed.mkdir()
    raw = ["x\u202egpj.pdf", "zero\u200bwidth.pdf", "line\nbreak.pdf", "bell\x07.pdf"]
    for seed, name in enumerate(raw):
        figure_pdf(allowed / name, seed=40 + seed)
    (allowed / "bad\n\u202ename.pdf").write_bytes(b"%PDF-1.4 not really")
    editor = service.headers("editor")

    def ingest() -> dict:
        job = service.client.post(
            "/v1/jobs/ingest", json={"paths": [str(allowed)], "groups": ["eng"]}, headers=editor
        )
        assert job.status_code == 202, job.text
        return service.wait(job.json()["id"], "editor")

    first = ingest()
    assert first["result"]["indexed"] == 4, first
    assert [e["item"] for e in first["errors"]] == ["bad_name.pdf"]
    shown = {display_name(name) for name in raw}
    assert shown == {"xgpj.pdf", "zerowidth.pdf", "line_break.pdf", "bell_.pdf"}
    listed = service.client.get("/v1/documents", headers=editor).json()["documents"]
    assert {d["name"] for d in listed} >= shown
    hits = service.client.post("/v1/search", json={"query": "chart", "top_k": 50}, headers=editor).json()
    docs = {h["doc"] for h in hits["results"]}
    assert docs and docs <= {d["name"] for d in listed}
    for hit in hits["results"][:3]:
        assert service.client.get(f"/v1/units/{hit['unit_id']}", headers=editor).json()["doc"] in shown
    records = DocumentRegistry(connect(service.settings)).list(tenant="default")
    assert {Path(r.source).name for r in records if r.name in shown} == set(raw)
    again = ingest()  # the same files find their documents again by the shown name
    assert (again["result"]["indexed"], again["result"]["skipped"]) == (0, 4), again


TOKEN_SECRET = "token-upload-secret-of-at-least-32-bytes"
TOKEN_CLAIMS = {"sub": "jo", "groups": ["eng"], "roles": ["editor"]}


@contextmanager
def token_editor_service(tmp_path: Path, exp: int) -> Iterator[Service]:
    """A service whose caller ``jo`` is an editor of group eng by a JWT (``TOKEN_SECRET``) expiring at
    ``exp``."""
    import jwt

    from figvault.service.app import create_app

    settings = service_settings(tmp_path / "data", TINY_A)
    settings.service.jwt_secret = TOKEN_SECRET
    token = jwt.encode({**TOKEN_CLAIMS, "exp": exp}, TOKEN_SECRET)
    with TestClient(create_app(settings)) as client:
        yield Service(settings=settings, client=client, root=tmp_path, keys={"jo": token})


def test_a_token_editors_upload_job_runs_checked_by_its_token(tmp_path: Path) -> None:
    """An upload by a JWT editor records the token (kind, expiry, key digest, never the key) and the job,
    which checks it before it starts and between batches, runs to its end while the token is valid."""
    exp = int(time.time()) + 600
    with token_editor_service(tmp_path, exp) as svc:
        job_id = upload(svc, "jo", 41)["job_id"]
        final = svc.wait(job_id, "jo")
    assert final["state"] == "succeeded" and final["result"]["indexed"] == 1, final
    recorded = JobStore.open(svc.settings).get(job_id).params["principal"]
    assert recorded["user"] == "jwt:jo" and recorded["credential"]["kind"] == "jwt"
    assert recorded["credential"]["expires"] == exp and TOKEN_SECRET not in json.dumps(recorded)


def test_a_caller_holds_at_most_max_event_streams(service: Service) -> None:
    """Each open event stream reads its job every EVENT_POLL_S in the thread pool for as long as the job
    lives, so an editor opening streams on a queued job (past any per-second rate limit) tied up the
    service's threads. One stream past MAX_EVENT_STREAMS is answered 429; another caller still streams."""
    import contextlib

    from figvault.service.api.routes import jobs as jobs_routes

    runner: JobRunner = service.client.app.state.jobs
    runner.stop()  # the job stays queued: its streams stay open until it is cancelled
    job_id = upload(service, "editor", 1)["job_id"]
    store = JobStore.open(service.settings)
    fallback = threading.Timer(30, store.request_cancel, args=(job_id,))
    fallback.start()
    url, editor = f"/v1/jobs/{job_id}/events", service.headers("editor")
    try:
        with contextlib.ExitStack() as streams:
            for _ in range(jobs_routes.MAX_EVENT_STREAMS):
                assert (
                    streams.enter_context(service.client.stream("GET", url, headers=editor)).status_code
                    == 200
                )
            refused = service.client.get(url, headers=editor)
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, refused.text
            admin = streams.enter_context(service.client.stream("GET", url, headers=service.headers("admin")))
            assert admin.status_code == 200
            store.request_cancel(job_id)
    finally:
        fallback.cancel()


def test_store_wide_reencode_is_the_operators_unless_allowed(service: Service) -> None:
    """A re-encode changes every tenant's store: by default no tenant's admin starts or cancels one over
    HTTP (the operator runs ``figvault reencode``); ``service.tenant_admin_reencode`` opens both."""
    admin, other = service.headers("admin"), service.headers("other")
    for headers in (admin, other):
        refused = service.client.post("/v1/jobs/reencode", headers=headers)
        assert refused.status_code == 403 and "figvault reencode" in refused.json()["detail"]
    job = JobStore.open(service.settings).create(
        JobType.REENCODE, {"source": "a", "target": "b"}, started_by="cli", tenant=GLOBAL_TENANT
    )
    for headers in (admin, other):
        refused = service.client.post(f"/v1/jobs/{job.id}/cancel", headers=headers)
        assert refused.status_code == 403 and "figvault reencode" in refused.json()["detail"]
    service.settings.service.tenant_admin_reencode = True
    # Allowed: the route goes on to its own answer (nothing to do: the store serves the configured model).
    assert service.client.post("/v1/jobs/reencode", headers=admin).status_code == 409
    assert service.client.post(f"/v1/jobs/{job.id}/cancel", headers=admin).status_code in (200, 409)


def test_reencode_over_http_while_searching(service: Service) -> None:
    service.settings.service.tenant_admin_reencode = True  # this test is about the re-encode over HTTP
    service.wait(upload(service, "editor", 7, 8)["job_id"], "editor")
    admin = service.headers("admin")
    status = service.client.get("/v1/status", headers=admin).json()
    assert status["version_matches"] and status["units"] == 4
    assert service.client.post("/v1/jobs/reencode", headers=admin).status_code == 409  # nothing to do
    assert service.client.get("/v1/status", headers=service.headers("editor")).status_code == 403

    # The operator changes the CLIP model; the running service is told through its settings object.
    new = service_settings(service.settings.data_dir, TINY_B)
    for section in ("clip", "text", "lexical", "jobs"):
        setattr(service.settings, section, getattr(new, section))
    assert service.client.post("/v1/jobs/reencode", headers=service.headers("editor")).status_code == 403
    started = service.client.post("/v1/jobs/reencode", headers=admin)
    assert started.status_code == 202, started.text
    job_id = started.json()["id"]
    versions = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        # Paced: every test client has one address, and an unpaced loop met its 200/second budget (429).
        time.sleep(0.05)
        answer = service.client.post(
            "/v1/search", json={"query": "report 7"}, headers=service.headers("reader")
        )
        assert answer.status_code == 200, answer.text
        versions.add(answer.json()["embedding_version"])
        job = service.client.get(f"/v1/jobs/{job_id}", headers=admin).json()
        if job["state"] != "queued" and job["state"] != "running":
            break
    assert job["state"] == "succeeded", job
    status = service.client.get("/v1/status", headers=admin).json()
    assert status["version_matches"] and status["units"] == 4 and len(status["collections"]) == 2
    assert (
        status["serving_embedding_version"]
        == status["embedding_version"]
        == status["configured_embedding_version"]
    )
    after = service.client.post(
        "/v1/search", json={"query": "report 7"}, headers=service.headers("reader")
    ).json()
    assert after["embedding_version"] == status["embedding_version"]
    assert versions <= {status["embedding_version"], job["result"]["source_version"]}
    # The re-encode job is the admins' (whole store), not in an editor's list.
    editor_jobs = service.client.get("/v1/jobs", headers=service.headers("editor")).json()["jobs"]
    assert JobType.REENCODE.value not in {j["type"] for j in editor_jobs}


def test_reencode_on_start_and_resume_of_orphans(tmp_path: Path) -> None:
    from figvault.pipeline.jobs import run_here
    from figvault.service.app import create_app

    old = service_settings(tmp_path / "data", TINY_A)
    jobs = JobStore.open(old)
    params = {"paths": [str(figure_pdf(tmp_path / "a.pdf", seed=11))], "groups": ["eng"], "tenant": "default"}
    assert run_here(old, jobs.create(JobType.INGEST, params, started_by="t", tenant="default")).state == (
        JobState.SUCCEEDED
    )
    # A job a dead service left running: resumed by the next start.
    orphan = jobs.create(
        JobType.INGEST,
        {**params, "paths": [str(figure_pdf(tmp_path / "b.pdf", seed=12))]},
        started_by="t",
        tenant="default",
    )
    jobs.claim(orphan.id, "this-host-is-gone:1:1")
    with jobs.db.write() as conn:
        conn.execute(update(jobs_table).where(jobs_table.c.id == orphan.id).values(heartbeat_at=0))

    new = service_settings(tmp_path / "data", TINY_B)
    new.service.reencode_on_start = True
    with TestClient(create_app(new)):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            watched = [jobs.require(orphan.id), *jobs.list(job_type=JobType.REENCODE)]
            if len(watched) == 2 and all(j.finished for j in watched):
                break
            time.sleep(0.2)
    resumed = jobs.require(orphan.id)
    assert resumed.state == JobState.SUCCEEDED and resumed.attempts == 2
    [reencode] = jobs.list(job_type=JobType.REENCODE)
    assert reencode.state == JobState.SUCCEEDED and reencode.tenant == GLOBAL_TENANT, reencode.message
    assert reencode.started_by == "reencode_on_start"
    # The two jobs run at once: the resumed ingest writes its 2 units before the switch (the re-encode's
    # catch-up copies them: 4) or after it, straight into the new version (2). Either way none is lost.
    assert reencode.result["units"] in (2, 4), reencode.result
    store = MilvusUnitStore.from_settings(new)
    served = store.served_collection()
    assert served == reencode.result["target"]
    assert store.count(served) == 4
    assert {
        row["embedding_version"]
        for row in store.get_rows(served, 'tenant == "default"', fields=["embedding_version"])
    } == {reencode.result["target_version"]}


def add_user(svc: Service, name: str, role: Role, groups: list[str], tenant: str = "default") -> None:
    conn = sqlite3.connect(svc.settings.registry_path)
    try:
        svc.keys[name] = users.add_user(conn, name, role, groups, tenant)[1]
    finally:
        conn.close()


def test_jobs_are_scoped_like_their_documents(service: Service) -> None:
    """An editor sees the jobs they started and those whose groups they share; an admin every job of the
    tenant. A job the caller may not see answers 404 everywhere, as one that does not exist."""
    service.client.app.state.jobs.stop()  # the jobs stay queued: nothing to wait for
    add_user(service, "ops_editor", Role.EDITOR, ["ops"])
    add_user(service, "ops_admin", Role.ADMIN, ["ops"])
    add_user(service, "eng_peer", Role.EDITOR, ["eng", "ops"])
    eng_job = upload(service, "editor", 21)["job_id"]
    ops_files = [("files", ("ops.pdf", figure_pdf(service.root / "ops.pdf", seed=22).read_bytes(), "x/y"))]
    ops = service.client.post(
        "/v1/documents", files=ops_files, data={"groups": "ops"}, headers=service.headers("ops_editor")
    )
    assert ops.status_code == 202, ops.text
    ops_job = ops.json()["job_id"]

    def listed(user: str) -> set[str]:
        response = service.client.get("/v1/jobs", headers=service.headers(user))
        assert response.status_code == 200, response.text
        return {j["id"] for j in response.json()["jobs"]}

    assert listed("editor") == {eng_job}
    assert listed("ops_editor") == {ops_job}
    assert listed("eng_peer") == listed("admin") == listed("ops_admin") == {eng_job, ops_job}
    assert listed("other") == set()
    for user, job_id in (("ops_editor", eng_job), ("editor", ops_job), ("other", eng_job)):
        headers = service.headers(user)
        for method, path in (
            ("GET", f"/v1/jobs/{job_id}"),
            ("GET", f"/v1/jobs/{job_id}/events"),
            ("POST", f"/v1/jobs/{job_id}/cancel"),
        ):
            response = service.client.request(method, path, headers=headers)
            missing = service.client.request(method, path.replace(job_id, "0" * 12), headers=headers)
            assert response.status_code == missing.status_code == 404, (user, path, response.text)
            assert response.json() == missing.json()
    # A peer who sees the job may not cancel it; the tenant's admin may, whatever its groups.
    peer = service.client.post(f"/v1/jobs/{eng_job}/cancel", headers=service.headers("eng_peer"))
    assert peer.status_code == 403
    cancelled = service.client.post(f"/v1/jobs/{eng_job}/cancel", headers=service.headers("ops_admin"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"


def test_list_is_not_cut_short_by_jobs_the_caller_cannot_see(service: Service) -> None:
    store = JobStore.open(service.settings)
    mine = store.create(JobType.INGEST, {"groups": ["eng"]}, started_by="editor", tenant="default")
    for n in range(120):  # newer than mine, none visible to the editor
        store.create(JobType.INGEST, {"groups": ["ops"]}, started_by=f"u{n}", tenant="default")
    response = service.client.get("/v1/jobs", params={"limit": 5}, headers=service.headers("editor"))
    assert [j["id"] for j in response.json()["jobs"]] == [mine.id]


def test_older_jobs_are_listed_page_by_page(service: Service) -> None:
    """The list stopped at the newest 500 jobs: older ones were out of reach. ``next_before`` names the
    ``before`` that lists the next page; a job the caller may not see is no cursor (404, as a missing id)."""
    service.client.app.state.jobs.stop()  # the jobs stay queued: nothing to wait for
    store = JobStore.open(service.settings)
    made = [
        store.create(JobType.INGEST, {"groups": ["eng"]}, started_by="editor", tenant="default").id
        for _ in range(7)
    ]
    hidden = store.create(JobType.INGEST, {"groups": ["ops"]}, started_by="u0", tenant="default").id
    # Created in one instant (a batch queued at once, a coarse clock): pages must not repeat or skip any.
    with store.db.write() as conn:
        tied = update(jobs_table).where(jobs_table.c.id.in_([*made, hidden]))
        conn.execute(tied.values(created_at=time.time() + 60))
    made.sort(reverse=True)  # ties are listed by id, newest first
    headers = service.headers("editor")
    everything = service.client.get("/v1/jobs", params={"limit": 500}, headers=headers).json()
    assert everything["next_before"] is None
    pages: list[list[str]] = []
    before: str | None = None
    while len(pages) < 100:
        params: dict[str, object] = {"limit": 3, **({"before": before} if before else {})}
        body = service.client.get("/v1/jobs", params=params, headers=headers).json()
        pages.append([j["id"] for j in body["jobs"]])
        before = body["next_before"]
        if before is None:
            break
    listed = [job_id for page in pages for job_id in page]
    assert listed == [j["id"] for j in everything["jobs"]]
    assert listed[:7] == made and hidden not in listed
    assert all(len(page) == 3 for page in pages[:-1]) and len(pages) > 2
    for cursor in (hidden, "0" * 12):
        response = service.client.get("/v1/jobs", params={"before": cursor}, headers=headers)
        assert response.status_code == 404 and response.json()["detail"] == "job not found"


def test_listing_jobs_reads_only_the_callers_rows(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """GET /v1/jobs parsed every job row of the tenant (JSON params, errors, result) to find the few the
    caller may see: 300 newer jobs of other groups cost 300 parses a call. The database now selects them."""
    service.client.app.state.jobs.stop()  # only the route reads jobs meanwhile
    store = JobStore.open(service.settings)
    mine = store.create(JobType.INGEST, {"groups": ["eng"]}, started_by="editor", tenant="default")
    for n in range(300):
        store.create(JobType.INGEST, {"groups": ["ops"]}, started_by=f"u{n}", tenant="default")
    parsed: list[str] = []
    parse = JobStore._job
    monkeypatch.setattr(JobStore, "_job", staticmethod(lambda row: parsed.append(row.id) or parse(row)))
    response = service.client.get("/v1/jobs", params={"limit": 5}, headers=service.headers("editor"))
    assert [j["id"] for j in response.json()["jobs"]] == [mine.id]
    assert parsed == [mine.id]


def test_the_sql_rule_is_job_visible(service: Service) -> None:
    """``visible_clause`` selects exactly the jobs ``job_visible`` allows, for random callers and jobs."""
    import random

    from figvault.access import Principal
    from figvault.pipeline.jobs import job_visible

    rng = random.Random(11)
    store = JobStore.open(service.settings)
    tenants, groups, names = ("default", "globex"), ("eng", "ops", "hr"), ("ana", "bo", "cy")
    for _ in range(60):
        params = {"groups": rng.sample(groups, rng.randint(0, 2))} if rng.random() < 0.8 else {}
        kind = JobType.REENCODE if rng.random() < 0.1 else JobType.INGEST
        tenant = GLOBAL_TENANT if kind == JobType.REENCODE else rng.choice(tenants)
        store.create(kind, params, started_by=rng.choice(names), tenant=tenant)
    every = store.list(limit=1000)
    for _ in range(40):
        caller = Principal(
            user=rng.choice(names),
            tenant=rng.choice(tenants),
            groups=rng.sample(groups, rng.randint(0, 2)),
            roles=[rng.choice(list(Role))],
        )
        expected = [j.id for j in every if job_visible(j, caller)]
        assert [j.id for j in store.list(limit=1000, visible_to=caller)] == expected, caller


def test_store_wide_job_and_status_tell_no_tenant_about_another(service: Service) -> None:
    service.wait(upload(service, "editor", 23)["job_id"], "editor")
    admin, other = service.headers("admin"), service.headers("other")
    assert service.client.get("/v1/status", headers=admin).json()["units"] == 2
    assert service.client.get("/v1/status", headers=other).json()["units"] == 0  # globex has none

    store = JobStore.open(service.settings)
    job = store.create(
        JobType.REENCODE, {"source": "a", "target": "b"}, started_by="admin", tenant=GLOBAL_TENANT
    )
    store.progress(job.id, phase="copy", done=3, total=12, rate=1.5, eta_s=6.0)
    store.add_error(job.id, "report-23.pdf p1 (u1)", "boom")
    store.finish(
        job.id,
        JobState.FAILED,
        "1 unit(s) could not be encoded (first: u1: boom)",
        {"source": "a", "target": "b", "units": 12, "encoded": 3, "source_version": "v1"},
    )
    for headers in (admin, other):
        seen = service.client.get(f"/v1/jobs/{job.id}", headers=headers).json()
        assert seen["withheld"] and seen["state"] == "failed" and seen["progress"] == 0.2
        assert (seen["done"], seen["total"], seen["rate"], seen["error_count"]) == (0, 0, 0.0, 0)
        assert seen["errors"] == [] and seen["started_by"] == ""
        assert "report-23" not in seen["message"] and "u1" not in seen["message"]
        assert seen["result"] == {"source": "a", "target": "b", "source_version": "v1"}
    editor_view = service.client.get(f"/v1/jobs/{job.id}", headers=service.headers("editor"))
    assert editor_view.status_code == 404


def test_a_store_wide_jobs_progress_does_not_tell_the_stores_unit_count(service: Service) -> None:
    """A re-encode reports after each batch of 64 units: its progress to 4 places (64 / 5,000 = 0.0128,
    64 / 5,100 = 0.0125) and its ETA told any tenant's admin how many units every tenant holds."""
    store = JobStore.open(service.settings)
    seen = []
    for total in (5000, 5100):
        job = store.create(JobType.REENCODE, {}, started_by="admin", tenant=GLOBAL_TENANT)
        store.progress(job.id, phase="copy", done=64, total=total, rate=64.0, eta_s=(total - 64) / 64)
        answer = service.client.get(f"/v1/jobs/{job.id}", headers=service.headers("other")).json()
        seen.append((answer["progress"], answer["eta_s"], answer["done"], answer["total"]))
    assert seen[0] == seen[1] == (0.0, None, 0, 0)


def test_event_stream_ends_when_the_key_is_revoked(service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """An open progress stream re-checks its caller's credential: a revoked key ends it (``unauthorized``)
    while the job is still queued. (A timer cancels the job, so a stream that never re-checks ends too.)"""
    import threading

    from figvault.service.api.routes import jobs as jobs_routes

    monkeypatch.setattr(jobs_routes, "REAUTH_S", 0.2, raising=False)
    runner: JobRunner = service.client.app.state.jobs
    runner.stop()  # the job stays queued: only the revocation can end the stream
    job_id = upload(service, "editor", 1)["job_id"]
    store = JobStore.open(service.settings)
    fallback = threading.Timer(20, store.request_cancel, args=(job_id,))
    fallback.start()
    try:
        with service.client.stream(
            "GET", f"/v1/jobs/{job_id}/events", headers=service.headers("editor")
        ) as stream:
            blocks = []
            for block in stream.iter_text():
                if not blocks:
                    assert users.revoke_user(store.db, "editor")
                blocks.append(block)
    finally:
        fallback.cancel()
    frames = [f for f in "".join(blocks).split("\n\n") if f.startswith("event: end")]
    end = json.loads(frames[-1].split("data: ", 1)[1])
    assert end["state"] == "unauthorized" and "sign in again" in end["message"]  # the page shows it


def test_an_event_stream_shows_the_job_as_its_caller_may_see_it_now(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream re-checks its caller every ``REAUTH_S``, and ended it when the caller could no longer see
    the job, but kept showing the job as the caller could see it when the stream opened: an editor still in
    one of the job's groups who left another was named, at the job's end, a pruned document of the group it
    had left. The stream now shows the job to the caller as it is now."""
    from figvault.service.api.routes import jobs as jobs_routes

    monkeypatch.setattr(jobs_routes, "REAUTH_S", 0.2, raising=False)
    add_user(service, "mover", Role.EDITOR, ["eng", "sales"])
    service.client.app.state.jobs.stop()  # the job stays queued until the test finishes it
    store = JobStore.open(service.settings)
    job = store.create(
        JobType.INGEST, {"tenant": "default", "groups": ["eng"]}, started_by="admin", tenant="default"
    )
    pruned = {"doc_id": "doc-sales", "name": "sales-plan.pdf", "source": "/srv/x.pdf", "groups": ["sales"]}

    def leave_sales_then_finish() -> None:
        conn = sqlite3.connect(service.settings.registry_path)
        with conn:
            conn.execute("UPDATE users SET groups_json = ? WHERE name = ?", ('["eng"]', "mover"))
        conn.close()
        time.sleep(1.5)  # a few re-checks
        store.finish(job.id, JobState.SUCCEEDED, "done", {"pruned": [pruned], "gone": []})

    changer = threading.Thread(target=leave_sales_then_finish)
    fallback = threading.Timer(20, store.request_cancel, args=(job.id,))
    fallback.start()
    blocks: list[str] = []
    try:
        with service.client.stream(
            "GET", f"/v1/jobs/{job.id}/events", headers=service.headers("mover")
        ) as stream:
            for block in stream.iter_text():
                if not blocks:
                    changer.start()
                blocks.append(block)
    finally:
        fallback.cancel()
        changer.join(timeout=30)
    frames = [f for f in "".join(blocks).split("\n\n") if f.startswith("event: end")]
    end = json.loads(frames[-1].split("data: ", 1)[1])
    assert end["state"] == "succeeded", end
    assert end["pruned"] == [], end  # sales-plan.pdf is of the group mover left
    shown = service.client.get(f"/v1/jobs/{job.id}", headers=service.headers("mover")).json()
    assert shown["pruned"] == []


def test_an_unreachable_ray_cluster_is_not_named_to_http_callers(
    service: Service, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The cluster's address is the operator's configuration: the editor who started the upload (and the
    tenant's admin) read a generic reason; the server log and the job record (``figvault jobs show``) keep
    the address and what to check."""
    from figvault.pipeline import ray_engine

    monkeypatch.setattr(ray_engine, "require_ray", UnreachableRay)
    service.settings.ingest.engine = "ray"
    service.settings.ingest.ray_address = "ray://ray-head.corp.internal:10001"
    job_id = upload(service, "editor", 51)["job_id"]
    final = service.wait(job_id, "editor")
    assert final["state"] == "failed" and "Ray cluster" in final["message"]
    for user in ("editor", "admin"):
        shown = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers(user)).text
        assert "ray-head.corp.internal" not in shown and "detail" not in json.loads(shown)["result"]
    record = JobStore.open(service.settings).require(job_id)
    assert "ray://ray-head.corp.internal:10001" in record.result["detail"]
    assert "ray-head.corp.internal" in caplog.text


@pytest.mark.parametrize(
    ("failure", "shown"),
    [
        (
            RuntimeError("connection to server at db.corp.internal (10.20.30.40), port 5432 failed"),
            "an internal error (RuntimeError); the server log has the details",
        ),
        (
            StoreError("cannot open the Milvus store at http://10.20.30.40:19530: deadline exceeded"),
            "the vector store is unavailable or failed; try again later",
        ),
        (  # a StoreError too, but no retry cures it: it says who must do what
            VersionMismatchError(
                "store serves v1a2b, configured v3c4d (clip.pretrained /mnt/10.20.30.40/clip.bin -> openai):"
                " run `figvault reencode`, or restore the encoder settings"
            ),
            "the encoder settings changed since the store was built; an admin must re-encode"
            " (figvault reencode)",
        ),
    ],
)
def test_a_job_failing_on_the_servers_own_error_does_not_show_its_text(
    service: Service, monkeypatch: pytest.MonkeyPatch, failure: Exception, shown: str
) -> None:
    """A job that fails on an exception that is not figvault's (an outage, a bug), or on figvault's error
    about the store, whose text names hosts, server paths and collections: callers read its type or a fixed
    sentence, as a search's 503 does; the record keeps the text for ``figvault jobs show``."""
    from figvault.pipeline import jobs as jobs_module

    def outage(ctx: Any) -> dict[str, Any]:
        raise failure

    monkeypatch.setitem(jobs_module.HANDLERS, JobType.INGEST, lambda: outage)
    job_id = upload(service, "editor", 52)["job_id"]
    final = service.wait(job_id, "editor")
    assert final["state"] == "failed" and final["message"] == shown
    assert "10.20.30.40" not in json.dumps(final)
    assert "10.20.30.40" in JobStore.open(service.settings).require(job_id).result["detail"]


def test_an_upload_whose_token_expired_in_the_queue_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A token editor's upload that waited in the queue past the token's ``exp`` fails closed; its
    message (which the page shows under the job) says what happened and what to do, and names no secret."""
    from figvault.pipeline import credentials
    from figvault.pipeline.jobs import run_here

    exp = int(time.time()) + 600
    with token_editor_service(tmp_path, exp) as svc:
        svc.client.app.state.jobs.stop()  # the upload waits in the queue
        job_id = upload(svc, "jo", 43)["job_id"]
        monkeypatch.setattr(credentials, "time", SimpleNamespace(time=lambda: exp + 60.0))
        run_here(svc.settings, JobStore.open(svc.settings).require(job_id))
        final = svc.client.get(f"/v1/jobs/{job_id}", headers=svc.headers("jo")).json()
    message = final["message"]
    assert final["state"] == "failed" and "the token that queued this job has expired" in message
    assert "before it ingested anything" in message
    assert f"sign in again and retry it (POST /v1/jobs/{job_id}/retry)" in message
    assert TOKEN_SECRET not in json.dumps(final) and "detail" not in final["result"]


def test_an_upload_stopped_by_its_lapsed_token_keeps_its_files_for_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bad input loses nothing, and a lapsed token is not even bad input: the upload's files and its new
    document were deleted with the job, and the user had to find and send them again. Now they are kept
    for ``jobs.keep_for_retry_h``; the starter, signed in again, retries the job and it indexes the same
    document. Nobody else may retry it, and once the time is up the files go."""
    import jwt

    from figvault.pipeline import credentials
    from figvault.pipeline.jobs import AWAITING_RETRY, INPUTS_REMOVED, remove_unretried, run_here

    exp = int(time.time()) + 600
    with token_editor_service(tmp_path, exp) as svc:
        svc.client.app.state.jobs.stop()  # the uploads wait in the queue
        sent = [upload(svc, "jo", seed) for seed in (44, 45)]
        monkeypatch.setattr(credentials, "time", SimpleNamespace(time=lambda: exp + 60.0))
        store = JobStore.open(svc.settings)
        for up in sent:
            assert run_here(svc.settings, store.require(up["job_id"])).state == JobState.FAILED
        job_id, doc_id = sent[0]["job_id"], sent[0]["documents"][0]["doc_id"]
        assert store.require(job_id).phase == AWAITING_RETRY
        assert any(uploads_dir(svc.settings, job_id).iterdir())
        pending = svc.client.get(f"/v1/documents/{doc_id}", headers=svc.headers("jo")).json()
        assert pending["state"] == "pending"
        svc.keys["jo"] = jwt.encode({**TOKEN_CLAIMS, "exp": exp + 3600}, TOKEN_SECRET)  # signed in again
        svc.keys["peer"] = jwt.encode({**TOKEN_CLAIMS, "sub": "peer", "exp": exp + 3600}, TOKEN_SECRET)
        refused = svc.client.post(f"/v1/jobs/{job_id}/retry", headers=svc.headers("peer"))
        assert refused.status_code == 403, refused.text
        retried = svc.client.post(f"/v1/jobs/{job_id}/retry", headers=svc.headers("jo"))
        assert retried.status_code == 202 and retried.json()["state"] == "queued", retried.text
        final = run_here(svc.settings, store.require(job_id))
        assert final.state == JobState.SUCCEEDED and final.result["indexed"] == 1, final
        indexed = svc.client.get(f"/v1/documents/{doc_id}", headers=svc.headers("jo")).json()
        assert indexed["state"] == "indexed" and indexed["units"] > 0
        again = svc.client.post(f"/v1/jobs/{job_id}/retry", headers=svc.headers("jo"))
        assert again.status_code == 409  # not waiting for a retry
        # Nobody retries the other one in time: its files and its placeholder document go.
        other = store.require(sent[1]["job_id"])
        keep_s = svc.settings.jobs.keep_for_retry_h * 3600
        assert remove_unretried(svc.settings, store, now=time.time()) == []
        assert remove_unretried(svc.settings, store, now=other.finished_at + keep_s) == [other.id]
        assert store.require(other.id).phase == INPUTS_REMOVED
        assert not uploads_dir(svc.settings, other.id).exists()
        gone = svc.client.get(f"/v1/documents/{sent[1]['documents'][0]['doc_id']}", headers=svc.headers("jo"))
        assert gone.status_code == 404
        late = svc.client.post(f"/v1/jobs/{other.id}/retry", headers=svc.headers("jo"))
        assert late.status_code == 409
        # Its starter may also give one up at once: cancel removes what it kept.
        fresh, svc.keys["jo"] = svc.keys["jo"], jwt.encode({**TOKEN_CLAIMS, "exp": exp}, TOKEN_SECRET)
        third = upload(svc, "jo", 46)  # with a token that lapses before its job runs
        svc.keys["jo"] = fresh
        assert run_here(svc.settings, store.require(third["job_id"])).phase == AWAITING_RETRY
        dropped = svc.client.post(f"/v1/jobs/{third['job_id']}/cancel", headers=svc.headers("jo"))
        assert dropped.status_code == 200 and dropped.json()["phase"] == INPUTS_REMOVED, dropped.text
        assert not uploads_dir(svc.settings, third["job_id"]).exists()


def test_a_caller_has_at_most_max_pending_ingests_waiting(service: Service) -> None:
    """Each upload waits on the server's disk until its job ends, and jobs run one at a time: past
    ``service.max_pending_ingests`` queued or running ingest jobs of one caller, the next upload or
    server-folder ingest is answered 429 with nothing of it kept; other callers are not held back."""
    service.settings.service.max_pending_ingests = 2
    service.client.app.state.jobs.stop()  # nothing runs: the uploads wait in the queue
    upload(service, "editor", 61)
    upload(service, "editor", 62)
    refused = post_upload(service, "editor", 63)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1, refused.text
    assert documents_named(service, "report-63.pdf") == []
    allowed = Path(service.settings.service.ingest_allow_dirs[0])
    figure_pdf(allowed / "inside.pdf", seed=64)
    folder = {"paths": [str(allowed)], "groups": ["eng"]}
    assert (
        service.client.post("/v1/jobs/ingest", json=folder, headers=service.headers("editor")).status_code
        == 429
    )
    assert upload(service, "admin", 65)["job_id"]  # another caller's budget


def test_uploads_sent_at_once_do_not_pass_the_bound_together(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bound was counted before the files were spooled and the job created: 30 uploads sent at once
    by one editor were all counted at 0, and 15 of them passed a bound of 10 on one replica (a replicas
    audit, 2026-12-06). Here the spool is slowed so that every request is counted before any job exists."""
    from concurrent.futures import ThreadPoolExecutor

    from figvault.service import upload_jobs

    service.settings.service.max_pending_ingests = 2
    service.client.app.state.jobs.stop()  # nothing runs: the uploads wait in the queue
    spool = upload_jobs._spool_uploads

    def slow_spool(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.3)
        return spool(*args, **kwargs)

    monkeypatch.setattr(upload_jobs, "_spool_uploads", slow_spool)
    with ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(lambda seed: post_upload(service, "editor", seed).status_code, range(81, 87)))
    assert codes == [202, 202, 429, 429, 429, 429], codes


def give_name_again(svc: Service, name: str, role: Role, groups: list[str]) -> None:
    """Revoke ``name`` and give the name to a new account (``users add`` after ``users revoke``)."""
    conn = sqlite3.connect(svc.settings.registry_path)
    try:
        assert users.revoke_user(conn, name)
        svc.keys[name] = users.add_user(conn, name, role, groups, "default")[1]
    finally:
        conn.close()


def test_a_name_given_again_is_another_account(service: Service) -> None:
    """Jobs were bound to their starter's user name: a user removed and added again under the same name
    (another person, another account) saw the old account's jobs, could cancel them, and was held back by
    their pending-ingest bound. They are bound to the account now (``users.account_id``); its name stays
    what people read."""
    service.settings.service.max_pending_ingests = 1
    service.client.app.state.jobs.stop()  # the upload waits in the queue
    job_id = upload(service, "editor", 73)["job_id"]
    give_name_again(service, "editor", Role.EDITOR, ["sales"])
    heir = service.headers("editor")
    assert service.client.get(f"/v1/jobs/{job_id}", headers=heir).status_code == 404
    assert job_id not in [j["id"] for j in service.client.get("/v1/jobs", headers=heir).json()["jobs"]]
    assert service.client.post(f"/v1/jobs/{job_id}/cancel", headers=heir).status_code == 404
    pdf = figure_pdf(service.root / "up-74.pdf", seed=74).read_bytes()
    own = service.client.post(
        "/v1/documents",
        files=[("files", ("r74.pdf", pdf, "application/pdf"))],
        data={"groups": "sales"},
        headers=heir,
    )
    assert own.status_code == 202, own.text  # the old account's pending upload is not this one's
    give_name_again(service, "editor", Role.EDITOR, ["eng"])
    peer = service.headers("editor")  # shares the job's group: sees it, as any peer does
    shown = service.client.get(f"/v1/jobs/{job_id}", headers=peer)
    assert shown.status_code == 200 and shown.json()["started_by"] == "editor"
    refused = service.client.post(f"/v1/jobs/{job_id}/cancel", headers=peer)
    assert refused.status_code == 403, refused.text
    assert JobStore.open(service.settings).require(job_id).state == JobState.QUEUED


def test_a_retry_does_not_bring_back_a_document_deleted_while_it_waited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload waiting for its retry keeps its new document's placeholder. An admin deleted that
    document; the starter's retry then ingested the kept file under the same id, and the deleted document
    was back, indexed. A deletion wins now: the job writes nothing for a document that is gone."""
    import jwt

    from figvault.pipeline import credentials
    from figvault.pipeline.ingest_job import DELETED_MEANWHILE
    from figvault.pipeline.jobs import run_here
    from figvault.pipeline.registry import DocumentRegistry

    exp = int(time.time()) + 600
    with token_editor_service(tmp_path, exp) as svc:
        svc.client.app.state.jobs.stop()  # the upload waits in the queue
        conn = sqlite3.connect(svc.settings.registry_path)
        svc.keys["admin"] = users.add_user(conn, "admin", Role.ADMIN, ["eng"], "default")[1]
        conn.close()
        sent = upload(svc, "jo", 47)
        job_id, doc_id = sent["job_id"], sent["documents"][0]["doc_id"]
        with monkeypatch.context() as later:
            later.setattr(credentials, "time", SimpleNamespace(time=lambda: exp + 60.0))
            store = JobStore.open(svc.settings)
            assert run_here(svc.settings, store.require(job_id)).phase == "awaiting retry"
        deleted = svc.client.delete(f"/v1/documents/{doc_id}", headers=svc.headers("admin"))
        assert deleted.status_code == 200, deleted.text
        svc.keys["jo"] = jwt.encode({**TOKEN_CLAIMS, "exp": exp + 3600}, TOKEN_SECRET)  # signed in again
        retried = svc.client.post(f"/v1/jobs/{job_id}/retry", headers=svc.headers("jo"))
        assert retried.status_code == 202, retried.text
        final = run_here(svc.settings, store.require(job_id))
        assert final.state == JobState.FAILED and [e.error for e in final.errors] == [DELETED_MEANWHILE]
        assert DocumentRegistry(store.db).get("default", doc_id) is None
        gone = svc.client.get(f"/v1/documents/{doc_id}", headers=svc.headers("admin"))
        assert gone.status_code == 404, gone.text
        assert not uploads_dir(svc.settings, job_id).exists()  # its kept file went with the job


def test_deleting_a_document_removes_its_files_but_not_a_copys(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deleted document's unit images, kept original and page renders stayed on disk for good. They go
    with it now, except what another document still uses: blobs and originals are stored once per bytes,
    so a copy of the file in another tenant keeps them until it is deleted too."""
    from figvault.pipeline import document_files
    from figvault.pipeline.document_files import TRASH_AREA
    from figvault.pipeline.page_images import CACHE_AREA, document_scope
    from figvault.pipeline.sources import SourceStore
    from figvault.pipeline.store_lock import store_write_lock
    from figvault.storage import BlobStore, Storage

    pdf = figure_pdf(service.root / "shared.pdf", seed=81).read_bytes()
    sent = [
        service.client.post(
            "/v1/documents",
            files=[("files", ("shared.pdf", pdf, "application/pdf"))],
            data={"groups": "eng"},
            headers=service.headers(user),
        ).json()
        for user in ("editor", "other")  # the same bytes, in another tenant
    ]
    mine, theirs = sent
    for sent, user in ((mine, "editor"), (theirs, "other")):
        assert service.wait(sent["job_id"], user)["state"] == "succeeded"
    blobs, sources = BlobStore.from_settings(service.settings), SourceStore.from_settings(service.settings)
    cache = Storage.from_settings(service.settings).area(CACHE_AREA)
    stored = blobs.keys()
    kept = sources.storage.list("*/*")
    assert stored and kept
    doc, copy = mine["documents"][0]["doc_id"], theirs["documents"][0]["doc_id"]
    for doc_id, user in ((doc, "admin"), (copy, "other")):
        page = service.client.get(f"/v1/documents/{doc_id}/pages/1/image", headers=service.headers(user))
        assert page.status_code == 200, page.text
    renders = {
        d: cache.list(f"doc/{document_scope(t, d)}/*/*/*") for d, t in ((doc, "default"), (copy, "globex"))
    }
    assert all(renders.values())

    gone = service.client.delete(f"/v1/documents/{doc}", headers=service.headers("admin"))
    assert gone.status_code == 200, gone.text
    assert cache.list(f"doc/{document_scope('default', doc)}/*/*/*") == []
    assert cache.list(f"doc/{document_scope('globex', copy)}/*/*/*") == renders[copy]
    assert blobs.keys() == stored and sources.storage.list("*/*") == kept  # the copy still uses them
    copy_page = service.client.get(f"/v1/documents/{copy}/pages/1/image", headers=service.headers("other"))
    assert copy_page.status_code == 200

    # An ingest writing (the store lock held shared) does not hold up a deletion: the job runner removes
    # the files once the store is free.
    service.client.app.state.jobs.stop()  # its rounds would sweep too: this test sweeps itself
    trash = Storage.from_settings(service.settings).area(TRASH_AREA)
    monkeypatch.setattr(document_files, "LOCK_WAIT_S", 0.1)
    with store_write_lock(service.settings, exclusive=False):
        last = service.client.delete(f"/v1/documents/{copy}", headers=service.headers("other"))
        assert last.status_code == 200, last.text
        assert blobs.keys() == stored and len(trash.list("*.json")) == 1
        assert document_files.sweep(service.settings) == 0  # still busy: the note waits
    assert document_files.sweep(service.settings) == 1
    assert blobs.keys() == [] and sources.storage.list("*/*") == [] and trash.list("*.json") == []


def test_a_jobs_errors_name_no_document_its_peers_may_not_see(service: Service) -> None:
    """Everyone who shares one group of a job reads its errors. A file whose name several documents carry
    that its starter may replace failed with "2 documents you can reach are named ...: give the document id
    (doc_..., doc_...)": ids, names and a count of documents of the starter's other groups, read by a
    peer of only the job's group. The error says what to do without them now."""
    conn = sqlite3.connect(service.settings.registry_path)
    service.keys["boss"] = users.add_user(conn, "boss", Role.EDITOR, ["eng", "sales"], "default")[1]
    conn.close()
    allowed = Path(service.settings.service.ingest_allow_dirs[0])
    for folder, seed in (("q1", 91), ("q2", 92), ("later", 93)):
        (allowed / folder).mkdir()
        figure_pdf(allowed / folder / "q3.pdf", seed=seed)

    def ingest(paths: list[str], groups: list[str]) -> dict:
        body = {"paths": [str(allowed / p) for p in paths], "groups": groups}
        sent = service.client.post("/v1/jobs/ingest", json=body, headers=service.headers("boss"))
        assert sent.status_code == 202, sent.text
        return service.wait(sent.json()["id"], "boss")

    assert ingest(["q1", "q2"], ["sales"])["state"] == "succeeded"  # two documents named q3.pdf
    hidden = [
        d["doc_id"]
        for d in service.client.get("/v1/documents", headers=service.headers("boss")).json()["documents"]
    ]
    assert len(hidden) == 2
    for folder in ("q1", "q2"):  # their files gone (moved away): a third q3.pdf may be either document
        (allowed / folder / "q3.pdf").unlink()  # (one still in place belongs to its own file: 2026-12-07)
    job = ingest(["later"], ["eng"])
    seen = service.client.get(f"/v1/jobs/{job['id']}", headers=service.headers("editor"))
    assert seen.status_code == 200 and seen.json()["errors"], seen.text  # a peer of group eng reads it
    text = json.dumps(seen.json())
    assert not [doc_id for doc_id in hidden if doc_id in text], text
    assert "2 documents" not in text and "give the id of the one to replace" in text


def test_a_jobs_answer_carries_its_documents_warnings(service: Service) -> None:
    """Per-document warnings (a damaged PDF, the same content as another document) were shown by the CLI
    and `figvault jobs show` only: an uploader saw "succeeded" and never learnt that pages may be missing.
    The starter sees each with its file's name; another who sees the job sees them by document id, without
    the file names and without the note that names another document."""
    from figvault.ingest.pdf import DAMAGED_PDF

    first = upload(service, "editor", 31)["job_id"]
    assert service.wait(first, "editor")["state"] == "succeeded"
    whole = figure_pdf(service.root / "whole.pdf", seed=32).read_bytes()
    files = [
        ("files", ("cut.pdf", damaged_pdf(whole), "application/pdf")),
        ("files", ("again.pdf", (service.root / "up-31.pdf").read_bytes(), "application/pdf")),
    ]
    response = service.client.post(
        "/v1/documents", files=files, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    ids = {d["name"]: d["doc_id"] for d in response.json()["documents"]}
    assert service.wait(job_id, "editor")["state"] == "succeeded"

    mine = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
    assert {"document": "cut.pdf", "doc_id": ids["cut.pdf"], "warning": DAMAGED_PDF} in mine["warnings"]
    [copy] = [w for w in mine["warnings"] if w["document"] == "again.pdf"]
    assert copy["doc_id"] == ids["again.pdf"] and copy["warning"].startswith("same content as document")
    assert "report-31.pdf" in copy["warning"] and mine["warning_count"] == len(mine["warnings"]) == 2

    theirs = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("admin")).json()
    cut = [w for w in mine["warnings"] if w["document"] == "cut.pdf"]  # names no file: shown as they are
    assert theirs["warnings"] == [{**w, "document": ""} for w in cut]
    listed = service.client.get("/v1/jobs", headers=service.headers("admin")).json()["jobs"]
    assert next(j for j in listed if j["id"] == job_id)["warnings"] == theirs["warnings"]


def test_a_starters_copy_note_names_only_a_document_it_may_see_now(service: Service) -> None:
    """The note that a file has the same content as another document names that document (its name and
    id), one its starter could replace when the job ran. After an admin gave it groups the starter is not
    in, the starter still read both (2026-12-05); the note is now judged by the document it names, as the
    job's other fields are by theirs."""
    first = upload(service, "editor", 41)
    assert service.wait(first["job_id"], "editor")["state"] == "succeeded"
    [original] = [d["doc_id"] for d in first["documents"]]
    again = [("files", ("again.pdf", (service.root / "up-41.pdf").read_bytes(), "application/pdf"))]
    response = service.client.post(
        "/v1/documents", files=again, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert service.wait(job_id, "editor")["state"] == "succeeded"

    def notes() -> list[str]:
        job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
        assert job["warning_count"] == len(job["warnings"])
        return [w["warning"] for w in job["warnings"] if original in w["warning"]]

    [note] = notes()
    assert note.startswith("same content as document 'report-41.pdf'"), note
    moved = service.client.patch(
        f"/v1/documents/{original}", json={"groups": ["sales"]}, headers=service.headers("admin")
    )
    assert moved.status_code == 200, moved.text
    assert notes() == []
    job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
    assert "report-41.pdf" not in str(job) and original not in str(job)


def test_a_jobs_warnings_are_shown_for_the_documents_its_viewer_may_see_now(service: Service) -> None:
    """Whoever shares a group of a job read the warnings of all its documents, also of one an admin has
    since given groups the reader is not in (its id, and what went wrong with it), while ``gone`` judged
    each document as it is now. The warnings are now judged the same way; the starter and admins read
    them all."""
    from figvault.ingest.pdf import DAMAGED_PDF

    add_user(service, "peer", Role.EDITOR, ["eng"])
    whole = figure_pdf(service.root / "whole.pdf", seed=33).read_bytes()
    files = [("files", ("cut.pdf", damaged_pdf(whole), "application/pdf"))]
    response = service.client.post(
        "/v1/documents", files=files, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    [doc_id] = [d["doc_id"] for d in response.json()["documents"]]
    assert service.wait(job_id, "editor")["state"] == "succeeded"

    def warnings(user: str) -> tuple[set[str], int]:
        """The documents the job's warnings are about, and how many warnings ``user`` is told of."""
        job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers(user)).json()
        listed = service.client.get("/v1/jobs", headers=service.headers(user)).json()["jobs"]
        assert next(j for j in listed if j["id"] == job_id)["warnings"] == job["warnings"]
        assert job["warning_count"] == len(job["warnings"])
        return {w["doc_id"] for w in job["warnings"]}, job["warning_count"]

    everyone = warnings("admin")
    assert everyone[0] == {doc_id} and everyone[1] >= 1
    before = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("peer")).json()
    assert DAMAGED_PDF in {w["warning"] for w in before["warnings"]}
    assert warnings("peer") == everyone
    moved = service.client.patch(
        f"/v1/documents/{doc_id}", json={"groups": ["sales"]}, headers=service.headers("admin")
    )
    assert moved.status_code == 200, moved.text
    assert service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("peer")).status_code == 200
    assert warnings("peer") == (set(), 0)  # the job is still eng's; the document no longer is
    assert warnings("editor") == everyone and warnings("admin") == everyone


def test_a_jobs_errors_are_shown_for_the_documents_its_viewer_may_see_now(service: Service) -> None:
    """The warnings of a job are judged by the documents its viewer may see now; its errors were not: a
    peer of the job's group kept reading the name of a document that failed, and why, after an admin had
    given it groups the peer is not in. Errors of a document are now judged the same way; the starter and
    admins read them all."""
    add_user(service, "peer", Role.EDITOR, ["eng"])
    whole = figure_pdf(service.root / "whole.pdf", seed=34).read_bytes()
    files = [
        ("files", ("board-merger.pdf", b"%PDF-1.7\n" + b"\x00" * 4096, "application/pdf")),
        ("files", ("fine.pdf", whole, "application/pdf")),
    ]
    sent = service.client.post(
        "/v1/documents", files=files, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["job_id"]
    ids = {d["name"]: d["doc_id"] for d in sent.json()["documents"]}
    service.wait(job_id, "editor")

    def errors(user: str) -> tuple[list[str], int]:
        job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers(user)).json()
        listed = service.client.get("/v1/jobs", headers=service.headers(user)).json()["jobs"]
        assert next(j for j in listed if j["id"] == job_id)["errors"] == job["errors"]
        return [e["item"] for e in job["errors"]], job["error_count"]

    assert errors("peer") == errors("editor") == (["board-merger.pdf"], 1)
    moved = service.client.patch(
        f"/v1/documents/{ids['board-merger.pdf']}",
        json={"groups": ["sales"]},
        headers=service.headers("admin"),
    )
    assert moved.status_code == 200, moved.text
    peer = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("peer"))
    assert peer.status_code == 200 and "board-merger" not in peer.text, peer.text
    assert errors("peer") == ([], 0)  # the job is still eng's; the failed document no longer is
    assert errors("editor") == errors("admin") == (["board-merger.pdf"], 1)
    # Its message and counts said "1 failed" to the peer: they count what the viewer is shown, as errors.
    for user, failed in (("peer", 0), ("editor", 1), ("admin", 1)):
        job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers(user)).json()
        listed = service.client.get("/v1/jobs", headers=service.headers(user)).json()["jobs"]
        assert next(j for j in listed if j["id"] == job_id)["message"] == job["message"]
        assert f"1 new, 0 replaced, 0 unchanged, {failed} failed;" in job["message"], (user, job)
        assert job["result"]["failed"] == failed, (user, job["result"])


def test_a_folder_jobs_errors_name_its_files_not_server_paths(service: Service, tmp_path: Path) -> None:
    """Every editor of a job's groups reads its errors. A server-folder ingest named a file it refused (a
    link out of the allowed folders, a pipe) by its whole server path; a file is named by its file name,
    as everywhere else in a job (``item_label``)."""
    import os

    allowed = Path(service.settings.service.ingest_allow_dirs[0]) / "batch"
    allowed.mkdir()
    figure_pdf(allowed / "in.pdf", seed=8)
    os.mkfifo(allowed / "pipe.pdf")
    (allowed / "link.pdf").symlink_to(figure_pdf(tmp_path / "secret-place.pdf", seed=9))
    body = {"paths": [str(allowed)], "groups": ["eng"]}
    sent = service.client.post("/v1/jobs/ingest", json=body, headers=service.headers("editor"))
    assert sent.status_code == 202, sent.text
    service.wait(sent.json()["id"], "editor")
    shown = service.client.get(f"/v1/jobs/{sent.json()['id']}", headers=service.headers("admin")).json()
    assert sorted(e["item"] for e in shown["errors"]) == ["link.pdf", "pipe.pdf"], shown["errors"]
    assert str(service.root) not in json.dumps(shown)


def test_a_folder_jobs_gone_documents_are_shown_by_name_to_who_may_see_them(service: Service) -> None:
    """A folder ingested again names the documents whose files are gone. The command line said so, but
    over HTTP the job answer had no such list (only the result's counts): an editor re-ingesting a server
    folder never learnt which documents went stale. Now ``gone`` lists them by id and name, never the
    server path, each only to a caller who may see that document now."""
    conn = sqlite3.connect(service.settings.registry_path)
    service.keys["boss"] = users.add_user(conn, "boss", Role.EDITOR, ["eng", "sales"], "default")[1]
    conn.close()
    folder = Path(service.settings.service.ingest_allow_dirs[0]) / "share"
    folder.mkdir()
    for name, seed in (("a.pdf", 61), ("b.pdf", 62)):
        figure_pdf(folder / name, seed=seed)

    def ingest() -> str:
        body = {"paths": [str(folder)], "groups": ["eng"]}
        sent = service.client.post("/v1/jobs/ingest", json=body, headers=service.headers("boss"))
        assert sent.status_code == 202, sent.text
        assert service.wait(sent.json()["id"], "boss")["state"] == "succeeded"
        return sent.json()["id"]

    ingest()
    ids = {
        d["name"]: d["doc_id"] for d in documents_named(service, "a.pdf") + documents_named(service, "b.pdf")
    }
    moved = service.client.patch(
        f"/v1/documents/{ids['b.pdf']}", json={"groups": ["sales"]}, headers=service.headers("admin")
    )
    assert moved.status_code == 200, moved.text
    for name in ("a.pdf", "b.pdf"):
        (folder / name).unlink()
    figure_pdf(folder / "c.pdf", seed=63)
    job_id = ingest()

    def gone_for(user: str) -> list[dict]:
        shown = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers(user)).json()
        assert str(folder) not in json.dumps(shown)
        return shown["gone"]

    both = [{"doc_id": ids["a.pdf"], "name": "a.pdf"}, {"doc_id": ids["b.pdf"], "name": "b.pdf"}]
    assert gone_for("boss") == both and gone_for("admin") == both
    assert gone_for("editor") == both[:1]  # b.pdf is sales' only: not named to an editor of eng
    listed = service.client.get("/v1/jobs", headers=service.headers("editor")).json()["jobs"]
    assert [j["gone"] for j in listed if j["id"] == job_id] == [both[:1]]
    deleted = service.client.delete(f"/v1/documents/{ids['a.pdf']}", headers=service.headers("admin"))
    assert deleted.status_code == 200, deleted.text
    assert gone_for("boss") == both[1:]  # a deleted document is no longer named


def test_an_admin_deletes_a_document_of_groups_it_is_not_in(service: Service) -> None:
    """The Admin tab lists every document of the tenant and an admin may change any one's groups, but
    ``DELETE /v1/documents/{id}`` answered 404 for a document whose groups the admin does not share (one
    ingested without groups by mistake, visible to no one, the very one to remove): the admin had to give
    it their own group first. Now an admin deletes any document of its own tenant; never another's."""
    job = upload(service, "editor", 71)
    assert service.wait(job["job_id"], "editor")["state"] == "succeeded"
    doc_id = job["documents"][0]["doc_id"]
    moved = service.client.patch(
        f"/v1/documents/{doc_id}", json={"groups": ["sales"]}, headers=service.headers("admin")
    )
    assert moved.status_code == 200, moved.text
    foreign = service.client.delete(f"/v1/documents/{doc_id}", headers=service.headers("other"))
    assert foreign.status_code == 404  # an admin of another tenant
    deleted = service.client.delete(f"/v1/documents/{doc_id}", headers=service.headers("admin"))
    assert deleted.status_code == 200, deleted.text
    listed = service.client.get("/v1/admin/documents", headers=service.headers("admin")).json()["documents"]
    assert doc_id not in {d["doc_id"] for d in listed}


def test_an_admin_prunes_a_folders_gone_documents_over_http(service: Service) -> None:
    """`figvault ingest FOLDER --prune` had no HTTP counterpart: a server-folder job could only list the
    documents whose files are gone. ``prune`` (admins: it deletes documents) removes them, each audited as
    a delete, and the job answers them in ``pruned``; an editor asking for it is refused."""
    folder = Path(service.settings.service.ingest_allow_dirs[0]) / "pruned"
    folder.mkdir()
    for name, seed in (("a.pdf", 64), ("b.pdf", 65)):
        figure_pdf(folder / name, seed=seed)

    def ingest(user: str, prune: bool) -> Any:
        body = {"paths": [str(folder)], "groups": ["eng"], "prune": prune}
        return service.client.post("/v1/jobs/ingest", json=body, headers=service.headers(user))

    first = ingest("admin", False)
    assert first.status_code == 202, first.text
    assert service.wait(first.json()["id"])["state"] == "succeeded"
    [gone_id] = [d["doc_id"] for d in documents_named(service, "a.pdf")]
    (folder / "a.pdf").unlink()
    refused = ingest("editor", True)
    assert refused.status_code == 403 and "admins only" in refused.text

    pruning = ingest("admin", True)
    assert pruning.status_code == 202, pruning.text
    done = service.wait(pruning.json()["id"])
    assert done["state"] == "succeeded", done
    assert done["pruned"] == [{"doc_id": gone_id, "name": "a.pdf"}] and done["gone"] == []
    assert documents_named(service, "a.pdf") == [] and len(documents_named(service, "b.pdf")) == 1
    entries = service.client.get("/v1/audit?limit=20", headers=service.headers("admin")).json()["entries"]
    deletes = [e for e in entries if e["action"] == "delete"]
    assert [(e["user"], e["detail"]["doc_id"]) for e in deletes] == [("admin", gone_id)]


def test_a_folder_job_skips_a_broken_file_it_failed_before_unless_asked(service: Service) -> None:
    """A server-folder job read a broken file again on every run; now the unchanged file is skipped and
    counted in ``failed_before`` (pipeline/failures.py), and ``retry_failed`` reads it again."""
    folder = Path(service.settings.service.ingest_allow_dirs[0]) / "broken-again"
    folder.mkdir()
    (folder / "broken.pdf").write_bytes(b"%PDF-1.7\nthis is not a pdf body")
    figure_pdf(folder / "fine.pdf", seed=66)

    def run(**extra: bool) -> dict[str, Any]:
        body = {"paths": [str(folder)], "groups": ["eng"], **extra}
        sent = service.client.post("/v1/jobs/ingest", json=body, headers=service.headers("admin"))
        assert sent.status_code == 202, sent.text
        return service.wait(sent.json()["id"])

    counts = [
        (job["result"]["failed"], job["result"]["failed_before"], job["error_count"])
        for job in (run(), run(), run(retry_failed=True))
    ]
    assert counts == [(1, 0, 1), (0, 1, 0), (1, 0, 1)]


def test_a_jobs_counts_are_those_of_the_documents_its_viewer_may_see_now(service: Service) -> None:
    """A job's errors, warnings and failed count are judged by the documents its viewer may see now; its
    other counts were not: after an admin gave one of two uploaded documents groups a peer is not in, the
    peer still read "2 new; N units" and a total of 2 (so that the job wrote a document now hidden from it,
    and its size). Every count is now that of the documents the viewer may see: the peer reads the job as
    one of the visible file."""
    add_user(service, "peer-counts", Role.EDITOR, ["eng"])
    files = [
        (
            "files",
            (
                f"{name}.pdf",
                figure_pdf(service.root / f"{name}.pdf", seed=seed).read_bytes(),
                "application/pdf",
            ),
        )
        for name, seed in (("plan-a", 35), ("plan-b", 36))
    ] + [("files", ("broken.pdf", b"%PDF-1.7\n" + b"\x00" * 4096, "application/pdf"))]
    sent = service.client.post(
        "/v1/documents", files=files, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert sent.status_code == 202, sent.text
    job_id = sent.json()["job_id"]
    ids = {d["name"]: d["doc_id"] for d in sent.json()["documents"]}
    whole = service.wait(job_id, "editor")
    assert (whole["total"], whole["result"]["indexed"], whole["result"]["failed"]) == (3, 2, 1), whole
    for hidden in ("plan-b.pdf", "broken.pdf"):
        moved = service.client.patch(
            f"/v1/documents/{ids[hidden]}", json={"groups": ["sales"]}, headers=service.headers("admin")
        )
        assert moved.status_code == 200, moved.text
    seen = service.client.get(f"/v1/documents/{ids['plan-a.pdf']}", headers=service.headers("peer-counts"))
    assert seen.status_code == 200, seen.text
    units = seen.json()["units"]
    job = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("peer-counts")).json()
    listed = service.client.get("/v1/jobs", headers=service.headers("peer-counts")).json()["jobs"]
    assert next(j for j in listed if j["id"] == job_id) == job
    result = job["result"]
    assert (job["total"], job["done"], job["progress"]) == (1, 1, 1.0), job
    assert (result["indexed"], result["failed"], result["units"]) == (1, 0, units), result
    assert job["message"].startswith(f"1 new, 0 replaced, 0 unchanged, 0 failed; {units} units from"), job
    assert set(result) == set(whole["result"]), (result, whole["result"])
    starter = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
    assert (starter["total"], starter["result"]["indexed"], starter["result"]["units"]) == (
        3,
        2,
        whole["result"]["units"],
    )


def test_a_failed_jobs_errors_go_with_documents_a_peer_may_no_longer_see(service: Service) -> None:
    """A job that failed as a whole (every document did) or was cancelled kept no document outcomes, so
    nothing of it could be judged per document: a peer of the job read a document's name and why it failed
    after an admin had moved it to a group the peer is not in, and it counted. It keeps them now."""
    add_user(service, "peer", Role.EDITOR, ["eng"])
    files = [
        ("files", ("board-merger.pdf", b"%PDF-1.7\n" + b"\x00" * 4096, "application/pdf")),
        ("files", ("other-broken.pdf", b"%PDF-1.7\n" + b"\x01" * 4096, "application/pdf")),
    ]
    sent = service.client.post(
        "/v1/documents", files=files, data={"groups": "eng"}, headers=service.headers("editor")
    )
    assert sent.status_code == 202, sent.text
    job_id, ids = sent.json()["job_id"], {d["name"]: d["doc_id"] for d in sent.json()["documents"]}
    assert service.wait(job_id, "editor")["state"] == "failed"
    moved = service.client.patch(
        f"/v1/documents/{ids['board-merger.pdf']}",
        json={"groups": ["sales"]},
        headers=service.headers("admin"),
    )
    assert moved.status_code == 200, moved.text
    peer = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("peer")).json()
    assert "board-merger" not in json.dumps(peer), peer
    assert [e["item"] for e in peer["errors"]] == ["other-broken.pdf"]
    assert (peer["done"], peer["total"], peer["error_count"]) == (1, 1, 1)
    assert peer["message"] == "every document failed; see the job's errors"
    starter = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
    assert sorted(e["item"] for e in starter["errors"]) == ["board-merger.pdf", "other-broken.pdf"]
    assert (starter["total"], starter["error_count"]) == (2, 2)


@pytest.mark.parametrize("taken", ["regrouped", "deleted"])
def test_an_upload_whose_document_was_regrouped_away_reads_as_one_deleted(
    service: Service, taken: str
) -> None:
    """An editor's replacement was accepted; while its job waited, an admin gave the document groups the
    editor is not in, or deleted it. The job said `no document 'ID' you may replace` for the first and
    `... deleted meanwhile` for the second: the starter learnt that a document it may no longer see (404
    either way) still exists. Both now read the same, and nothing is written."""
    from figvault.pipeline.jobs import run_here
    from figvault.pipeline.registry import DELETED_MEANWHILE, DocumentRegistry

    first = upload(service, "editor", 61)
    assert service.wait(first["job_id"], "editor")["state"] == "succeeded"
    doc_id = first["documents"][0]["doc_id"]
    service.client.app.state.jobs.stop()  # the replacement waits in the queue
    sent = post_upload(service, "editor", 62, doc_id=doc_id)
    assert sent.status_code == 202, sent.text
    job_id, path = sent.json()["job_id"], f"/v1/documents/{doc_id}"
    if taken == "regrouped":
        answer = service.client.patch(path, json={"groups": ["ops"]}, headers=service.headers("admin"))
    else:
        answer = service.client.delete(path, headers=service.headers("admin"))
    assert answer.status_code == 200, answer.text
    before = DocumentRegistry.open(service.settings).get("default", doc_id)
    final = run_here(service.settings, JobStore.open(service.settings).require(job_id))
    assert final.state == JobState.FAILED and [e.error for e in final.errors] == [DELETED_MEANWHILE]
    shown = service.client.get(f"/v1/jobs/{job_id}", headers=service.headers("editor")).json()
    assert [e["error"] for e in shown["errors"]] == [DELETED_MEANWHILE] and doc_id not in json.dumps(shown)
    assert DocumentRegistry.open(service.settings).get("default", doc_id) == before  # untouched


def test_an_admin_uploads_for_a_group_it_is_not_in(service: Service) -> None:
    """An upload's new document is its own, whatever groups it was sent for: the rule that fails a
    replacement whose document was regrouped away from its uploader must not fail an admin's upload for
    a group it is not in (it did, for a moment: every document failed)."""
    add_user(service, "hr_admin", Role.ADMIN, ["hr"])
    sent = post_upload(service, "hr_admin", 63, groups="public")
    assert sent.status_code == 202, sent.text
    final = service.wait(sent.json()["job_id"], "hr_admin")
    assert final["state"] == "succeeded" and final["result"]["indexed"] == 1, final
