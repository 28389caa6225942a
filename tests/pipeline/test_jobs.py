"""Job records, the runner, and the ingest job (offline profile: MiniLM + BM25, no CLIP).

Every test runs against both registry back ends (SQLite and a real PostgreSQL: tests/fixtures_registry.py).
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from figvault.errors import FigvaultError
from figvault.ingest import ocr
from figvault.pipeline import jobs as jobs_module
from figvault.pipeline.doc_identity import find_document
from figvault.pipeline.ingest_job import KEY_USER_STOPPED, check_allowed, queue_upload_job, uploads_dir
from figvault.pipeline.jobs import (
    DETAIL,
    JobContext,
    JobRunner,
    JobState,
    JobStore,
    JobType,
    owner_alive,
    run_here,
    this_owner,
)
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import Settings
from tests.generated_docs import figure_pdf

DEAD_OWNER = "nohost-that-exists:999999:1"


@pytest.fixture
def settings(offline_settings: Settings, registry_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    offline_settings.extract.workers = 1  # one-page PDFs: no process pool
    if registry_url.startswith("postgresql"):  # SQLite: the data folder's own registry file
        offline_settings.registry.url = registry_url
        monkeypatch.setenv("FIGVAULT_REGISTRY__URL", registry_url)  # the CLI commands the tests run
    return offline_settings


@pytest.fixture
def store(settings: Settings) -> JobStore:
    return JobStore.open(settings)


def slow_counting_handler(ctx: JobContext) -> dict[str, Any]:
    """A handler doing real (if trivial) work in steps, checking for cancel between steps."""
    total = int(ctx.params.get("steps", 50))
    start = int(ctx.checkpoint.get("done", 0))
    for done in range(start, total):
        ctx.check_cancel()
        time.sleep(0.02)
        ctx.progress("count", done + 1, total, checkpoint={"done": done + 1})
    return {"summary": f"counted to {total}", "counted": total}


@pytest.fixture
def counting_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(jobs_module.HANDLERS, JobType.INGEST, lambda: slow_counting_handler)


def test_job_record_round_trip_and_progress(store: JobStore) -> None:
    job = store.create(JobType.INGEST, {"paths": ["/x"]}, started_by="ann", tenant="acme")
    assert job.state == JobState.QUEUED and job.params == {"paths": ["/x"]} and job.started_by == "ann"
    claimed = store.claim(job.id, this_owner())
    assert claimed is not None and claimed.state == JobState.RUNNING and claimed.attempts == 1
    assert store.claim(job.id, this_owner()) is None  # a job is claimed once
    store.progress(job.id, phase="ingest", done=3, total=10, rate=1.5, eta_s=4.7, checkpoint={"at": 3})
    store.add_error(job.id, "bad.pdf", "not a PDF")
    again = store.require(job.id)
    assert (again.phase, again.done, again.total, again.rate, again.eta_s) == ("ingest", 3, 10, 1.5, 4.7)
    assert again.checkpoint == {"at": 3} and again.error_count == 1 and again.errors[0].item == "bad.pdf"
    store.finish(job.id, JobState.SUCCEEDED, "done", {"units": 5})
    final = store.require(job.id)
    assert final.finished and final.result == {"units": 5} and final.finished_at is not None
    assert [j.id for j in store.list(tenants=["acme"])] == [job.id]
    assert store.list(tenants=["other"]) == []
    with pytest.raises(FigvaultError, match="no job"):
        store.require("nope")


def test_owner_liveness() -> None:
    assert owner_alive(this_owner(), None)
    assert not owner_alive(f"{this_owner().split(':')[0]}:999999:1", None)  # same host, no such pid
    assert not owner_alive(DEAD_OWNER, time.time() - 3600)  # other host, stale heartbeat
    assert owner_alive(DEAD_OWNER, time.time())  # other host, fresh heartbeat: trusted


def test_an_owner_of_another_pid_space_is_judged_by_its_heartbeat() -> None:
    """Two containers with one host name (``--network host``) but their own pids: the other's pid 1 was
    checked among this one's pids, found dead, and its running job taken over (a replicas audit,
    2026-12-06: three takeovers, then the job failed and its uploads were gone)."""
    host, pid, ticks, space = this_owner().split(":")
    assert space, "this process's pid space is known (Linux)"
    elsewhere = f"{host}:{pid}:{ticks}:{space}-other"  # this very pid, in another container
    assert owner_alive(elsewhere, time.time())  # fresh heartbeat: alive, whatever pid 1 is here
    assert not owner_alive(elsewhere, time.time() - 3600)
    assert not owner_alive(f"{host}:{pid}:{ticks}:{space}-other", None)
    assert owner_alive(f"{host}:{pid}:{ticks}", None)  # written before the pid space was: as before


def test_orphaned_running_jobs_are_requeued(store: JobStore) -> None:
    dead = store.create(JobType.INGEST, {}, started_by="a", tenant="t")
    alive = store.create(JobType.INGEST, {}, started_by="a", tenant="t")
    store.claim(dead.id, f"{this_owner().split(':')[0]}:999999:1")
    store.claim(alive.id, this_owner())
    assert store.requeue_orphans() == [dead.id]
    assert store.require(dead.id).state == JobState.QUEUED
    assert store.require(alive.id).state == JobState.RUNNING


def test_cancel_queued_and_running(settings: Settings, store: JobStore, counting_jobs: None) -> None:
    queued = store.create(JobType.INGEST, {"steps": 5}, started_by="a", tenant="t")
    assert store.request_cancel(queued.id).state == JobState.CANCELLED

    job = store.create(JobType.INGEST, {"steps": 500}, started_by="a", tenant="t")
    result: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: result.update(job=run_here(settings, job)))
    worker.start()
    deadline = time.monotonic() + 20
    while store.require(job.id).done < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    store.request_cancel(job.id)
    worker.join(20)
    final = result["job"]
    assert final.state == JobState.CANCELLED and 3 <= final.done < 500


def test_runner_runs_queue_in_order_and_resumes_after_stop(
    settings: Settings, store: JobStore, counting_jobs: None
) -> None:
    first = store.create(JobType.INGEST, {"steps": 3}, started_by="a", tenant="t")
    second = store.create(JobType.INGEST, {"steps": 150}, started_by="a", tenant="t")
    runner = JobRunner(settings, poll_s=0.05)
    runner.start()
    deadline = time.monotonic() + 20
    while store.require(second.id).done < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    runner.stop()
    assert store.require(first.id).state == JobState.SUCCEEDED
    stopped = store.require(second.id)
    # Stopping the runner is not a cancel: the job goes back to the queue with its checkpoint.
    assert stopped.state == JobState.QUEUED and 5 <= stopped.checkpoint["done"] < 150
    resumed = run_here(settings, stopped)
    assert resumed.state == JobState.SUCCEEDED and resumed.done == 150 and resumed.attempts == 2


def ingest_params(paths: list[Path], **extra: Any) -> dict[str, Any]:
    return {"paths": [str(p) for p in paths], "groups": ["eng"], "tenant": "acme", **extra}


def stored_ids(settings: Settings) -> list[str]:
    store = MilvusUnitStore.from_settings(settings)
    return sorted(r["unit_id"] for r in store.query_rows(store.served_collection(), "", ["unit_id"]))


def test_ingest_job_indexes_then_skips_by_content_hash(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(3):
        figure_pdf(folder / f"report-{i}.pdf", seed=i)
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 this is not really a pdf")
    job = store.create(JobType.INGEST, ingest_params([folder]), started_by="ann", tenant="acme")
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED, final.message
    assert (final.done, final.total) == (4, 4)
    assert final.result["indexed"] == 3 and final.result["failed"] == 1 and final.result["units"] == 6
    assert final.error_count == 1 and final.errors[0].item == "broken.pdf"
    ids = stored_ids(settings)
    assert len(ids) == 6

    again = run_here(
        settings, store.create(JobType.INGEST, ingest_params([folder]), started_by="ann", tenant="acme")
    )
    assert again.result["skipped"] == 3 and again.result["indexed"] == 0
    assert stored_ids(settings) == ids  # nothing duplicated, nothing lost


@pytest.mark.skipif(ocr.tessdata_dir() is None, reason="tesseract-ocr-eng not installed")
def test_figures_whose_ocr_ran_out_of_time_are_counted_in_the_job(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    """A read cut by ``extract.ocr_timeout_s`` (a loaded machine) lost a figure's words with only a
    warning per read in the extraction: the job succeeded and said nothing, and searches for those words
    found nothing. The job's result counts them and its summary says what to do."""
    from tests.ingest.test_ocr import picture_pdf, text_picture

    path = picture_pdf(tmp_path / "shot.pdf", [(text_picture(), (72, 100, 504, 273))])
    settings.extract.ocr_timeout_s = 0.001
    final = run_here(
        settings, store.create(JobType.INGEST, ingest_params([path]), started_by="a", tenant="acme")
    )
    assert final.state == JobState.SUCCEEDED, final.message
    assert final.result["ocr_timeouts"] == 1 and final.result["documents"][0]["ocr_timeouts"] == 1
    assert "the words inside 1 figure(s) were not read" in final.message


def test_upload_job_keeps_files_until_it_ends(settings: Settings, store: JobStore, tmp_path: Path) -> None:
    spooled = figure_pdf(tmp_path / "spool.pdf", seed=7)
    job = queue_upload_job(
        settings, store, [("Quarterly.pdf", spooled)], groups=["eng"], tenant="acme", started_by="ann"
    )
    folder = uploads_dir(settings, job.id)
    assert not spooled.exists() and len(list(folder.iterdir())) == 1
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED and final.result["indexed"] == 1
    assert not folder.exists()
    record = DocumentRegistry.open(settings).get("acme", job.params["uploads"][0]["doc_id"])
    assert record is not None and record.state == DocState.INDEXED and record.units == 2
    assert record.name == "Quarterly.pdf" and record.doc_id.startswith("doc_")


def test_every_document_failing_fails_the_job(settings: Settings, store: JobStore, tmp_path: Path) -> None:
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"not a pdf at all")
    final = run_here(
        settings, store.create(JobType.INGEST, ingest_params([bad]), started_by="a", tenant="acme")
    )
    assert final.state == JobState.FAILED and "every document failed" in final.message


def test_folder_allow_list_follows_symlinks(settings: Settings, store: JobStore, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    outside = tmp_path / "outside"
    allowed.mkdir()
    outside.mkdir()
    inside_doc = figure_pdf(allowed / "in.pdf", seed=1)
    secret = figure_pdf(outside / "secret.pdf", seed=2)
    (allowed / "link.pdf").symlink_to(secret)
    (allowed / "escape").symlink_to(outside, target_is_directory=True)

    with pytest.raises(PermissionError, match="ingest is off"):
        check_allowed(settings, [str(inside_doc)])
    settings.service.ingest_allow_dirs = [str(allowed)]
    assert check_allowed(settings, [str(allowed)]) == [str(allowed.resolve())]
    for refused in (outside, allowed / "escape", allowed / "link.pdf", allowed / ".." / "outside"):
        with pytest.raises(PermissionError, match="not inside an allowed"):
            check_allowed(settings, [str(refused)])
    with pytest.raises(FigvaultError, match="absolute"):
        check_allowed(settings, ["allowed/in.pdf"])

    # A symlink inside an allowed folder that points outside is refused when the job lists the folder.
    params = ingest_params([allowed], allowed_roots=[str(allowed.resolve())])
    final = run_here(settings, store.create(JobType.INGEST, params, started_by="a", tenant="acme"))
    assert final.state == JobState.SUCCEEDED and final.result["indexed"] == 1
    assert final.error_count == 1 and final.errors[0].item.endswith("link.pdf")
    assert find_document(DocumentRegistry.open(settings), "acme", "secret.pdf") is None


def test_ingest_off_says_how_to_turn_it_on_and_nothing_of_other_tenants(
    settings: Settings, tmp_path: Path
) -> None:
    """'no service.ingest_allow_dirs folder of this tenant' named no variable or form to set it with (a
    first-hour audit, 2026-12-08). The answer is the same whatever folders other tenants have."""
    (tmp_path / "drop" / "acme").mkdir(parents=True)
    with pytest.raises(PermissionError) as off:
        check_allowed(settings, [str(tmp_path / "drop" / "acme" / "a.pdf")], tenant="beta")
    said = str(off.value)
    assert "FIGVAULT_SERVICE__INGEST_ALLOW_DIRS='[\"/srv/drop\"]'" in said and "{tenant}" in said
    settings.service.ingest_allow_dirs = [str(tmp_path / "drop" / "{tenant}")]
    with pytest.raises(PermissionError) as others:
        check_allowed(settings, [str(tmp_path / "drop" / "acme" / "a.pdf")], tenant="beta")
    assert str(others.value) == said and "acme" not in said and str(tmp_path) not in said


def test_folder_ingest_skips_pipes_and_names_them(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    import os

    from figvault.errors import UnsupportedFileError
    from figvault.ingest.extract import iter_input_files, open_regular

    allowed = tmp_path / "allowed"
    allowed.mkdir()
    figure_pdf(allowed / "in.pdf", seed=1)
    os.mkfifo(allowed / "pipe.pdf")  # reading it would block the job's thread until a writer came
    named = allowed / "named-pipe"
    os.mkfifo(named)
    params = ingest_params([allowed], allowed_roots=[str(allowed.resolve())])
    final = run_here(settings, store.create(JobType.INGEST, params, started_by="a", tenant="acme"))
    assert final.state == JobState.SUCCEEDED and final.result["indexed"] == 1
    assert [e.item for e in final.errors] == ["pipe.pdf"]  # a file name, never a server path
    assert "not a regular file" in final.errors[0].error

    assert list(iter_input_files([named])) == []  # never handed to a reader
    with pytest.raises(UnsupportedFileError, match="not a regular file"):
        open_regular(named)  # one that became a pipe after it was listed: refused, not read


def test_ingest_job_stops_when_its_caller_lost_the_rights(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    from figvault.access import Role
    from figvault.pipeline import users

    doc = figure_pdf(tmp_path / "one.pdf", seed=4)
    accounts = {
        user: users.add_user(store.db, user, Role.EDITOR, ["eng"], "acme")[0] for user in ("gone", "moved")
    }
    users.revoke_user(store.db, "gone")  # moved: was in eng and hr when it queued
    for user, why in (("gone", "was revoked"), ("moved", "no longer in every group this job writes into")):
        recorded = {"user": user, "groups": ["eng", "hr"], "roles": ["editor"]}
        params = ingest_params([doc], principal=recorded, groups=["eng", "hr"])
        account = accounts[
            user
        ].account_id  # a job queued before credentials: its account from migration 0007
        job = store.create(JobType.INGEST, params, started_by=user, started_by_id=account, tenant="acme")
        final = run_here(settings, job)
        assert final.state == JobState.FAILED and why in final.result[DETAIL], final.result
        # Every editor of eng sees this job: what became of its starter is the operator's to read, and
        # which of its groups the starter left is not theirs either.
        assert KEY_USER_STOPPED in final.message and why not in final.message, final.message
        assert f"'{user}'" not in final.message and not re.search(r"\bhr\b", final.message), final.message
    assert find_document(DocumentRegistry.open(settings), "acme", "one.pdf") is None


def test_a_job_queued_by_an_editor_since_taken_out_of_a_group_replaces_nothing_of_that_group(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    """Which documents a job may replace is judged with the groups its caller had when it queued it. An
    editor of eng and ops queued a new version of an ops-only document and was then taken out of ops: the
    job still replaced it and, the editor's groups being eng, took it from ops (its readers lost it). The
    job now stops as for a caller who left one of the job's own groups, and the document stays as it was."""
    from figvault.access import Role
    from figvault.pipeline import users

    for folder in ("ops", "eng"):
        (tmp_path / folder).mkdir()
    ops_plan = figure_pdf(tmp_path / "ops" / "plan.pdf", seed=31)
    queued = store.create(
        JobType.INGEST, ingest_params([ops_plan], groups=["ops"]), started_by="cli", tenant="acme"
    )
    stored = run_here(settings, queued)
    assert stored.state == JobState.SUCCEEDED, stored.message
    [before] = DocumentRegistry.open(settings).list("acme")
    ed2, _ = users.add_user(store.db, "ed2", Role.EDITOR, ["eng", "ops"], "acme")
    newer = figure_pdf(tmp_path / "eng" / "plan.pdf", seed=32)
    recorded = {"user": "ed2", "groups": ["eng", "ops"], "roles": ["editor"]}
    params = ingest_params([newer], principal=recorded, groups=["eng"])
    job = store.create(JobType.INGEST, params, started_by="ed2", started_by_id=ed2.account_id, tenant="acme")
    users.set_user(store.db, "ed2", groups=["eng"])  # out of ops while the job waits
    final = run_here(settings, job)
    assert final.state == JobState.FAILED, (final.state, final.message, final.result)
    assert "no longer in every group this job writes into or was queued with" in final.result[DETAIL]
    [after] = DocumentRegistry.open(settings).list("acme")
    assert (after.groups, after.sha256) == (["ops"], before.sha256)


def test_ingest_job_stops_between_batches_when_its_caller_is_revoked(
    settings: Settings, store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from figvault.access import Role
    from figvault.pipeline import ingest_job, users

    ed, _ = users.add_user(store.db, "ed", Role.EDITOR, ["eng"], "acme")
    run_batch = ingest_job._run_batch

    def revoke_after_first_batch(*args: Any, **kwargs: Any) -> Any:
        report = run_batch(*args, **kwargs)
        users.revoke_user(store.db, "ed")
        return report

    monkeypatch.setattr(ingest_job, "_run_batch", revoke_after_first_batch)
    settings.ingest.batch_docs = 1
    docs = [figure_pdf(tmp_path / "a.pdf", seed=5), figure_pdf(tmp_path / "b.pdf", seed=6)]
    params = ingest_params(docs, principal={"user": "ed", "groups": ["eng"], "roles": ["editor"]})
    job = store.create(JobType.INGEST, params, started_by="ed", started_by_id=ed.account_id, tenant="acme")
    final = run_here(settings, job)
    assert final.state == JobState.FAILED and "'ed' was revoked" in final.result[DETAIL], final.result
    assert KEY_USER_STOPPED in final.message and "'ed'" not in final.message, final.message
    registry = DocumentRegistry.open(settings)
    assert find_document(registry, "acme", "a.pdf") is not None  # written before the revocation
    assert find_document(registry, "acme", "b.pdf") is None


def test_ingest_job_checks_the_api_key_it_was_queued_with(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    """The job re-reads the key it was queued with, not a user of that name, and fails closed: a user
    revoked and added again (a new key), and a caller with no user record, used to pass the check."""
    from figvault.access import Role
    from figvault.pipeline import users
    from figvault.pipeline.ingest_job import principal_params

    doc = figure_pdf(tmp_path / "one.pdf", seed=4)
    record, _key = users.add_user(store.db, "ed", Role.EDITOR, ["eng"], "acme")
    old_key = principal_params(record.principal())
    assert old_key["credential"] == {"kind": "api_key", "key_id": record.key_id}
    users.revoke_user(store.db, "ed")
    users.add_user(store.db, "ed", Role.EDITOR, ["eng"], "acme")
    nobody = {"user": "nobody", "groups": ["eng"], "roles": ["editor"]}  # queued before keys were recorded
    for recorded, why in (
        (old_key, "API key that queued this job no longer exists"),
        (nobody, "no user record"),
    ):
        params = ingest_params([doc], principal=recorded)
        final = run_here(
            settings, store.create(JobType.INGEST, params, started_by=recorded["user"], tenant="acme")
        )
        assert final.state == JobState.FAILED and why in final.result[DETAIL], final.result
        assert KEY_USER_STOPPED in final.message and why not in final.message, final.message
    assert find_document(DocumentRegistry.open(settings), "acme", "one.pdf") is None


def test_a_job_queued_before_credentials_is_not_run_for_a_new_account_of_its_name(
    settings: Settings, store: JobStore, tmp_path: Path
) -> None:
    """A job queued before credentials were recorded is checked by its starter's name. The user was revoked
    and the name given to another account (another person) in the same groups: the check read the new
    account's row, passed, and the old account's job ran with the new one's standing. The job's account
    (``started_by_id``, migration 0007) must be the row's."""
    from figvault.access import Role
    from figvault.pipeline import users

    old, _ = users.add_user(store.db, "ed", Role.EDITOR, ["eng"], "acme")
    users.revoke_user(store.db, "ed")
    users.add_user(store.db, "ed", Role.EDITOR, ["eng"], "acme")
    params = ingest_params(
        [figure_pdf(tmp_path / "one.pdf", seed=4)],
        principal={"user": "ed", "groups": ["eng"], "roles": ["editor"]},
    )
    job = store.create(JobType.INGEST, params, started_by="ed", started_by_id=old.account_id, tenant="acme")
    final = run_here(settings, job)
    assert final.state == JobState.FAILED and "given to another account" in final.result[DETAIL], final.result
    assert KEY_USER_STOPPED in final.message and "'ed'" not in final.message, final.message
    assert find_document(DocumentRegistry.open(settings), "acme", "one.pdf") is None


def test_ingest_job_checks_the_token_it_was_queued_with(
    settings: Settings, store: JobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A job queued with a JWT stops once the token expired or the server no longer accepts its key
    (rotated, removed); such jobs ran unchecked with the rights recorded when they were queued."""
    import jwt

    from figvault.pipeline import credentials
    from figvault.pipeline.ingest_job import principal_params
    from figvault.service.auth import Authenticator

    secret = "job-check-secret-of-at-least-32-bytes!!"
    settings.service.jwt_secret = secret
    claims = {
        "sub": "jo",
        "tenant": "acme",
        "groups": ["eng"],
        "roles": ["editor"],
        "exp": int(time.time()) + 600,
    }
    caller = Authenticator(settings.service, lambda: store.db).authenticate(
        jwt.encode(claims, secret, "HS256")
    )
    recorded = principal_params(caller)
    assert recorded["credential"]["kind"] == "jwt" and secret not in json.dumps(recorded)
    assert credentials.caller_refusal(store.db, settings.service, recorded, "acme", ["eng"]) is None

    doc = figure_pdf(tmp_path / "one.pdf", seed=4)

    def run(why: str) -> None:
        params = ingest_params([doc], principal=recorded)
        final = run_here(
            settings, store.create(JobType.INGEST, params, started_by=caller.user, tenant="acme")
        )
        assert final.state == JobState.FAILED and why in final.message, final.message

    with monkeypatch.context() as later:
        later.setattr(credentials, "time", SimpleNamespace(time=lambda: claims["exp"] + 60.0))
        run("token that queued this job has expired")
    settings.service.jwt_secret = "a-rotated-secret-of-at-least-32-bytes!!"
    run("no longer accepts the token")
    settings.service.jwt_secret = ""
    run("no longer accepts the token")
    assert find_document(DocumentRegistry.open(settings), "acme", "one.pdf") is None


def test_jobs_cli_list_show_cancel(settings: Settings, store: JobStore, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from figvault.cli import load_commands
    from figvault.commands import app

    load_commands()
    base = ["--config", "offline", "--data-dir", str(settings.data_dir)]
    doc = figure_pdf(tmp_path / "one.pdf", seed=3)
    ingested = CliRunner().invoke(app, [*base, "ingest", str(doc), "--groups", "eng", "--doc-id", "One"])
    assert ingested.exit_code == 0, ingested.output
    assert "1 new, 0 replaced, 0 unchanged, 0 failed; 2 units" in ingested.stdout
    queued = store.create(JobType.INGEST, {"paths": []}, started_by="ann", tenant="default")

    listing = CliRunner().invoke(app, [*base, "jobs", "list", "--json"])
    assert listing.exit_code == 0, listing.output
    jobs = json.loads(listing.stdout)
    assert jobs[0]["id"] == queued.id and jobs[1]["state"] == "succeeded"
    assert jobs[1]["started_by"] == "cli" and jobs[1]["params"]["doc_id"] == "One"

    shown = CliRunner().invoke(app, [*base, "jobs", "show", jobs[1]["id"]])
    assert shown.exit_code == 0 and "succeeded ingest 1/1" in shown.stdout
    cancelled = CliRunner().invoke(app, [*base, "jobs", "cancel", queued.id])
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.stdout
    assert store.require(queued.id).state == JobState.CANCELLED
    unknown = CliRunner().invoke(app, [*base, "jobs", "show", "nope"])
    assert unknown.exit_code == 1 and "no job 'nope'" in unknown.output
    nothing = CliRunner().invoke(app, [*base, "reencode", "--quiet"])
    assert nothing.exit_code == 0 and "nothing to do" in nothing.stdout
