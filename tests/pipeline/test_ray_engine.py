"""The Ray engine on a local Ray (2 CPUs, loopback, no dashboard): the same units as the local engine, a
killed extraction worker or encoder actor neither loses nor duplicates units, a bad file fails alone, a
re-run skips all, a job resumed after its process died skips what it stored, a cluster without a CPU for
extraction fails the job instead of waiting for ever, the files travel through Ray's object store."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from figvault.errors import FigvaultError
from figvault.pipeline import ray_engine
from figvault.pipeline.ingest_pipeline import FAILED, INDEXED, SKIPPED, IngestRunner
from figvault.pipeline.jobs import DETAIL, IN_FLIGHT, JobState, JobStore, JobType, run_here
from figvault.pipeline.ray_engine import RayEngine
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.pipeline.engine_checks import MismatchedRay, UnreachableRay, assert_same_rows, stored_rows

COMPARED_JOB = "compared-run"
DEAD_OWNER = f"{socket.gethostname()}:999999:1"


pytestmark = pytest.mark.usefixtures("local_ray")


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("docs")
    return [figure_pdf(folder / f"report-{i}.pdf", seed=20 + i, n_figures=1 + i % 2) for i in range(3)]


def make_settings(data_dir: Path) -> Settings:
    settings = tiny_settings(data_dir, TINY_A)
    settings.extract.workers = 1  # one extraction task beside the encoder actor on 2 CPUs
    return settings


def ingest_job(settings: Settings, paths: list[Path], engine: str = "ray", job_id: str = COMPARED_JOB):
    """An ingest job; the compared runs share a job id, so each file gets the same document id (hence the
    same unit ids) in each data folder."""
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in paths], "groups": ["eng"], "engine": engine}
    return run_here(
        settings, jobs.create(JobType.INGEST, params, started_by="t", tenant="acme", job_id=job_id)
    )


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory: pytest.TempPathFactory, docs: list[Path]) -> dict:
    settings = make_settings(tmp_path_factory.mktemp("local"))
    final = ingest_job(settings, docs, engine="local")
    assert [d["status"] for d in final.result["documents"]] == [INDEXED] * 3
    return stored_rows(settings)


def test_the_ray_engine_stores_what_the_local_one_stores(
    tmp_path: Path, docs: list[Path], local_rows: dict
) -> None:
    settings = make_settings(tmp_path / "data")
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\nthis is not a pdf body")
    final = ingest_job(settings, [*docs, bad])
    assert final.state == JobState.SUCCEEDED and final.result["engine"] == "ray"
    statuses = {Path(d["path"]).name: d["status"] for d in final.result["documents"]}
    assert statuses == {
        "report-0.pdf": INDEXED,
        "report-1.pdf": INDEXED,
        "report-2.pdf": INDEXED,
        "broken.pdf": FAILED,
    }
    assert final.result["stages"]["encode"]["units"] == final.result["units"] == len(local_rows)
    assert_same_rows(stored_rows(settings), local_rows)
    again = ingest_job(settings, docs, job_id="rerun")
    assert [d["status"] for d in again.result["documents"]] == [SKIPPED] * 3


def test_more_documents_than_the_engine_holds_at_once_are_fed_as_batches_finish(
    tmp_path: Path, docs: list[Path], local_rows: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One extraction slot and a queue of one document: the engine holds 2 at once, so the third waits
    while a batch is still encoding (the actor made slow so that it is), and the driver counts the
    documents of the calls in flight. Corpus + distractors (79 files) failed there with a TypeError
    (``len`` of an ``EncodeCall``) before any document was stored; 3 documents with a fast actor never
    got there."""

    class SlowEncoder(ray_engine.EncoderActor):  # a local class: pickled by value into the actor
        def encode(self, refs, channels):
            import time

            time.sleep(2 * ray_engine.WAIT_S + 0.5)
            return super().encode(refs, channels)

    monkeypatch.setattr(ray_engine, "EncoderActor", SlowEncoder)
    settings = make_settings(tmp_path / "data")
    settings.ingest.queue_docs = 1
    final = ingest_job(settings, docs)
    assert final.state == JobState.SUCCEEDED, final.error
    assert [d["status"] for d in final.result["documents"]] == [INDEXED] * 3
    assert_same_rows(stored_rows(settings), local_rows)


def test_a_killed_extraction_worker_loses_and_duplicates_nothing(
    tmp_path: Path, docs: list[Path], local_rows: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker running report-1's extraction dies once (os._exit); Ray runs the task again."""
    marker = tmp_path / "died-once"
    extract = ray_engine.extract_task

    def dies_once(spec, data, settings):  # pickled by value into the Ray worker
        if spec.path.name == "report-1.pdf" and not marker.exists():
            marker.touch()
            os._exit(1)
        return extract(spec, data, settings)

    monkeypatch.setattr(ray_engine, "extract_task", dies_once)
    settings = make_settings(tmp_path / "data")
    final = ingest_job(settings, docs)
    assert marker.exists(), "the worker never died: the test proves nothing"
    assert final.state == JobState.SUCCEEDED
    assert [d["status"] for d in final.result["documents"]] == [INDEXED] * 3
    assert_same_rows(stored_rows(settings), local_rows)


def test_a_batch_whose_encoder_actor_ray_lost_is_encoded_again_once(
    tmp_path: Path, docs: list[Path], local_rows: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The encoder actor's process exits on its first batch, with Ray's own restart and retry off
    (``ACTOR_RESTARTS = 0``): as when a node is lost mid-call and Ray gives the call up
    (ActorUnavailableError). The driver sends the batch once to a fresh actor: all stored, none twice."""
    marker = tmp_path / "actor-died-once"

    class DiesOnFirstBatch(ray_engine.EncoderActor):  # a local class: pickled by value into the actor
        def encode(self, refs, channels):
            if not marker.exists():
                marker.touch()
                os._exit(1)
            return super().encode(refs, channels)

    monkeypatch.setattr(ray_engine, "EncoderActor", DiesOnFirstBatch)
    monkeypatch.setattr(ray_engine, "ACTOR_RESTARTS", 0)
    settings = make_settings(tmp_path / "data")
    final = ingest_job(settings, docs)
    assert marker.exists(), "the actor never died: the test proves nothing"
    assert final.state == JobState.SUCCEEDED
    assert [d["status"] for d in final.result["documents"]] == [INDEXED] * 3
    assert final.result["stages"]["encode"]["units"] == final.result["units"] == len(local_rows)
    assert_same_rows(stored_rows(settings), local_rows)


def test_without_ray_the_engine_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray raises ImportError
    with pytest.raises(FigvaultError, match=r"pip install 'figvault\[ray\]'"):
        ray_engine.require_ray()


def test_an_unreachable_cluster_fails_the_job_with_what_to_check(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(tmp_path)
    settings.ingest.ray_address = "ray://head.example:10001"
    monkeypatch.setattr(ray_engine, "require_ray", UnreachableRay)
    final = ingest_job(settings, docs[:1], job_id="unreachable")
    assert final.state == JobState.FAILED
    assert final.message == ray_engine.UNREACHABLE  # read over HTTP too: no address
    detail = final.result[DETAIL]  # the operator's: `figvault jobs show`, the command line, the log
    assert "ray://head.example:10001" in detail and "RAY_AUTH_MODE=token" in detail
    assert "ray_client_server*.err" in detail  # a refusal on the head's side (it failed to start the session)
    assert "Traceback" not in detail


def test_a_cluster_of_another_ray_version_fails_the_job_with_both_versions(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ray's multi-line RuntimeError was an internal error; now the operator reads both versions and what
    to install, and HTTP readers the fixed sentence."""
    settings = make_settings(tmp_path)
    settings.ingest.ray_address = "ray://head.example:10001"
    monkeypatch.setattr(ray_engine, "require_ray", MismatchedRay)
    final = ingest_job(settings, docs[:1], job_id="mismatch")
    assert final.state == JobState.FAILED
    assert final.message == ray_engine.UNREACHABLE
    detail = final.result[DETAIL]
    assert "ray://head.example:10001" in detail and "pip install 'ray==VERSION'" in detail
    assert "Ray: 2.59.0 Python: 3.10.12" in detail and "Ray: 2.60.0 Python: 3.11.2" in detail


def test_encoder_actors_are_sent_no_credentials(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "data")
    settings.registry.url = "postgresql://figvault:hunter2@db/figvault"
    settings.store.token = "root:Milvus"
    settings.service.jwt_secret = "s3cret"
    sent = ray_engine.encoder_settings(settings)
    assert "hunter2" not in sent.model_dump_json() and "Milvus" not in sent.model_dump_json()
    assert "s3cret" not in sent.model_dump_json()
    assert (sent.clip, sent.text, sent.lexical) == (settings.clip, settings.text, settings.lexical)


def test_encoder_actors_make_the_drivers_dtype_whatever_their_cpu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``auto`` is resolved on the driver: an actor on a node without bf16 kernels still makes bf16."""
    from figvault.encoders import device

    settings = make_settings(tmp_path / "data")
    settings.clip.precision = settings.text.precision = "auto"
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: True)
    sent = ray_engine.encoder_settings(settings)
    assert (sent.clip.precision, sent.text.precision) == ("bf16", "bf16")
    assert settings.text.precision == "auto"  # the driver's own settings are left as configured


def test_a_ray_job_resumed_after_its_process_died_skips_what_it_stored(
    tmp_path: Path, docs: list[Path], local_rows: dict
) -> None:
    """The job's process wrote report-0 and died while on report-1 (left running, its owner gone, as
    tests/pipeline/test_job_crashes.py simulates a death); resumed, the job keeps its Ray engine, skips
    report-0 and stores the rest: the units of a run that never died."""
    settings = make_settings(tmp_path / "data")
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in docs], "groups": ["eng"], "engine": "ray"}
    job = jobs.create(JobType.INGEST, params, started_by="t", tenant="acme", job_id=COMPARED_JOB)
    with RayEngine(settings) as engine:  # what the dead process wrote (ids from the job's id)
        runner = IngestRunner(settings, engine=engine)
        try:
            runner.run(docs[:1], groups=["eng"], tenant="acme", progress=False, id_seed=COMPARED_JOB)
        finally:
            runner.conn.close()
    claimed = jobs.claim(job.id, DEAD_OWNER)
    assert claimed is not None
    jobs.progress(job.id, checkpoint={**claimed.checkpoint, IN_FLIGHT: [str(docs[1])]})
    assert jobs.requeue_orphans(max_attempts=3) == [job.id]

    final = run_here(settings, jobs.require(job.id))
    assert final.state == JobState.SUCCEEDED and final.result["engine"] == "ray"
    statuses = {Path(d["path"]).name: d["status"] for d in final.result["documents"]}
    assert statuses == {"report-0.pdf": SKIPPED, "report-1.pdf": INDEXED, "report-2.pdf": INDEXED}
    assert_same_rows(stored_rows(settings), local_rows)


def test_a_cluster_whose_cpus_the_actors_hold_fails_the_job_and_a_rerun_stores_all(
    tmp_path: Path, docs: list[Path], local_rows: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two encoder actors of a CPU each (as they were: the shortage the check exists for, which a cluster
    reaches with actors of no CPU when only CPU-less nodes are left) on the 2-CPU Ray hold every CPU: no
    extraction can start. The job fails (it waited for ever before) with what to do for the operator; run
    again with one actor, it stores what a run that never failed does."""
    monkeypatch.setattr(ray_engine, "ACTOR_CPUS", 1)
    monkeypatch.setattr(ray_engine, "CPU_CHECK_S", 0.1)
    settings = make_settings(tmp_path / "data")
    settings.ingest.ray_cpu_wait_s = 0.5
    settings.ingest.ray_encode_actors = 2
    failed = ingest_job(settings, docs, job_id="no-cpu")
    assert failed.state == JobState.FAILED
    assert failed.message == ray_engine.NO_CPU  # read over HTTP too: no cluster sizes
    detail = failed.result[DETAIL]
    assert "has 2 CPU(s), fewer than the 3 this job needs" in detail and "ray_encode_actors" in detail
    assert "for 0.5 s" in detail and "FIGVAULT_INGEST__RAY_CPU_WAIT_S" in detail

    settings.ingest.ray_encode_actors = 1
    final = ingest_job(settings, docs)
    assert final.state == JobState.SUCCEEDED
    assert_same_rows(stored_rows(settings), local_rows)


def test_the_driver_puts_each_file_in_the_object_store(
    tmp_path: Path, docs: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not inlined in the task: over Ray Client a task's arguments travel in its scheduling message, and
    Ray warns the operator past 10 MB of them."""
    import ray

    put = ray.put
    sent: list[bytes] = []
    monkeypatch.setattr(ray, "put", lambda value, **kw: (sent.append(value), put(value, **kw))[1])
    final = ingest_job(make_settings(tmp_path / "data"), docs[:1], job_id="put")
    assert final.state == JobState.SUCCEEDED
    assert docs[0].read_bytes() in sent
