"""kill -9 of an ingest and of a re-encode at a random point, then a rerun: the same final units, none
duplicated, none lost. The killed runs are real ``python -m figvault`` processes."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.ingest.extract import extract_document
from figvault.pipeline.doc_identity import find_document
from figvault.pipeline.jobs import GLOBAL_TENANT, JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import Settings
from figvault.units import make_unit_id
from tests.encoders.tiny_models import TINY_A, TINY_B, tiny_clip_env, tiny_settings
from tests.generated_docs import figure_pdf
from tests.helpers.child import WALL_BACKSTOP, tree_clock
from tests.helpers.lite import release_lite_store

load_commands()
pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
TENANT = "default"


def expected_ids(settings: Settings, paths: list[Path]) -> set[str]:
    """The unit ids a complete ingest must produce, computed from extraction and each file's one document
    id in the registry (ids are chosen by the server), not from the store."""
    ids = set()
    registry = DocumentRegistry.open(settings)
    for path in paths:
        extraction = extract_document(path, settings.extract)
        record = find_document(registry, TENANT, path.name)  # one document per name, or an error
        assert record is not None, path.name
        content_id = f"{TENANT}/{record.doc_id}/{extraction.doc_sha256}"
        ids |= {
            make_unit_id(content_id, f.unit.page, str(f.unit.kind), f.unit.bbox) for f in extraction.figures
        }
    return ids


def child_env(settings: Settings, config: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")}
    env.update(tiny_clip_env(config))
    env.update(
        FIGVAULT_DATA_DIR=str(settings.data_dir),
        FIGVAULT_EXTRACT__WORKERS="1",
        HF_HUB_OFFLINE="1",
        PYTHONPATH=str(REPO),
        **extra,
    )
    return env


def kill_when(
    args: list[str], env: dict[str, str], ready: Callable[[], bool], rng: random.Random, max_delay_s: float
) -> int:
    """Start ``python -m figvault ARGS``; kill -9 once ``ready()`` and a random short delay. Its exit code."""
    child = subprocess.Popen(
        [sys.executable, "-m", "figvault", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    # 180 CPU seconds of the child's tree (WALL_BACKSTOP times that of wall time): 180 s of wall time alone
    # can pass before a child held off the CPU of a loaded CI machine reaches its kill point.
    clock, started = tree_clock(child.pid), time.monotonic()
    try:
        while child.poll() is None and clock() < 180 and time.monotonic() - started < WALL_BACKSTOP * 180:
            if ready():
                time.sleep(rng.uniform(0.0, max_delay_s))
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.02)
        child.wait(60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.stderr is not None
    err = child.stderr.read().decode(errors="replace")
    assert child.returncode == -signal.SIGKILL, f"the child ended before the kill point:\n{err[-2000:]}"
    return child.returncode


def sql_count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(conn.execute(sql).fetchone()[0] or 0)
        finally:
            conn.close()
    except sqlite3.OperationalError:  # table not created yet
        return 0


def store_ids(store: MilvusUnitStore, collection: str) -> list[str]:
    return [r["unit_id"] for r in store.query_rows(collection, "", ["unit_id"])]


def test_kill_ingest_then_rerun(data_dir: Path, tmp_path: Path) -> None:
    rng = random.Random()
    settings = tiny_settings(data_dir, TINY_A)
    settings.extract.workers = 1
    folder = tmp_path / "docs"
    folder.mkdir()
    # Enough documents that the ones left after the kill condition outlast the random delay before the kill,
    # even on an idle machine (with 6, the child sometimes finished them all first).
    docs = [figure_pdf(folder / f"report-{i}.pdf", seed=40 + i) for i in range(14)]
    target = rng.randint(1, 3)
    kill_when(
        ["ingest", str(folder), "--groups", "eng", "--quiet"],
        child_env(settings, TINY_A),
        lambda: (
            sql_count(settings.registry_path, "SELECT count(*) FROM documents WHERE state = 'indexed'")
            >= target
        ),
        rng,
        max_delay_s=0.3,
    )
    indexed_before = sql_count(
        settings.registry_path, "SELECT count(*) FROM documents WHERE state = 'indexed'"
    )
    assert target <= indexed_before < len(docs)

    params = {"paths": [str(folder)], "groups": ["eng"], "tenant": TENANT}
    jobs = JobStore.open(settings)
    final = run_here(settings, jobs.create(JobType.INGEST, params, started_by="test", tenant=TENANT))
    assert final.state == JobState.SUCCEEDED, final.message
    assert final.result["skipped"] >= indexed_before  # done documents were skipped by content hash

    store = MilvusUnitStore.from_settings(settings)
    collection = store.served_collection()
    ids = store_ids(store, collection)
    assert len(ids) == len(set(ids)) == store.count(collection)  # no duplicates
    assert set(ids) == expected_ids(settings, docs)  # nothing lost, nothing extra
    records = DocumentRegistry.open(settings).list(TENANT)
    assert len(records) == len(docs) and all(r.state == DocState.INDEXED for r in records)


def test_kill_reencode_then_rerun(data_dir: Path, tmp_path: Path) -> None:
    rng = random.Random()
    settings_a = tiny_settings(data_dir, TINY_A)
    settings_a.extract.workers = 1
    docs = [figure_pdf(tmp_path / f"deck-{i}.pdf", seed=60 + i) for i in range(6)]
    params = {"paths": [str(p) for p in docs], "groups": ["eng"], "tenant": TENANT}
    jobs = JobStore.open(settings_a)
    assert run_here(settings_a, jobs.create(JobType.INGEST, params, started_by="t", tenant=TENANT)).state == (
        JobState.SUCCEEDED
    )
    store = MilvusUnitStore.from_settings(settings_a)
    old = store.served_collection()
    old_ids = sorted(store_ids(store, old))
    assert set(old_ids) == expected_ids(settings_a, docs)
    release_lite_store(settings_a)

    # One unit per batch: the copy lasts long enough for the kill to land inside it.
    target = rng.randint(2, len(old_ids) // 2)
    kill_when(
        ["reencode"],
        child_env(settings_a, TINY_B, FIGVAULT_JOBS__BATCH_SIZE="1", FIGVAULT_JOBS__CHECKPOINT_EVERY="1"),
        lambda: (
            sql_count(
                settings_a.registry_path,
                "SELECT max(done) FROM jobs WHERE type = 'reencode' AND phase = 'copy'",
            )
            >= target
        ),
        rng,
        max_delay_s=0.05,
    )
    killed = JobStore.open(settings_a).list(job_type=JobType.REENCODE)
    assert len(killed) == 1 and killed[0].state == JobState.RUNNING  # left running by the dead process

    settings_b = tiny_settings(data_dir, TINY_B)
    settings_b.jobs.batch_size = 2
    env = {k: v for k, v in child_env(settings_b, TINY_B).items() if k.startswith("FIGVAULT_")}
    result = CliRunner().invoke(app, ["reencode", "--quiet"], env=env)
    assert result.exit_code == 0, result.output
    assert "alias now serves" in result.stdout

    resumed = JobStore.open(settings_b).require(killed[0].id)  # the same job, resumed
    assert resumed.state == JobState.SUCCEEDED and resumed.attempts == 2
    assert resumed.result["encoded"] < len(old_ids)  # what the killed run wrote was kept
    store = MilvusUnitStore.from_settings(settings_b)
    new = store.served_collection()
    assert new != old and store.layout_of(new).embedding_version == resumed.result["target_version"]
    new_ids = store_ids(store, new)
    assert len(new_ids) == len(set(new_ids)) == store.count(new) == store.count(old)
    assert sorted(new_ids) == old_ids
    assert len(JobStore.open(settings_b).list(job_type=JobType.REENCODE)) == 1
    assert resumed.tenant == GLOBAL_TENANT
