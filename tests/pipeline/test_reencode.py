"""Re-encode from one tiny OpenCLIP model to another (32-d -> 48-d) while searches run: no downtime, never
a mix of versions, nothing lost; and what happens when the store serves another version than configured."""

from __future__ import annotations

import gc
import itertools
import json
import logging
import shutil
import sys
import threading
import time
import traceback
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from pytest import MonkeyPatch
from typer.testing import CliRunner

from figvault.access import local_operator
from figvault.cli import load_commands
from figvault.commands import app
from figvault.errors import VersionMismatchError
from figvault.pipeline.jobs import GLOBAL_TENANT, Job, JobState, JobStore, JobType, run_here
from figvault.pipeline.reencode import ReencodePlan, plan_reencode
from figvault.pipeline.registry import DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import TOPICS, figure_pdf

load_commands()


def make_docs(folder: Path, count: int, first_seed: int = 0) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [figure_pdf(folder / f"report-{first_seed + i}.pdf", seed=first_seed + i) for i in range(count)]


def ingest(settings: Settings, paths: list[Path], engine: SearchEngine | None = None) -> None:
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in paths], "groups": ["eng"], "tenant": "default"}
    job = jobs.create(JobType.INGEST, params, started_by="test", tenant="default")
    final = run_here(settings, job, services={"engine": engine} if engine else None)
    assert final.state == JobState.SUCCEEDED and final.error_count == 0, final


def reencode(settings: Settings, engine: SearchEngine | None = None):
    jobs = JobStore.open(settings)
    job = jobs.create(JobType.REENCODE, {}, started_by="test", tenant=GLOBAL_TENANT)
    return run_here(settings, job, services={"engine": engine} if engine else None)


def ids_and_keys(store: MilvusUnitStore, collection: str) -> dict[str, str]:
    return {r["unit_id"]: r["acl_key"] for r in store.query_rows(collection, "", ["unit_id", "acl_key"])}


@pytest.fixture
def settings_a(tiny_clip_settings: Settings) -> Settings:
    tiny_clip_settings.extract.workers = 1
    tiny_clip_settings.jobs.batch_size = 2  # several batches and checkpoints even for a small store
    return tiny_clip_settings


@pytest.fixture
def settings_b(tiny_clip_settings_b: Settings) -> Settings:
    tiny_clip_settings_b.extract.workers = 1
    tiny_clip_settings_b.jobs.batch_size = 2
    return tiny_clip_settings_b


@dataclass
class SearchLog:
    answers: list[tuple[int, float, str, set[str]]] = field(default_factory=list)
    """(searcher, time, response version, versions of the hits), in completion order"""
    errors: list[str] = field(default_factory=list)


def search_until(engine: SearchEngine, stop: threading.Event, log: SearchLog, seed: int) -> None:
    n = seed
    while not stop.is_set():
        query = f"{TOPICS[n % len(TOPICS)]} in report {n % 5}"
        n += 1
        try:
            response = engine.search(local_operator(), SearchRequest(query=query, top_k=5))
        except Exception as exc:  # every error is a failure of the test, recorded with its reason
            log.errors.append(f"{type(exc).__name__}: {exc}")
            continue
        except BaseException as exc:  # ends the thread: recorded, or its answers would just stop
            log.errors.append(f"{type(exc).__name__}: {exc}")
            raise
        hit_versions = {h.embedding_version or "" for h in response.results}
        log.answers.append((seed, time.monotonic(), response.embedding_version, hit_versions))


@dataclass
class ReencodeRun:
    final: Job
    log: SearchLog
    started: float
    """When the re-encode and the late ingest began (time.monotonic)."""
    switched: float
    """When the re-encode job returned: the alias names the new collection."""


def _stacks(threads: list[threading.Thread]) -> str:
    """Where each of ``threads`` and every figvault worker (the question encoders') is now: a failure says
    where a searcher waited and on what, not only that it did."""
    frames = sys._current_frames()
    watched = [*threads, *(t for t in threading.enumerate() if t.name.startswith("figvault-"))]
    stacks = (
        f"{t.name}:\n{''.join(traceback.format_stack(frames[t.ident]))}" for t in watched if t.ident in frames
    )
    return "\n".join(stacks)


def _wait_for(condition, threads: list[threading.Thread], what: str, limit_s: float = 90.0) -> None:
    """Wait until ``condition()`` holds; past ``limit_s`` (under a question's own 120 s timeout, so that a
    stuck question encoder is still stuck when its stack is taken) fail with the threads' stacks."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {limit_s:.0f}s; the searchers are at:\n{_stacks(threads)}")
        time.sleep(0.05)


def _answered(log: SearchLog, searchers: int, since: float = 0.0, version: str | None = None) -> bool:
    """Whether each of ``searchers`` answered after ``since`` (from ``version``, where given)."""
    found = {s for s, t, v, _ in list(log.answers) if t >= since and (version is None or v == version)}
    return len(found) == searchers


def reencode_while_searching_and_ingesting(
    settings: Settings, engine: SearchEngine, late_folder: Path, new_version: str
) -> ReencodeRun:
    """A re-encode with two searchers running throughout and 2 documents ingested meanwhile.

    The re-encode starts once each searcher has answered (a first search loads the served collection's
    recorded encoders and its lexical index: on a loaded CI machine that outlasted the whole re-encode, and
    no search was seen at all), and the searchers stop once each has answered from the new version."""
    log = SearchLog()
    stop = threading.Event()
    searchers = [
        threading.Thread(target=search_until, args=(engine, stop, log, s), name=f"searcher-{s}", daemon=True)
        for s in range(2)
    ]
    for t in searchers:
        t.start()
    try:
        _wait_for(lambda: log.errors or _answered(log, len(searchers)), searchers, "no first answer")
        # Documents arriving during the re-encode must be in the new collection too.
        late_docs = make_docs(late_folder, 2, first_seed=10)
        ingester = threading.Thread(target=ingest, args=(settings, late_docs, engine), daemon=True)
        started = time.monotonic()
        ingester.start()
        final = reencode(settings, engine)
        switched = time.monotonic()
        ingester.join(120)
        assert not ingester.is_alive(), "the late ingest did not end"
        if final.state == JobState.SUCCEEDED:  # searches after the switch
            _wait_for(
                lambda: log.errors or _answered(log, len(searchers), switched, new_version),
                searchers,
                "no answer from the new version after the switch",
            )
    finally:
        stop.set()
        for t in searchers:
            t.join(60)
    assert not any(t.is_alive() for t in searchers), f"a search did not end:\n{_stacks(searchers)}"
    return ReencodeRun(final, log, started, switched)


def assert_each_answer_from_one_version(run: ReencodeRun, old_version: str, new_version: str) -> None:
    """No search failed, and each answered from one version: the old one, then the new one for good."""
    log = run.log
    assert log.errors == []
    assert log.answers, "no search ran"
    # Every answer comes from exactly one version, and its hits from the same one.
    for _, _, version, hit_versions in log.answers:
        assert version in (old_version, new_version)
        assert hit_versions <= {version}
    # Each searcher sees the old version, then the new one, and never the old one again.
    for thread in {t for t, *_ in log.answers}:
        sequence = [v for t, _, v, _ in log.answers if t == thread]
        switches = sum(1 for a, b in itertools.pairwise(sequence) if a != b)
        assert switches <= 1 and sequence[-1] == new_version
    assert log.answers[0][2] == old_version
    assert any(t >= run.started and v == old_version for _, t, v, _ in log.answers), (
        "no search during re-encode"
    )
    assert any(t >= run.switched and v == new_version for _, t, v, _ in log.answers)


def assert_new_collection_mirrors_old(store: MilvusUnitStore, old: str, new: str, new_version: str) -> None:
    """The same units and access keys, the late documents included; new CLIP vectors, the rest copied."""
    old_keys, new_keys = ids_and_keys(store, old), ids_and_keys(store, new)
    assert old_keys == new_keys and store.count(old) == store.count(new) == len(new_keys)
    assert len(new_keys) == 12  # 6 documents with 2 figures each: the late ones included
    assert store.layout_of(new).dense_channel("clip").dim == 48  # the new schema
    # The text channel's version did not change: its vectors were copied, not recomputed.
    one = sorted(new_keys)[0]
    old_row = store.get_rows(old, f'unit_id == "{one}"', fields=["text", "clip"])[0]
    new_row = store.get_rows(new, f'unit_id == "{one}"', fields=["text", "clip", "embedding_version"])[0]
    assert np.allclose(old_row["text"], new_row["text"]) and len(new_row["clip"]) == 48
    assert new_row["embedding_version"] == new_version
    # Stored signals that are not vectors (the page's own text feeds BM25) move over unchanged.
    old_pages = {
        r["unit_id"]: r["page_text"]
        for r in store.get_rows(old, 'unit_id != ""', fields=["unit_id", "page_text"])
    }
    new_pages = {
        r["unit_id"]: r["page_text"]
        for r in store.get_rows(new, 'unit_id != ""', fields=["unit_id", "page_text"])
    }
    assert new_pages == old_pages and any(old_pages.values())


def test_reencode_with_concurrent_searches_and_ingest(
    settings_a: Settings, settings_b: Settings, tiny_encoders, tiny_encoders_b, tmp_path: Path
) -> None:
    ingest(settings_a, make_docs(tmp_path / "docs", 4))
    store = MilvusUnitStore.from_settings(settings_a)
    old = store.served_collection()
    old_version = tiny_encoders.embedding_version
    new_version = tiny_encoders_b.embedding_version
    assert old_version != new_version

    # The service's engine: configured with the new encoders, serving the old version until the switch.
    engine = SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b, serve_recorded=True)
    assert engine.serving_version() is None or engine.serving_version() == old_version
    run = reencode_while_searching_and_ingesting(settings_b, engine, tmp_path / "late", new_version)

    assert run.final.state == JobState.SUCCEEDED, run.final.message
    assert_each_answer_from_one_version(run, old_version, new_version)
    new = store.served_collection()
    assert new != old and new == run.final.result["target"]
    assert_new_collection_mirrors_old(store, old, new, new_version)
    # The registry follows the alias, so a later ingest of the same files skips them.
    assert {r.collection for r in DocumentRegistry.open(settings_b).list()} == {new}

    # After the switch the engine encodes queries with the new model: the same answer as a fresh engine.
    request = SearchRequest(query="revenue by region", top_k=5)
    mine = engine.search(local_operator(), request)
    fresh = SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b).search(local_operator(), request)
    assert [(h.unit_id, round(h.score, 5)) for h in mine.results] == [
        (h.unit_id, round(h.score, 5)) for h in fresh.results
    ]
    assert engine.serving_version() == new_version and plan_reencode(store, tiny_encoders_b) is None


def test_the_old_versions_models_go_after_the_switch(
    settings_a: Settings, settings_b: Settings, tiny_encoders_b, tmp_path: Path, monkeypatch: MonkeyPatch
) -> None:
    """A service that served a collection with its recorded encoders lets them go once the alias serves the
    configured version: they stayed loaded for the life of the process (a model set per re-encode)."""
    from figvault.encoders import questions

    monkeypatch.setattr(questions, "IDLE_EXIT_S", 0.05)  # idle question workers end at once
    ingest(settings_a, make_docs(tmp_path / "docs", 2))
    engine = SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b, serve_recorded=True)
    request = SearchRequest(query="revenue by region", top_k=5)
    before = engine.search(local_operator(), request)
    served = engine.served()
    assert served is not None and served[2] is not tiny_encoders_b
    old_text = weakref.ref(served[2].text)
    del served
    assert reencode(settings_b).state == JobState.SUCCEEDED
    after = engine.search(local_operator(), request)
    assert before.embedding_version != after.embedding_version == tiny_encoders_b.embedding_version
    deadline = time.monotonic() + 30
    while old_text() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.05)
    assert old_text() is None, "the old version's text encoder is still held"


def test_an_ingest_while_a_reencode_is_pending_uses_the_services_models(
    settings_a: Settings, settings_b: Settings, tiny_encoders_b, tmp_path: Path
) -> None:
    """An upload's ingest in a service that serves the old version with its recorded encoders encodes with
    those, not with a second copy of the same models loaded beside them for the whole re-encode."""
    from figvault.pipeline.ingest_job import _EncoderCache

    ingest(settings_a, make_docs(tmp_path / "docs", 2))
    engine = SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b, serve_recorded=True)
    served = engine.served()
    assert served is not None and served[2] is not tiny_encoders_b
    store = MilvusUnitStore.from_settings(settings_b)
    assert _EncoderCache(settings_b, engine).for_served(store) is served[2]
    ingest(settings_b, make_docs(tmp_path / "late", 1, first_seed=10), engine)
    assert store.served_collection() == served[0] and store.count(served[0]) == 6  # 3 documents, 2 each


def test_version_mismatch_at_start(
    settings_a: Settings, settings_b: Settings, tiny_encoders_b, tmp_path: Path, caplog
) -> None:
    # The old collection's encoders come from a model config file that will be gone.
    config = tmp_path / "gone" / "fv-tiny-a.json"
    config.parent.mkdir()
    shutil.copy(TINY_A, config)
    settings_old = tiny_settings(settings_a.data_dir, config)
    settings_old.extract.workers = 1
    ingest(settings_old, make_docs(tmp_path / "docs", 2))

    # The setting that changed since the store was written is named.
    changed = r"\(clip\.model \S+fv-tiny-a\.json -> \S+fv-tiny-b\.json\)"
    with pytest.raises(
        VersionMismatchError, match=rf"store serves v\w+, configured v\w+ {changed}: run `figvault reencode`"
    ):
        SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b).search(
            local_operator(), SearchRequest(query="soil moisture")
        )

    # The service mode serves the old version faithfully, with the encoders recorded in its collection.
    with caplog.at_level(logging.WARNING):
        tolerant = SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b, serve_recorded=True)
        response = tolerant.search(local_operator(), SearchRequest(query="soil moisture"))
    served = MilvusUnitStore.from_settings(settings_b).served_layout()
    assert response.embedding_version == served.embedding_version != tiny_encoders_b.embedding_version
    assert response.results and "re-encode" in caplog.text

    # When those encoders cannot be rebuilt, even the service refuses instead of answering wrongly.
    shutil.rmtree(config.parent)
    with pytest.raises(VersionMismatchError, match="recorded encoders cannot be built"):
        SearchEngine.from_settings(settings_b, encoders=tiny_encoders_b, serve_recorded=True).search(
            local_operator(), SearchRequest(query="soil moisture")
        )


def clip_only_settings(settings_a: Settings) -> Settings:
    """A re-encode target with a channel removed: CLIP only, no text model (a new schema without the text
    field), in batches of 2 with a checkpoint after each."""
    settings_c = tiny_settings(settings_a.data_dir, TINY_A, seed=3, text=False)
    settings_c.jobs.batch_size = 2
    settings_c.jobs.checkpoint_every = 2
    return settings_c


def test_cancel_keeps_old_version_then_rerun_completes(settings_a: Settings, tmp_path: Path) -> None:
    ingest(settings_a, make_docs(tmp_path / "docs", 4))
    store = MilvusUnitStore.from_settings(settings_a)
    old = store.served_collection()
    settings_c = clip_only_settings(settings_a)
    jobs = JobStore.open(settings_c)
    job = jobs.create(JobType.REENCODE, {}, started_by="test", tenant=GLOBAL_TENANT)
    jobs.request_cancel(job.id)  # queued: cancelled at once
    assert jobs.require(job.id).state == JobState.CANCELLED

    job = jobs.create(JobType.REENCODE, {}, started_by="test", tenant=GLOBAL_TENANT)

    def cancel_when_copying(current: Job) -> None:
        # Another client asks to cancel once two units are stored (echo runs in the job's thread).
        if current.phase == "copy" and current.done >= 2 and not current.cancel_requested:
            jobs.request_cancel(current.id)

    cancelled = run_here(settings_c, job, echo=cancel_when_copying)
    assert cancelled.state == JobState.CANCELLED and cancelled.checkpoint.get("last_unit_id")
    assert store.served_collection() == old  # nothing switched
    partial = cancelled.checkpoint["target"]
    written = store.count(partial)
    assert 0 < written < store.count(old) and cancelled.checkpoint["done"] == written

    final = reencode(settings_c)
    assert final.state == JobState.SUCCEEDED and final.result["target"] == partial
    assert final.result["encoded"] == store.count(old) - written  # resumed, not redone
    assert ids_and_keys(store, old) == ids_and_keys(store, partial)
    assert store.layout_of(partial).channels == ["clip", "lexical"]


def test_collections_cli_refuses_to_drop_the_served_one(
    settings_a: Settings, settings_b: Settings, tmp_path: Path
) -> None:
    ingest(settings_a, make_docs(tmp_path / "docs", 1))
    assert reencode(settings_b).state == JobState.SUCCEEDED
    store = MilvusUnitStore.from_settings(settings_b)
    served = store.served_collection()
    base = ["--data-dir", str(settings_b.data_dir)]
    listing = CliRunner().invoke(app, [*base, "collections", "list", "--json"])
    assert listing.exit_code == 0, listing.output
    rows = json.loads(listing.stdout)["collections"]
    assert [r["served"] for r in rows].count(True) == 1 and len(rows) == 2
    old = next(r["collection"] for r in rows if not r["served"])

    refused = CliRunner().invoke(app, [*base, "collections", "drop", served])
    assert refused.exit_code == 1 and "is never dropped; a `figvault reencode` to" in refused.output
    dropped = CliRunner().invoke(app, [*base, "collections", "drop", old])
    assert dropped.exit_code == 0, dropped.output
    assert store.list_collections() == [served]
    unknown = CliRunner().invoke(app, [*base, "collections", "drop", "nope"])
    assert unknown.exit_code == 1 and "no collection" in unknown.output


def test_a_unit_that_cannot_be_encoded_fails_the_job_without_switching(
    settings_a: Settings, settings_b: Settings, tmp_path: Path
) -> None:
    from figvault.storage import BlobStore

    ingest(settings_a, make_docs(tmp_path / "docs", 2))
    store = MilvusUnitStore.from_settings(settings_a)
    old = store.served_collection()
    victim = store.query_rows(old, "", ["unit_id", "image", "doc", "page"])[0]
    BlobStore(settings_a.blob_dir).delete(victim["image"])

    failed = reencode(settings_b)
    assert failed.state == JobState.FAILED
    assert "1 unit(s) could not be encoded" in failed.message and victim["unit_id"] in failed.message
    assert failed.error_count == 1 and victim["unit_id"] in failed.errors[0].item
    assert store.served_collection() == old  # nothing lost: the old version still serves every unit


def test_a_reencode_started_over_http_stops_when_its_admin_may_no_longer(
    settings_a: Settings, tmp_path: Path
) -> None:
    """A re-encode a tenant admin started (``service.tenant_admin_reencode``) ran to the end with the rights
    it was queued with: revoked, demoted or with the setting off, it went on rewriting every tenant's store.
    It now records the admin's credential and checks it before it starts and before each batch."""
    from sqlalchemy import update

    from figvault.access import Role
    from figvault.db.models import users as users_table
    from figvault.pipeline import users
    from figvault.pipeline.reencode import queue_reencode

    ingest(settings_a, make_docs(tmp_path / "docs", 4))
    store = MilvusUnitStore.from_settings(settings_a)
    old = store.served_collection()
    settings_c = clip_only_settings(settings_a)
    settings_c.service.tenant_admin_reencode = True
    jobs = JobStore.open(settings_c)

    def queue(name: str) -> Job:
        record, _key = users.add_user(jobs.db, name, Role.ADMIN, ["eng"], "default")
        job = queue_reencode(settings_c, jobs, started_by=name, principal=record.principal())
        assert job.params["principal"]["credential"] == {"kind": "api_key", "key_id": record.key_id}
        return job

    def demote(name: str) -> None:
        with jobs.db.write() as tx:
            tx.execute(update(users_table).where(users_table.c.name == name).values(role="editor"))

    job = queue("ad")
    demote("ad")  # before it starts
    final = run_here(settings_c, job)
    assert final.state == JobState.FAILED, final.message
    assert "may no longer reencode in tenant" in final.message
    assert final.checkpoint.get("done") is None

    job = queue("ad2")

    def revoke_when_copying(current: Job) -> None:  # between batches
        if current.phase == "copy" and current.done >= 2:
            users.revoke_user(jobs.db, "ad2")

    final = run_here(settings_c, job, echo=revoke_when_copying)
    assert final.state == JobState.FAILED and "'ad2' was revoked" in final.message, final.message
    assert 0 < final.checkpoint["done"] < store.count(old)
    assert store.served_collection() == old  # nothing switched

    job = queue("ad3")
    settings_c.service.tenant_admin_reencode = False
    final = run_here(settings_c, job)
    assert final.state == JobState.FAILED and "tenant_admin_reencode was turned off" in final.message
    assert store.served_collection() == old


def test_a_document_deleted_as_the_alias_switches_stays_deleted(
    settings_a: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The switch points every registry record at the new collection under the store lock; a deletion does
    not wait for that lock, and one that landed after the records were read had its record written back (a
    document listed with units the store no longer holds). It stays deleted (one UPDATE since 2026-12-06
    evening: nothing is read and written back)."""
    from figvault.pipeline import reencode as reencode_module
    from figvault.pipeline.ingest_pipeline import delete_document

    ingest(settings_a, make_docs(tmp_path / "docs", 2))
    [doomed, kept] = DocumentRegistry.open(settings_a).list("default")

    class DeletedAsItSwitches(DocumentRegistry):
        def move_to_collection(self, *args, **kwargs):  # the admin's delete lands as the records move
            assert delete_document(settings_a, "default", doomed.doc_id)
            return super().move_to_collection(*args, **kwargs)

    monkeypatch.setattr(reencode_module, "DocumentRegistry", DeletedAsItSwitches)
    final = reencode(clip_only_settings(settings_a))
    assert final.state == JobState.SUCCEEDED, final
    registry = DocumentRegistry.open(settings_a)
    assert registry.get("default", doomed.doc_id) is None
    assert registry.get("default", kept.doc_id).collection == final.result["target"]


class Crash(BaseException):
    """The process dies here (kill -9): no handler runs."""


def stopped_after_its_switch(
    settings: Settings, store: MilvusUnitStore, monkeypatch: pytest.MonkeyPatch
) -> tuple[JobStore, Job, ReencodePlan]:
    """A re-encode job to the encoders of ``settings`` whose process died right after it moved the alias,
    before the records followed (``reencode.point_records``)."""
    from figvault.pipeline import reencode as reencode_module

    plan = plan_reencode(store, SearchEngine.from_settings(settings).encoders)
    assert plan is not None
    jobs = JobStore.open(settings)
    params = {"source": plan.source, "target": plan.target}
    job = jobs.create(JobType.REENCODE, params, started_by="cli", tenant=GLOBAL_TENANT)

    def dies(*_args: object) -> int:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(reencode_module, "point_records", dies)
        with pytest.raises(Crash):
            run_here(settings, job)
    assert store.served_collection() == plan.target
    return jobs, jobs.require(job.id), plan


def test_a_reencode_stopped_after_its_switch_is_finished_by_the_next_run(
    settings_a: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed after the alias moved, before the records named the new collection (a read-only crash audit,
    2026-12-06 evening): the next `figvault reencode` said "nothing to do" and left the job running, and the
    next ingest found every document in another collection and extracted and encoded them all again."""
    from figvault.pipeline.ingest_pipeline import SKIPPED, IngestRunner

    docs = make_docs(tmp_path / "docs", 2)
    ingest(settings_a, docs)
    settings_c = clip_only_settings(settings_a)
    store = MilvusUnitStore.from_settings(settings_c)
    old = store.served_collection()
    jobs, job, plan = stopped_after_its_switch(settings_c, store, monkeypatch)
    assert {r.collection for r in DocumentRegistry.open(settings_c).list()} == {old}
    assert jobs.requeue(job.id, "resumed: the process running it stopped", owner=job.owner)

    final = run_here(settings_c, jobs.require(job.id))
    assert final.state == JobState.SUCCEEDED and final.result["records"] == 2, final
    assert {r.collection for r in DocumentRegistry.open(settings_c).list()} == {plan.target}
    runner = IngestRunner(settings_c)
    again = runner.run(docs, groups=["eng"], tenant="default", progress=False)
    runner.conn.close()
    assert [d.status for d in again.documents] == [SKIPPED, SKIPPED]


def test_finishing_a_switch_holds_the_store_lock(
    settings_a: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The records are pointed at the new collection under the store write lock, as the switch does: a
    regroup waits (a read-only review: without it, a regroup landing in the middle was written over)."""
    from figvault.pipeline import reencode as reencode_module
    from figvault.pipeline.regroup import set_document_groups
    from figvault.pipeline.store_lock import StoreBusyError

    ingest(settings_a, make_docs(tmp_path / "docs", 1))
    settings_c = clip_only_settings(settings_a)
    store = MilvusUnitStore.from_settings(settings_c)
    _jobs, _job, plan = stopped_after_its_switch(settings_c, store, monkeypatch)
    [doc] = DocumentRegistry.open(settings_c).list()
    point = reencode_module.point_records
    waited: list[str] = []

    def with_a_regroup_beside(*args: object) -> int:
        try:
            set_document_groups(settings_c, "default", doc.doc_id, ["board"], store=store, lock_timeout_s=0.5)
        except StoreBusyError:
            waited.append("regroup")
        return point(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(reencode_module, "point_records", with_a_regroup_beside)
    params = {"source": plan.source, "target": plan.target}
    finished = reencode_module.finish_switched(settings_c, store, params)
    assert finished is not None and finished["records"] == 1 and waited == ["regroup"]


def test_a_tag_change_between_a_batchs_read_and_its_write_reaches_the_new_collection(
    settings_a: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The copy compared only unit ids and access keys: a batch read before a retag and written after it put
    the old tags back in the new collection, and neither the catch-up pass nor the verification saw it (the
    access key is the same), so after the switch a tag filter found the document under its old tags, for
    good (a read-only audit, 2026-12-07)."""
    from tests.pipeline.retag_race import retag_before_the_first_write

    ingest(settings_a, make_docs(tmp_path / "docs", 2))
    [first, _] = DocumentRegistry.open(settings_a).list("default")
    retagged = retag_before_the_first_write(monkeypatch, settings_a, first.doc_id)
    final = reencode(clip_only_settings(settings_a))
    assert final.state == JobState.SUCCEEDED and retagged, final
    store = MilvusUnitStore.from_settings(settings_a)
    rows = store.get_rows(final.result["target"], f'doc_id == "{first.doc_id}"', fields=["unit_id", "tags"])
    assert rows and all(list(r["tags"]) == ["fresh"] for r in rows), rows


def test_nothing_to_do_names_the_collections_not_served() -> None:
    """A re-encode stopped part way, then the settings put back: "nothing to do", and the partial copy read
    like a whole collection in `collections list`, named nowhere (a read-only audit, 2026-12-07)."""
    from types import SimpleNamespace

    from figvault.pipeline.reencode import nothing_to_do

    counts = {"units_v1": 47, "units_v2": 12}
    store = SimpleNamespace(
        served_collection=lambda: "units_v1", list_collections=lambda: list(counts), count=counts.__getitem__
    )
    line = nothing_to_do(store)  # type: ignore[arg-type]
    assert line.startswith("nothing to do: the alias serves units_v1, the configured version; not served:")
    assert "units_v2 (12 units" in line and "figvault collections drop NAME" in line
    assert "units_v1 (" not in line
    store.list_collections = lambda: ["units_v1"]
    assert nothing_to_do(store) == "nothing to do: the alias serves units_v1, the configured version"  # type: ignore[arg-type]
