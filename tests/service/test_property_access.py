"""Property-style access test over HTTP (issue 12): random users, groups and tenants upload generated PDFs
(the same files and the same names in several tenants), and random callers ask random questions with random
filters and ``top_k`` through the service's ASGI app. Two properties, for every answer:

1. Nothing the caller may not see: every unit, ``also_in`` copy, document, job and count in a response is
   one the caller may see, by ``Principal.sees`` applied to what the store and the registry hold (the
   oracle is read beside the service, not through it); what they may not see answers 404 exactly like an
   id that does not exist.
2. Nothing changes for a caller when others upload documents the caller cannot see: result ids, ranks,
   fused and per-channel scores, ``no_match``, ``visible_documents``, document lists, the map and counts
   are the same before and after (floats to 1e-6: Milvus Lite recomputes dense cosines with another kernel
   after compacting the caller's rows with others', tests/retrieval/test_lexical_isolation.py).

Encoders: the offline profile's MiniLM text channel and BM25, plus the tiny random CLIP model (so image
queries and the CLIP channel take part); each question is encoded once and reused.
"""

from __future__ import annotations

import json
import math
import os
import random
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from figvault.access import Principal, Role
from figvault.pipeline import users
from figvault.settings import Settings
from tests.encoders.tiny_models import tiny_settings
from tests.generated_docs import TOPICS, figure_pdf, figure_png
from tests.helpers.jobs import finished_job
from tests.helpers.server import no_rate_limits, wait_app_ready
from tests.service.conftest import JWT_SECRET

SEED = 1212
TENANTS = ("acme", "globex")
OTHER_TENANT = "initech"
"""A tenant whose documents come only in the second phase."""
GROUPS = ("g0", "g1", "g2", "g3")
NAMES = tuple(f"report-{k}.pdf" for k in range(14))
"""Display names drawn for uploads: each recurs across tenants and groups."""
QUERIES_PER_CALLER = 48
"""Per caller and phase: 22 callers x 48 x 2 phases = 2,112 searches."""
WORDS = ("figure", "report", "quarterly", "trend", "zyzzyva", "map", "of", "2024", "by", "in")


@dataclass
class Caller:
    name: str
    principal: Principal
    headers: dict[str, str]

    @property
    def role(self) -> Role:
        return max(self.principal.roles, key=[Role.READER, Role.EDITOR, Role.ADMIN].index)


@dataclass
class Upload:
    name: str
    tenant: str
    groups: list[str]
    seed: int
    by: str
    doc_id: str = ""
    job_id: str = ""


@dataclass
class Corpus:
    settings: Settings
    client: TestClient
    engine: Any
    root: Path
    rng: random.Random
    callers: dict[str, Caller] = field(default_factory=dict)
    uploads: list[Upload] = field(default_factory=list)

    def truth(self) -> Truth:
        return Truth.read(self)


@dataclass
class Truth:
    """What is stored, read beside the service: unit -> (tenant, groups, doc_id); documents per tenant."""

    units: dict[str, tuple[str, list[str], str]]
    docs: dict[tuple[str, str], list[str]]
    names: dict[tuple[str, str], str]

    @classmethod
    def read(cls, corpus: Corpus) -> Truth:
        from figvault.pipeline.registry import DocumentRegistry, connect

        store = corpus.engine.store
        collection = store.served_collection()
        rows = (
            store.query_rows(collection, "", ["unit_id", "tenant", "groups", "doc_id"]) if collection else []
        )
        units = {r["unit_id"]: (r["tenant"], list(r["groups"]), r["doc_id"]) for r in rows}
        registry = DocumentRegistry(connect(corpus.settings))
        records = [r for t in (*TENANTS, OTHER_TENANT) for r in registry.list(tenant=t)]
        docs = {(r.tenant, r.doc_id): list(r.groups) for r in records}
        names = {(r.tenant, r.doc_id): r.name for r in records}
        return cls(units, docs, names)

    def visible_units(self, p: Principal) -> set[str]:
        return {u for u, (tenant, groups, _) in self.units.items() if p.sees(tenant, groups)}

    def visible_docs(self, p: Principal) -> set[str]:
        return {d for (tenant, d), groups in self.docs.items() if p.sees(tenant, groups)}


# ---- building the corpus ---------------------------------------------------------------------------------


def add_callers(corpus: Corpus) -> None:
    rng, conn = corpus.rng, sqlite3.connect(corpus.settings.registry_path)
    try:
        users.ensure_schema(conn)
        roles = [Role.READER] * 7 + [Role.EDITOR] * 7 + [Role.ADMIN] * 4 + [Role.EDITOR, Role.ADMIN]
        for i, role in enumerate(roles):
            tenant = TENANTS[i % 2] if i < 18 else OTHER_TENANT  # the last two: the tenant of phase 2 only
            groups = sorted(rng.sample(GROUPS, rng.choice((1, 1, 2))))
            record, key = users.add_user(conn, f"u{i}", role, groups, tenant)
            corpus.callers[record.name] = Caller(record.name, record.principal(), bearer(key))
    finally:
        conn.close()
    for i in range(4):  # token callers, some with no group at all
        tenant, groups = TENANTS[i % 2], sorted(rng.sample(GROUPS, rng.randint(0, 2)))
        claims = {"sub": f"t{i}", "tenant": tenant, "groups": groups, "roles": ["reader"], "exp": 2**31}
        token = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        principal = Principal(user=f"jwt:t{i}", tenant=tenant, groups=groups, roles=[Role.READER])
        corpus.callers[f"t{i}"] = Caller(f"t{i}", principal, bearer(token))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def uploader(corpus: Corpus, tenant: str, rng: random.Random) -> Caller:
    able = [c for c in corpus.callers.values() if c.principal.tenant == tenant and c.role != Role.READER]
    return rng.choice(sorted(able, key=lambda c: c.name))


def upload_all(corpus: Corpus, planned: list[Upload]) -> None:
    """Each planned upload through ``POST /v1/documents`` by its uploader, then every job to its end."""
    for up in planned:
        pdf = figure_pdf(corpus.root / f"seed-{up.seed}.pdf", seed=up.seed, n_figures=1 + up.seed % 2)
        files = [("files", (up.name, pdf.read_bytes(), "application/pdf"))]
        data = {"groups": ",".join(up.groups), "tags": f"t{up.seed % 3}"}
        response = corpus.client.post(
            "/v1/documents", files=files, data=data, headers=corpus.callers[up.by].headers
        )
        assert response.status_code == 202, response.text
        up.job_id, up.doc_id = response.json()["job_id"], response.json()["documents"][0]["doc_id"]
    for up in planned:
        assert wait_job(corpus, up)["state"] == "succeeded"
    corpus.uploads.extend(planned)


def wait_job(corpus: Corpus, up: Upload, timeout_s: float = 180) -> dict:
    return finished_job(corpus.client, up.job_id, corpus.callers[up.by].headers, timeout_s)


def plan_uploads(
    corpus: Corpus, n: int, tenants: tuple[str, ...], groups_from: tuple[str, ...]
) -> list[Upload]:
    """``n`` uploads: groups from ``groups_from`` that the uploader may assign, a name no document the
    uploader can see carries (so each upload is a new document; the same name may exist in other groups and
    tenants), content from a small pool of seeds (the same file lands in several tenants and groups)."""
    rng, planned = corpus.rng, []
    for _ in range(n):
        tenant = rng.choice(tenants)
        by = uploader(corpus, tenant, rng)
        pool = sorted(set(by.principal.groups) & set(groups_from)) if by.role == Role.EDITOR else []
        if not pool:  # an admin may give any group of the tenant
            by, pool = admin_of(corpus, tenant), sorted(groups_from)
        groups = sorted(rng.sample(pool, rng.randint(1, min(2, len(pool)))))
        seen = {u.name for u in [*corpus.uploads, *planned] if by.principal.sees(u.tenant, u.groups)}
        name = rng.choice([m for m in NAMES if m not in seen])
        planned.append(Upload(name, tenant, groups, rng.randint(1, 9), by.name))
    return planned


def admin_of(corpus: Corpus, tenant: str) -> Caller:
    return next(c for c in corpus.callers.values() if c.principal.tenant == tenant and c.role == Role.ADMIN)


def remember_questions(engine: Any) -> None:
    """Each question is encoded once by the real model and reused: the answers are under test, not MiniLM."""
    encode, memo = engine.encode_question, {}

    def cached(encoders: Any, text: str, scope: str = "") -> Any:
        if text not in memo:
            memo[text] = encode(encoders, text, scope=scope)
        return memo[text]

    engine.encode_question = cached


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Corpus]:
    from figvault.retrieval.search import SearchEngine
    from figvault.service.app import create_app

    root = tmp_path_factory.mktemp("property")
    with pytest.MonkeyPatch.context() as mp:
        for key in list(os.environ):
            if key.startswith("FIGVAULT_"):
                mp.delenv(key)
        mp.setenv("HF_HUB_OFFLINE", "1")
        settings = tiny_settings(root / "data", profile="offline")
        settings.service.jwt_secret = JWT_SECRET
        settings.extract.workers = 1
        # Thousands of requests from one address in a few minutes: a 429 would make compared answers differ.
        no_rate_limits(settings)
        engine = SearchEngine.from_settings(settings)
        remember_questions(engine)
        with TestClient(create_app(settings, engine=engine)) as client:
            wait_app_ready(client)
            corpus = Corpus(settings, client, engine, root, random.Random(SEED))
            add_callers(corpus)
            upload_all(corpus, plan_uploads(corpus, 12, TENANTS, GROUPS))
            yield corpus
        if callable(getattr(engine, "close", None)):
            engine.close()


# ---- random questions ------------------------------------------------------------------------------------


def question_pool(rng: random.Random, n: int = 60) -> list[str]:
    """Question texts: topics, report numbers, words mixed with topics, words found nowhere."""
    pool = [*TOPICS, *(f"report {k}" for k in range(1, 10))]
    while len(pool) < n:
        words = [*rng.sample(WORDS, rng.randint(1, 3)), *rng.choice(TOPICS).split()[: rng.randint(0, 2)]]
        rng.shuffle(words)
        pool.append(" ".join(words))
    return pool


def random_filters(rng: random.Random, doc_ids: list[str]) -> dict[str, Any]:
    """Zero to two filters; ``doc_ids`` and ``docs`` also name documents the caller cannot see."""
    choices: list[tuple[str, Any]] = [
        ("doc_ids", sorted(rng.sample(doc_ids, rng.randint(1, 3)))),
        ("docs", sorted(rng.sample(NAMES, rng.randint(1, 3)))),
        ("kinds", [rng.choice(("raster", "vector", "mixed"))]),
        ("tags", [f"t{rng.randint(0, 2)}"]),
        ("pages", [1, 1]),
        ("min_width", rng.choice((10, 300, 2000))),
        ("aspect", rng.choice(("landscape", "portrait", "square"))),
    ]
    return dict(rng.sample(choices, rng.choice((0, 0, 1, 1, 2))))


@dataclass(frozen=True)
class Query:
    text: str
    top_k: int
    filters: dict[str, Any]
    image_seed: int | None = None
    """A search by example image (``/v1/search/image``) when set."""


def random_queries(rng: random.Random, pool: list[str], doc_ids: list[str], n: int) -> list[Query]:
    out = []
    for _ in range(n):
        top_k = rng.choice((1, 2, 3, 5, 10, 20, 50, 200))
        image = rng.randint(1, 9) * 100 if rng.random() < 0.1 else None
        out.append(Query(rng.choice(pool), top_k, random_filters(rng, doc_ids), image))
    return out


def ask(corpus: Corpus, caller: Caller, q: Query) -> dict[str, Any]:
    if q.image_seed is None:
        body = {"query": q.text, "top_k": q.top_k, "filters": q.filters}
        response = corpus.client.post("/v1/search", json=body, headers=caller.headers)
    else:
        response = corpus.client.post(
            "/v1/search/image",
            files={"image": ("q.png", figure_png(q.image_seed), "image/png")},
            data={"top_k": str(q.top_k), "filters": json.dumps(q.filters)},
            headers=caller.headers,
        )
    assert response.status_code == 200, (caller.name, q, response.text)
    answer = response.json()
    answer.pop("timings")
    return answer


# ---- what a caller may see -------------------------------------------------------------------------------


def check_answer(answer: dict[str, Any], caller: Caller, truth: Truth) -> None:
    units, docs = truth.visible_units(caller.principal), truth.visible_docs(caller.principal)
    for hit in answer["results"]:
        assert hit["unit_id"] in units and hit["doc_id"] in docs, (caller.name, hit["unit_id"])
        assert {ref["unit_id"] for ref in hit["also_in"]} <= units, (caller.name, hit["also_in"])
        assert {ref["doc_id"] for ref in hit["also_in"]} <= docs
    expected = None if answer["results"] else len(docs)
    assert answer["visible_documents"] == expected, caller.name


def job_visible_to(caller: Caller, up: Upload) -> bool:
    p = caller.principal
    if p.tenant != up.tenant:
        return False
    return caller.role == Role.ADMIN or up.by == caller.name or p.sees(up.tenant, up.groups)


def views(corpus: Corpus, caller: Caller, truth: Truth) -> dict[str, Any]:
    """Every read besides search a caller may make, checked against the oracle; returns what they got."""
    get, p = corpus.client.get, caller.principal
    units, docs = truth.visible_units(p), truth.visible_docs(p)
    listing = get("/v1/documents", headers=caller.headers).json()
    assert {d["doc_id"] for d in listing["documents"]} == docs and listing["total"] == len(docs)
    for d in listing["documents"]:
        assert set(d["groups"]) <= set(p.groups)
        assert d["units"] == sum(1 for (t, _, i) in truth.units.values() if (t, i) == (p.tenant, d["doc_id"]))
    check_documents(corpus, caller, truth)
    hidden = sorted(set(truth.units) - units)
    for unit_id in corpus.rng.sample(hidden, min(4, len(hidden))):
        for path in ("/v1/units/{}", "/v1/units/{}/image"):
            got = get(path.format(unit_id), headers=caller.headers)
            missing = get(path.format("0" * 32), headers=caller.headers)
            assert (got.status_code, got.content) == (404, missing.content), (caller.name, path, unit_id)
    seen: dict[str, Any] = {"documents": listing}
    if caller.role != Role.READER:
        seen["jobs"] = check_jobs(corpus, caller)
    if caller.role == Role.ADMIN:
        seen["map"] = get("/v1/admin/map", headers=caller.headers).json()
        assert {pt["unit_id"] for pt in seen["map"]["points"]} == units and seen["map"]["total"] == len(units)
        status = get("/v1/status", headers=caller.headers).json()
        seen["status_units"] = status["units"]
        assert status["units"] == sum(1 for (t, _, _) in truth.units.values() if t == p.tenant)
    return seen


def check_documents(corpus: Corpus, caller: Caller, truth: Truth) -> None:
    """A few documents the caller sees and a few they do not (ids of any tenant), by ``GET
    /v1/documents/{id}``, its units and its page image: 200, or 404 exactly as for an id that does not exist.
    """
    get, rng = corpus.client.get, corpus.rng
    units, docs = truth.visible_units(caller.principal), truth.visible_docs(caller.principal)
    every = sorted({d for _, d in truth.docs})
    shown, hidden = [d for d in every if d in docs], [d for d in every if d not in docs]
    sample = sorted({*rng.sample(shown, min(3, len(shown))), *rng.sample(hidden, min(3, len(hidden)))})
    for path in ("/v1/documents/{}", "/v1/documents/{}/units", "/v1/documents/{}/pages/1/image"):
        missing = get(path.format("no-such-doc.pdf"), headers=caller.headers)
        for doc_id in sample:
            got = get(path.format(doc_id), headers=caller.headers)
            if doc_id in docs:
                assert got.status_code == 200, (caller.name, path, doc_id)
                if path.endswith("/units"):
                    assert {u["unit_id"] for u in got.json()["units"]} <= units
            else:
                assert (got.status_code, got.content) == (404, missing.content), (caller.name, path, doc_id)


def check_jobs(corpus: Corpus, caller: Caller) -> list[str]:
    listed = corpus.client.get("/v1/jobs", params={"limit": 500}, headers=caller.headers).json()["jobs"]
    ids = sorted(j["id"] for j in listed)
    assert ids == sorted(u.job_id for u in corpus.uploads if job_visible_to(caller, u)), caller.name
    missing = corpus.client.get("/v1/jobs/" + "0" * 12, headers=caller.headers)
    hidden = sorted(u.job_id for u in corpus.uploads if u.job_id not in ids)
    for job_id in corpus.rng.sample(hidden, min(3, len(hidden))):
        got = corpus.client.get(f"/v1/jobs/{job_id}", headers=caller.headers)
        assert (got.status_code, got.content) == (404, missing.content), (caller.name, job_id)
    return ids


def same(got: Any, expected: Any, where: str = "") -> None:
    """Equal, floats to 1e-6 (dense cosines: see the module docstring)."""
    if isinstance(expected, float) or isinstance(got, float):
        assert math.isclose(got, expected, rel_tol=0, abs_tol=1e-6), (where, got, expected)
    elif isinstance(expected, dict):
        assert isinstance(got, dict) and got.keys() == expected.keys(), (where, got, expected)
        for key in expected:
            same(got[key], expected[key], f"{where}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), (where, got, expected)
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            same(g, e, f"{where}[{i}]")
    else:
        assert got == expected, (where, got, expected)


# ---- the properties --------------------------------------------------------------------------------------


def test_no_leak_and_others_uploads_change_nothing(corpus: Corpus) -> None:
    rng = corpus.rng
    truth = corpus.truth()
    pool = question_pool(rng)
    doc_ids = sorted({d for _, d in truth.docs})
    callers = sorted(corpus.callers.values(), key=lambda c: c.name)
    queries = {c.name: random_queries(rng, pool, doc_ids, QUERIES_PER_CALLER) for c in callers}

    def phase(truth: Truth) -> tuple[dict[str, list[dict]], dict[str, dict]]:
        answers, seen = {}, {}
        for caller in callers:
            answers[caller.name] = [ask(corpus, caller, q) for q in queries[caller.name]]
            for answer in answers[caller.name]:
                check_answer(answer, caller, truth)
            seen[caller.name] = views(corpus, caller, truth)
        return answers, seen

    named = [(u.tenant, u.name) for u in corpus.uploads]
    assert len(set(named)) < len(named)  # one name, documents of different groups in a tenant
    before, seen_before = phase(truth)
    # Others upload: the same files and names in another tenant, and in group g3 of the first two.
    second = plan_uploads(corpus, 4, (OTHER_TENANT,), GROUPS) + plan_uploads(corpus, 4, TENANTS, ("g3",))
    upload_all(corpus, second)
    after_truth = corpus.truth()
    after, seen_after = phase(after_truth)

    new_docs = {(u.tenant, u.doc_id, tuple(u.groups)) for u in second}
    unaffected = [c for c in callers if not any(c.principal.sees(t, list(g)) for t, _, g in new_docs)]
    assert len(unaffected) >= len(callers) // 3 and len(unaffected) < len(callers), [
        c.name for c in unaffected
    ]
    # The new documents repeat files the unaffected callers see, in both tenants (words, images, duplicates).
    assert set(TENANTS) <= {c.principal.tenant for c in unaffected}
    first = [u for u in corpus.uploads if u not in second]
    seen_seeds = {u.seed for u in first for c in unaffected if c.principal.sees(u.tenant, u.groups)}
    assert {u.seed for u in second} & seen_seeds
    assert any(a["results"] for c in unaffected for a in before[c.name])
    touched_tenants = {u.tenant for u in second}
    for caller in unaffected:
        same(after[caller.name], before[caller.name], caller.name)
        got, expected = seen_after[caller.name], seen_before[caller.name]
        same(got["documents"], expected["documents"], caller.name)
        if "map" in expected:
            same(got["map"], expected["map"], caller.name)
        if caller.principal.tenant not in touched_tenants and "status_units" in expected:
            assert got["status_units"] == expected["status_units"]
        if caller.role == Role.EDITOR:
            assert got["jobs"] == expected["jobs"], caller.name

    # The draw exercised what it should: hidden units, empty and full answers, every kind of caller.
    searches = sum(len(a) for a in before.values()) + sum(len(a) for a in after.values())
    assert searches >= 2000
    all_answers = [a for by in (before, after) for answers in by.values() for a in answers]
    assert any(a["results"] for a in all_answers) and any(not a["results"] for a in all_answers)
    assert any(hit["also_in"] for a in all_answers for hit in a["results"])
    assert any(a["no_match"] for a in all_answers)
    assert len(truth.units) > max(len(truth.visible_units(c.principal)) for c in callers) > 0


def test_same_name_in_another_group_changes_nothing_for_its_owners(corpus: Corpus) -> None:
    rng = random.Random(SEED + 1)
    target = next(u for u in corpus.uploads if u.tenant == TENANTS[0] and set(u.groups) != set(GROUPS))
    outside = sorted(set(GROUPS) - set(target.groups))[:1]
    conn = sqlite3.connect(corpus.settings.registry_path)
    try:
        record, key = users.add_user(conn, "intruder", Role.EDITOR, outside, target.tenant)
    finally:
        conn.close()
    corpus.callers["intruder"] = intruder = Caller("intruder", record.principal(), bearer(key))
    owners = [  # they see the document, and would not see the intruder's
        c
        for c in corpus.callers.values()
        if c.principal.sees(target.tenant, target.groups) and not c.principal.sees(target.tenant, outside)
    ]
    assert owners and not intruder.principal.sees(target.tenant, target.groups)
    truth = corpus.truth()
    pool = question_pool(rng, 20)
    queries = random_queries(rng, pool, sorted({d for _, d in truth.docs}), 12)

    def answers() -> dict[str, Any]:
        return {
            c.name: ([ask(corpus, c, q) for q in queries], views(corpus, c, corpus.truth())) for c in owners
        }

    before = answers()
    twin = Upload(target.name, target.tenant, outside, target.seed + 1, "intruder")
    upload_all(corpus, [twin])
    job = wait_job(corpus, twin)
    assert job["result"].get("replaced", 0) == 0, job  # nothing says a document of that name exists
    after = answers()
    for owner in owners:
        same(after[owner.name][0], before[owner.name][0], owner.name)
        same(after[owner.name][1]["documents"], before[owner.name][1]["documents"], owner.name)
    # No unit is left without its document record (of the same tenant and groups).
    final = corpus.truth()
    for unit_id, (tenant, groups, doc_id) in final.units.items():
        assert sorted(final.docs.get((tenant, doc_id), ["(no record)"])) == sorted(groups), unit_id
