"""The scale-out proof: two ``figvault serve`` replicas on loopback sharing one PostgreSQL registry, one
Milvus 2.3.5 server and one storage folder (``file://``), each with its own data folder.

Uploads through replica A are searched and read through replica B with the same answers and the same access
rules; a replica killed with SIGKILL in the middle of an ingest job leaves it to the other, which finishes
it with nothing lost or duplicated; a re-encode runs while both serve (no failed search, one version
switch); and the audit trail of both is one.
"""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from figvault.access import Role
from figvault.db import open_database
from figvault.pipeline import users
from figvault.pipeline.jobs import JobState, JobStore
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_ID
from figvault.settings import load_settings
from tests.encoders.tiny_models import TINY_A, TINY_B, tiny_clip_env
from tests.generated_docs import figure_pdf
from tests.helpers.server import free_port, server_env, stop, wait_ready
from tests.postgres_server import PostgresServer

pytestmark = [pytest.mark.server, pytest.mark.slow]

READY_TIMEOUT_S = 180
JOB_TIMEOUT_S = 240


@dataclass
class Replica:
    name: str
    data_dir: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, clip_config: Path) -> None:
        env = {**self.env, **tiny_clip_env(clip_config)}
        log = (self.data_dir.parent / f"{self.name}.log").open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "figvault", "--config", "offline", "--data-dir", str(self.data_dir),
             "serve", "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self) -> None:
        assert self.proc is not None
        wait_ready(self.url, self.proc, self.log, within_s=READY_TIMEOUT_S, what=f"replica {self.name}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc, grace_s=30)

    def log(self) -> str:
        path = self.data_dir.parent / f"{self.name}.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


class Deployment:
    def __init__(self, root: Path, registry_url: str, milvus_uri: str) -> None:
        self.registry_url = registry_url
        alias = f"e2e_{uuid.uuid4().hex[:8]}"
        shared = root / "shared"
        shared.mkdir()
        env = server_env()
        env |= {
            "FIGVAULT_REGISTRY__URL": registry_url,
            "FIGVAULT_STORE__URI": milvus_uri,
            "FIGVAULT_STORE__ALIAS": alias,
            "FIGVAULT_STORAGE__URL": f"file://{shared}",
            "FIGVAULT_TEXT__ENABLED": "false",
            "FIGVAULT_LEXICAL__ENABLED": "false",
            "FIGVAULT_EXTRACT__WORKERS": "1",
            "FIGVAULT_JOBS__HEARTBEAT_S": "0.5",
            "FIGVAULT_JOBS__STALE_AFTER_S": "5",
            "FIGVAULT_SERVICE__CPU_THREADS": "1",
            "FIGVAULT_SERVICE__TENANT_ADMIN_REENCODE": "true",  # the re-encode below is started over HTTP
        }
        self.a = Replica("a", root / "a" / "data", env)
        self.b = Replica("b", root / "b" / "data", env)
        for replica in (self.a, self.b):
            replica.data_dir.mkdir(parents=True)
        self.settings = load_settings("offline", data_dir=root / "probe")
        self.settings.store.uri = milvus_uri
        self.settings.store.alias = alias
        self.settings.registry.url = registry_url
        db = open_database(registry_url)
        self.keys = {
            name: users.add_user(db, name, role, groups, "acme")[1]
            for name, role, groups in (
                ("ed", Role.EDITOR, ["eng"]),
                ("rita", Role.READER, ["eng"]),
                ("olga", Role.READER, ["ops"]),
                ("ada", Role.ADMIN, ["eng"]),
            )
        }

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def client(self, replica: Replica) -> httpx.Client:
        return httpx.Client(base_url=replica.url, timeout=60)

    def wait_job(self, replica: Replica, job_id: str) -> dict:
        deadline = time.monotonic() + JOB_TIMEOUT_S
        with self.client(replica) as client:
            while time.monotonic() < deadline:
                job = client.get(f"/v1/jobs/{job_id}", headers=self.headers("ada")).json()
                if job["state"] in ("succeeded", "failed", "cancelled"):
                    return job
                time.sleep(0.3)
        raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S}s")

    def upload(self, replica: Replica, paths: list[Path]) -> str:
        files = [("files", (p.name, p.read_bytes(), "application/pdf")) for p in paths]
        with self.client(replica) as client:
            response = client.post(
                "/v1/documents", files=files, data={"groups": "eng"}, headers=self.headers("ed")
            )
        assert response.status_code == 202, response.text
        return response.json()["job_id"]

    def search(self, replica: Replica, user: str, query: str) -> dict:
        with self.client(replica) as client:
            response = client.post(
                "/v1/search", json={"query": query, "top_k": 50}, headers=self.headers(user)
            )
        assert response.status_code == 200, response.text
        return response.json()

    def store(self) -> MilvusUnitStore:
        return MilvusUnitStore.from_settings(self.settings)


@pytest.fixture
def deployment(tmp_path: Path, postgres_server: PostgresServer, milvus_uri: str) -> Iterator[Deployment]:
    dep = Deployment(tmp_path, postgres_server.new_database(), milvus_uri)
    try:
        yield dep
    finally:
        for replica in (dep.a, dep.b):
            replica.stop()


def ranked(response: dict) -> list[tuple[str, float]]:
    return [(r["unit_id"], round(r["score"], 5)) for r in response["results"]]


def test_two_replicas_share_registry_store_and_files(deployment: Deployment, tmp_path: Path) -> None:
    dep = deployment
    a, b = dep.a, dep.b
    for replica in (a, b):
        replica.start(TINY_A)
    for replica in (a, b):
        replica.wait_ready()

    # --- an upload through A, read through B --------------------------------------------------------
    first = figure_pdf(tmp_path / "river.pdf", seed=7)
    job = dep.wait_job(b, dep.upload(a, [first]))  # B sees A's job: one job table
    assert job["state"] == "succeeded", job
    via_a = dep.search(a, "rita", "via-a report 7")
    via_b = dep.search(b, "rita", "via-b report 7")
    assert ranked(via_a) == ranked(via_b) and len(via_b["results"]) == 2
    assert dep.search(b, "olga", "via-b report 7")["results"] == []  # same access rules on B
    unit = via_b["results"][0]
    with dep.client(a) as ca, dep.client(b) as cb:
        assert cb.get(f"/v1/units/{unit['unit_id']}", headers=dep.headers("rita")).status_code == 200
        assert cb.get(f"/v1/units/{unit['unit_id']}", headers=dep.headers("olga")).status_code == 404
        image_a = ca.get(unit["image_url"], headers=dep.headers("rita"))
        image_b = cb.get(unit["image_url"], headers=dep.headers("rita"))
        assert image_b.status_code == 200 and image_b.content == image_a.content  # A wrote it, B reads it
        page = f"/v1/documents/{unit['doc_id']}/pages/1/image"
        page_b = cb.get(page, headers=dep.headers("rita"))
        assert page_b.status_code == 200 and page_b.content.startswith(b"\x89PNG"), page_b.text
        assert ca.get(page, headers=dep.headers("rita")).content == page_b.content
        assert cb.get(page, headers=dep.headers("olga")).status_code == 404

    # --- kill -9 of the replica running an ingest: the other finishes it ----------------------------
    batch = [figure_pdf(tmp_path / f"doc{i}.pdf", seed=20 + i) for i in range(6)]
    job_id = dep.upload(a, batch)
    registry = DocumentRegistry(open_database(dep.registry_url))
    jobs = JobStore(open_database(dep.registry_url))
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while (record := jobs.require(job_id)).state != JobState.RUNNING or record.done < 1:
        assert record.state in (JobState.QUEUED, JobState.RUNNING) and time.monotonic() < deadline, record
        time.sleep(0.05)
    owner_pid = int(record.owner.split(":")[1])  # whichever replica claimed it
    runner = next(r for r in (a, b) if r.proc is not None and r.proc.pid == owner_pid)
    survivor = b if runner is a else a
    runner.kill()
    assert jobs.require(job_id).done < len(batch)  # killed mid-ingest
    final = dep.wait_job(survivor, job_id)
    assert final["state"] == "succeeded", final
    resumed = jobs.require(job_id)
    assert resumed.attempts == 2 and resumed.owner.split(":")[1] == str(survivor.proc.pid)  # type: ignore[union-attr]
    records = {r.doc_id: r for r in registry.list("acme")}
    # ids are server-chosen since issue 12: the names are the files'
    assert sorted(r.name for r in records.values()) == sorted(["river.pdf", *(p.name for p in batch)])
    assert all(r.state == DocState.INDEXED for r in records.values())
    store = dep.store()
    collection = store.served_collection()
    assert collection is not None
    ids = [row[F_ID] for row in store.query_rows(collection, "", [F_ID])]
    assert len(ids) == len(set(ids)) == sum(r.units for r in records.values()) == 14  # none lost, none twice
    runner.start(TINY_A)
    runner.wait_ready()

    # --- a re-encode while both serve: no failed search, one switch ---------------------------------
    for replica in (a, b):  # a rolling restart onto the new encoders; each keeps serving the old version
        replica.stop()
        replica.start(TINY_B)
        replica.wait_ready()
    old_version = dep.search(a, "rita", "report 7")["embedding_version"]
    seen: dict[str, list[str]] = {"a": [], "b": []}
    failures: list[str] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            for replica in (a, b):
                try:
                    seen[replica.name].append(dep.search(replica, "rita", "report 21")["embedding_version"])
                except (AssertionError, httpx.HTTPError) as exc:
                    failures.append(f"{replica.name}: {exc}")

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    try:
        with dep.client(b) as cb:
            started = cb.post("/v1/jobs/reencode", headers=dep.headers("ada"))
        assert started.status_code == 202, started.text
        reencode = dep.wait_job(a, started.json()["id"])
        ran_on = jobs.require(reencode["id"]).owner
        time.sleep(1.0)  # searches after the switch, on both
    finally:
        stop.set()
        searcher.join(60)
    assert reencode["state"] == "succeeded", reencode
    assert failures == []
    new_version = reencode["result"]["target_version"]
    assert new_version != old_version and reencode["result"]["source_version"] == old_version
    for name, versions in seen.items():
        switches = sum(1 for x, y in itertools.pairwise(versions) if x != y)
        assert versions and versions[-1] == new_version and switches <= 1, (name, versions)
        assert set(versions) <= {old_version, new_version}
    assert store.served_collection() == reencode["result"]["target"]
    assert len({c for c in store.list_collections() if c.startswith(dep.settings.store.alias)}) == 2

    # --- one audit trail ----------------------------------------------------------------------------
    with dep.client(a) as ca:
        trail = ca.get("/v1/audit", params={"limit": 500}, headers=dep.headers("ada")).json()
    queries = {e["query"] for e in trail["entries"]}
    assert {"via-a report 7", "via-b report 7", "report 21"} <= queries
    assert "reencode" in {e["action"] for e in trail["entries"]}
    assert ran_on.split(":")[1] in {str(r.proc.pid) for r in (a, b) if r.proc is not None}
