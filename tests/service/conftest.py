"""A small served world for the API tests: generated PDFs ingested under random groups and tenants, one
SearchEngine (offline profile: MiniLM text + BM25, no hub) shared by a module's tests, and API-key users."""

from __future__ import annotations

import copy
import os
import random
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from figvault.access import Principal, Role
from figvault.ingest.extract import extract_document
from figvault.pipeline import users
from figvault.settings import Settings, load_settings
from figvault.units import make_unit_id
from tests.generated_docs import figure_pdf
from tests.helpers.lite import release_lite_store
from tests.helpers.server import no_rate_limits, wait_app_ready

TENANTS = ("acme", "globex")
GROUPS = ("g0", "g1", "g2", "g3")
JWT_SECRET = "service-tests-shared-secret-0123456789"
METRICS_TOKEN = "service-tests-scrape-token-0123456789abcdef"
SCRAPER = {"Authorization": f"Bearer {METRICS_TOKEN}"}
"""What the tests' Prometheus scraper sends to /metrics (closed by default)."""


@dataclass
class Doc:
    doc_id: str
    name: str
    tenant: str
    groups: list[str]
    unit_ids: list[str]


@dataclass
class World:
    settings: Settings
    client: TestClient
    docs: list[Doc]
    keys: dict[str, str] = field(default_factory=dict)
    """user name -> API key"""
    principals: dict[str, Principal] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[user]}"}

    def add_user(self, name: str, role: Role, groups: list[str], tenant: str) -> str:
        conn = sqlite3.connect(self.settings.registry_path)
        try:
            users.ensure_schema(conn)
            record, key = users.add_user(conn, name, role, groups, tenant)
        finally:
            conn.close()
        self.keys[name] = key
        self.principals[name] = record.principal()
        return key

    def add_jwt_principal(self, name: str, groups: list[str], tenant: str) -> None:
        """A caller known only by a signed token (no users row); groups may be empty."""
        claims = {"sub": name, "tenant": tenant, "groups": groups, "roles": ["reader"]}
        token = jwt.encode({**claims, "exp": int(time.time()) + 600}, JWT_SECRET, algorithm="HS256")
        self.keys[name] = token
        self.principals[name] = Principal(user=name, tenant=tenant, groups=groups, roles=[Role.READER])

    def unit_doc(self) -> dict[str, Doc]:
        return {uid: d for d in self.docs for uid in d.unit_ids}


def world_settings(data_dir: Path) -> Settings:
    """The offline profile on ``data_dir``, with the tests' JWT secret and scrape token."""
    settings = load_settings("offline", data_dir=data_dir)
    settings.service.jwt_secret = JWT_SECRET
    settings.service.metrics_token = METRICS_TOKEN
    return settings


def build_world(root: Path, n_docs: int, seed: int) -> tuple[Settings, list[Doc]]:
    settings = world_settings(root / "data")
    rng = random.Random(seed)
    docs: list[Doc] = []
    for i in range(n_docs):
        path = figure_pdf(root / f"report-{i}.pdf", seed=seed * 1000 + i, n_figures=rng.choice((1, 2)))
        tenant = rng.choice(TENANTS)
        groups = sorted(rng.sample(GROUPS, rng.choice((1, 1, 2))))
        docs.append(ingest_doc(settings, path, tenant, groups, f"doc-{i}"))
    return settings, docs


def ingest_doc(
    settings: Settings, path: Path, tenant: str, groups: list[str], doc_id: str, encoders: object = None
) -> Doc:
    """``path`` ingested as ``doc_id`` of ``tenant`` with ``groups``, and the unit ids it must get."""
    from figvault.pipeline.ingest_pipeline import ingest_paths

    extraction = extract_document(path, settings.extract)
    # Ingest ids are tenant- and doc-scoped (two tenants ingesting one file never collide).
    content_id = f"{tenant}/{doc_id}/{extraction.doc_sha256}"
    expected = [
        make_unit_id(content_id, f.unit.page, str(f.unit.kind), f.unit.bbox) for f in extraction.figures
    ]
    report = ingest_paths(
        settings, [path], groups=groups, tenant=tenant, doc_id=doc_id, progress=False, encoders=encoders
    )
    assert not report.failed, report
    return Doc(doc_id=doc_id, name=path.name, tenant=tenant, groups=groups, unit_ids=expected)


def _isolated_env(mp: pytest.MonkeyPatch) -> None:
    """What the autouse env isolation of tests/conftest.py guarantees, for fixtures wider than a test (it
    runs later than they do)."""
    for key in list(os.environ):
        if key.startswith("FIGVAULT_"):
            mp.delenv(key)
    mp.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture(scope="session")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Doc]]:
    """The world's data folder, built once a session and closed: its 8 documents extracted, encoded and
    stored once instead of once per module that uses ``world`` (8 modules). Each module serves a copy of
    it, so no module's uploads, deletes or users reach another's."""
    with pytest.MonkeyPatch.context() as mp:
        _isolated_env(mp)
        settings, docs = build_world(tmp_path_factory.mktemp("world-files"), n_docs=8, seed=5)
    release_lite_store(settings)  # its files settled, so the copies are whole
    return settings.data_dir, docs


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, world_files: tuple[Path, list[Doc]]) -> Iterator[World]:
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        _isolated_env(mp)
        files, built = world_files
        data_dir = tmp_path_factory.mktemp("world") / "data"
        shutil.copytree(files, data_dir)
        settings, docs = world_settings(data_dir), copy.deepcopy(built)
        no_rate_limits(settings)  # the module's tests send many requests from one address
        engine = SearchEngine.from_settings(settings)
        app = create_app(settings, engine=engine)
        with TestClient(app) as client:
            wait_app_ready(client)
            world = World(settings=settings, client=client, docs=docs)
            world.add_user("admin", Role.ADMIN, list(GROUPS), "acme")
            world.add_user("editor", Role.EDITOR, ["g0", "g1"], "acme")
            world.add_user("reader", Role.READER, list(GROUPS), "acme")
            yield world
        if callable(getattr(engine, "close", None)):
            engine.close()
