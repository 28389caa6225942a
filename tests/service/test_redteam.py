"""A low-privilege caller of one tenant and group trying to learn about another's documents through answers
that carry no id: which status a request gets, and whose budget it spends. Each test failed on the service
before its fix (a page another document's reader had viewed was served from the shared cache, 200 where an
unviewed page answers 429; a token of one tenant spent the request budget of another tenant's token with the
same subject)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator

import jwt
import pytest
from fastapi.testclient import TestClient

from figvault.access import Role
from figvault.pipeline import page_images, users
from tests.generated_docs import figure_pdf
from tests.service.conftest import JWT_SECRET, SCRAPER, World, ingest_doc


def upload(world: World, user: str, data: bytes, group: str) -> str:
    """``data`` uploaded as ``user`` into ``group``; the document id once its job succeeded."""
    sent = world.client.post(
        "/v1/documents",
        files={"files": ("copy.pdf", data, "application/pdf")},
        data={"groups": group},
        headers=world.headers(user),
    )
    assert sent.status_code == 202, sent.text
    deadline = time.monotonic() + 300
    while (job := world.client.get(f"/v1/jobs/{sent.json()['job_id']}", headers=world.headers(user)).json())[
        "state"
    ] not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    return sent.json()["documents"][0]["doc_id"]


def test_a_page_view_tells_nothing_of_another_documents_views(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Page images were cached by the file's hash alone. An attacker holding a copy of a file (a leaked
    report) uploaded it into their own tenant, kept one first render of theirs running, and asked for a
    page of their copy: a page some other tenant's reader had viewed came from the cache (200), any other
    page waited for a render (429). So they learnt that another tenant holds the file and reads that page.
    Renders are now kept per document: the copy's answer is the same whether or not the original was
    viewed."""
    world.add_user("rt-victim", Role.EDITOR, ["g0"], "acme")
    world.add_user("rt-attacker", Role.EDITOR, ["g0"], "globex")
    data = figure_pdf(tmp_path_factory.mktemp("rt") / "leaked.pdf", seed=7070).read_bytes()
    original = upload(world, "rt-victim", data, "g0")
    copy = upload(world, "rt-attacker", data, "g0")
    viewed = world.client.get(f"/v1/documents/{original}/pages/1/image", headers=world.headers("rt-victim"))
    assert viewed.status_code == 200, viewed.text
    attacker = world.principals["rt-attacker"].caller_key  # the route's caller key: tenant and account
    with page_images._rendering_guard:
        page_images._rendering_for.add(attacker)  # one first render of the attacker's own is running
    try:
        probe = world.client.get(f"/v1/documents/{copy}/pages/1/image", headers=world.headers("rt-attacker"))
    finally:
        with page_images._rendering_guard:
            page_images._rendering_for.discard(attacker)
    assert probe.status_code == 429, "the copy's page came from the original's cache"
    own = world.client.get(f"/v1/documents/{copy}/pages/1/image", headers=world.headers("rt-attacker"))
    assert own.status_code == 200 and own.content == viewed.content  # the same pixels, rendered for it


@pytest.fixture
def per_key_limited(world: World) -> Iterator[TestClient]:
    from figvault.service.app import create_app

    settings = world.settings.model_copy(deep=True)
    settings.service.rate_limit_per_key = "3/minute"
    with TestClient(create_app(settings, engine=world.client.app.state.engine)) as client:
        yield client


def token(sub: str, tenant: str) -> dict[str, str]:
    claims = {
        "sub": sub,
        "tenant": tenant,
        "groups": ["g0"],
        "roles": ["reader"],
        "exp": int(time.time()) + 60,
    }
    return {"Authorization": f"Bearer {jwt.encode(claims, JWT_SECRET, algorithm='HS256')}"}


def test_a_tokens_request_budget_is_its_tenants_own(world: World, per_key_limited: TestClient) -> None:
    """The per-key budget of a token was its subject's, and a subject is only unique within its tenant
    (``jwt:ana`` of acme and ``jwt:ana`` of globex are two callers): one tenant's caller could spend
    another's budget (429 for them) and read from its own 429s when the other was busy."""
    theirs, mine = token("ana", "acme"), token("ana", "globex")
    assert [per_key_limited.get("/v1/me", headers=theirs).status_code for _ in range(3)] == [200] * 3
    assert per_key_limited.get("/v1/me", headers=mine).status_code == 200
    assert per_key_limited.get("/v1/me", headers=theirs).status_code == 429  # its own budget still holds


def cache_hits(world: World) -> float:
    text = world.client.get("/metrics", headers=SCRAPER).text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("figvault_question_cache_hits")
    )


def test_a_search_tells_nothing_of_what_others_asked(world: World) -> None:
    """Question vectors were cached by their text alone, for every caller, and ``/metrics``
    counts the cache's hits: a reader of one tenant asked a question and saw the hit counter rise when
    anyone, of any tenant, had asked exactly that before. Search texts are data: the cache is now each
    caller's own (tenant and user), so another's question never makes a hit of one's own."""
    world.add_user("rt-asker", Role.READER, ["g0"], "acme")
    world.add_user("rt-prober", Role.READER, ["g0"], "globex")
    question = {"query": "the merger of acme with initech, board minutes", "top_k": 3}
    asked = world.client.post("/v1/search", json=question, headers=world.headers("rt-asker"))
    assert asked.status_code == 200, asked.text
    before = cache_hits(world)
    probe = world.client.post("/v1/search", json=question, headers=world.headers("rt-prober"))
    assert probe.status_code == 200, probe.text
    assert cache_hits(world) == before, "the prober's search was answered from the asker's question"
    again = world.client.post("/v1/search", json=question, headers=world.headers("rt-prober"))
    assert again.status_code == 200 and cache_hits(world) > before  # a caller's own repeat still hits


def test_an_api_user_named_cli_is_not_the_command_line(world: World) -> None:
    """The command line's jobs are started by ``cli``, and jobs were matched to their starter by name: an
    API-key user named ``cli`` (any editor an admin named so) saw every command-line job of its tenant, of
    any group, and could cancel it. Its account is not the command line's."""
    from figvault.pipeline.jobs import JobStore, JobType

    world.add_user("cli", Role.EDITOR, ["rt-none"], "acme")
    store = JobStore.open(world.settings)
    job = store.create(
        JobType.INGEST, {"paths": ["/nowhere"], "groups": ["g0"]}, started_by="cli", tenant="acme"
    )
    try:
        assert world.client.get(f"/v1/jobs/{job.id}", headers=world.headers("cli")).status_code == 404
        listed = world.client.get("/v1/jobs", headers=world.headers("cli")).json()["jobs"]
        assert job.id not in [j["id"] for j in listed]
        cancel = world.client.post(f"/v1/jobs/{job.id}/cancel", headers=world.headers("cli"))
        assert cancel.status_code == 404, cancel.text
    finally:
        store.request_cancel(job.id)  # the world's runner would otherwise try /nowhere


def test_a_tag_change_tells_an_editor_nothing_of_groups_it_is_not_in(
    world: World, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The listing shows an editor only the groups it shares with a document, but a tag change of one that
    also belongs to a group the editor is not in answered 403 "not all yours" (200 for a document of its
    own groups only): the editor learnt the hidden group exists. Now both answers are the same, and the
    answer, as the listing, names only the editor's groups."""
    path = figure_pdf(tmp_path_factory.mktemp("rt") / "tagged.pdf", seed=7171)
    engine = world.client.app.state.engine
    ingest_doc(world.settings, path, "acme", ["g0"], "doc-rt-alone", encoders=engine.encoders)
    ingest_doc(world.settings, path, "acme", ["g0", "g2"], "doc-rt-shared", encoders=engine.encoders)
    editor = world.headers("editor")  # groups g0, g1

    def retag(doc_id: str) -> tuple[int, dict]:
        answer = world.client.patch(f"/v1/documents/{doc_id}", json={"tags": ["rt"]}, headers=editor)
        body = answer.json()
        return answer.status_code, {k: v for k, v in body.items() if k not in ("doc_id", "updated_at")}

    alone, shared = retag("doc-rt-alone"), retag("doc-rt-shared")
    assert alone[0] == 200, alone
    assert shared == alone
    assert shared[1]["groups"] == ["g0"] and shared[1]["before"] == ["g0"]
    admin = world.client.get("/v1/documents/doc-rt-shared", headers=world.headers("admin")).json()
    assert admin["tags"] == ["rt"]  # the change was made, for every group that sees it


def test_a_name_given_again_is_shown_only_its_own_audit_entries(world: World) -> None:
    """Audit rows kept only the user name: an admin filtering the trail by the name of a user removed and
    added again (another person) was shown the old account's actions as the new one's. The trail's user
    filter is the account that holds the name now; the old account's entries are reached by ``account``."""
    world.add_user("rt-heir", Role.READER, ["g0"], "acme")
    old = world.principals["rt-heir"].identity
    assert world.client.get("/v1/documents", headers=world.headers("rt-heir")).status_code == 200
    with sqlite3.connect(world.settings.registry_path) as conn:
        assert users.revoke_user(conn, "rt-heir")
    world.add_user("rt-heir", Role.READER, ["g1"], "acme")
    new = world.principals["rt-heir"].identity
    assert new != old
    assert world.client.get("/v1/documents", headers=world.headers("rt-heir")).status_code == 200
    admin = world.headers("admin")

    def trail(**params: str) -> list[tuple[str, str | None, str]]:
        answer = world.client.get("/v1/audit", params={"action": "documents", **params}, headers=admin)
        assert answer.status_code == 200, answer.text
        return [(e["user"], e.get("account"), e["action"]) for e in answer.json()["entries"]]

    assert trail(user="rt-heir") == [("rt-heir", new, "documents")]
    assert trail(account=old) == [("rt-heir", old, "documents")]
    assert trail(user="rt-heir", account=old) == []


def test_audit_entry_ids_tell_nothing_of_other_tenants_activity(world: World) -> None:
    """The trail's ``id`` was the table's row id, one sequence for every tenant: an admin who read the
    trail twice learnt from the gap between its own entries exactly how many searches, unit views and
    uploads every other tenant made in between. An entry's id now counts its own tenant's entries only."""
    world.add_user("rt-audit-acme", Role.ADMIN, ["g0"], "acme")
    world.add_user("rt-audit-globex", Role.READER, ["g0"], "globex")
    admin = world.headers("rt-audit-acme")

    def newest_ids(query: str = "") -> list[int]:
        page = world.client.get(f"/v1/audit?limit=2{query}", headers=admin)
        assert page.status_code == 200, page.text
        return [entry["id"] for entry in page.json()["entries"]]

    assert world.client.get("/v1/documents", headers=admin).status_code == 200  # an entry of acme's
    newest_ids()  # and this read's own entry, written after it
    for _ in range(3):  # another tenant's audited reads
        answer = world.client.get("/v1/documents", headers=world.headers("rt-audit-globex"))
        assert answer.status_code == 200, answer.text
    assert world.client.get("/v1/documents", headers=admin).status_code == 200
    listed, read = newest_ids()
    assert listed == read + 1, f"acme's consecutive entries {read}, {listed}: the ids counted globex's"
    # A filtered page numbers its entries the same way: the two trail reads, the later one after `listed`.
    assert newest_ids("&action=audit") == [listed + 1, read], newest_ids("&action=audit")
