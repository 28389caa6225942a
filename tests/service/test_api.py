"""The HTTP API through TestClient: credentials, roles, search shape, units and images, audit, metrics."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import time
from pathlib import Path

import jwt
import pytest

from figvault.access import Role
from figvault.pipeline import users
from tests.generated_docs import figure_pdf
from tests.service.conftest import JWT_SECRET, SCRAPER, World, ingest_doc

PROTECTED = [
    ("POST", "/v1/search", {"json": {"query": "revenue"}}),
    ("POST", "/v1/search/image", {"files": {"image": ("a.png", b"x", "image/png")}}),
    ("GET", "/v1/units/0123", {}),
    ("GET", "/v1/units/0123/image", {}),
    ("GET", "/v1/documents", {}),
    ("GET", "/v1/documents/doc-0", {}),
    ("POST", "/v1/documents", {"files": {"files": ("a.pdf", b"%PDF-1.4", "application/pdf")}}),
    ("DELETE", "/v1/documents/doc-0", {}),
    ("GET", "/v1/audit", {}),
]


def audit_rows(world: World) -> list[tuple]:
    world.client.app.state.audit.flush()  # search rows are committed by the audit writer thread
    conn = sqlite3.connect(world.settings.registry_path)
    try:
        return conn.execute("SELECT user, action, query, unit_ids_json FROM audit ORDER BY id").fetchall()
    finally:
        conn.close()


def test_health_ready_and_openapi(world: World) -> None:
    assert world.client.get("/healthz").json() == {"status": "ok"}
    ready = world.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    spec = world.client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    search_op = spec["paths"]["/v1/search"]["post"]
    assert search_op["tags"] == ["search"] and search_op["summary"]
    assert {"401", "403"} <= set(search_op["responses"])
    assert "/v1/units/{unit_id}/image" in spec["paths"]


@pytest.mark.parametrize(("method", "path", "kwargs"), PROTECTED)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ", "Bearer nonsense", "Basic YWRtaW46YWRtaW4=", "Bearer fvk_0123456789abcdef_" + "A" * 43],
)
def test_missing_or_bad_credentials_401(
    world: World, method: str, path: str, kwargs: dict, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = world.client.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 401, (method, path, response.text)
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {"detail": "missing or invalid credentials"}


@pytest.mark.parametrize(
    ("user", "method", "path", "kwargs"),
    [
        ("reader", "POST", "/v1/documents", {"files": {"files": ("a.pdf", b"%PDF-1.4", "application/pdf")}}),
        ("reader", "DELETE", "/v1/documents/doc-0", {}),
        ("reader", "GET", "/v1/audit", {}),
        ("editor", "DELETE", "/v1/documents/doc-0", {}),
        ("editor", "GET", "/v1/audit", {}),
    ],
)
def test_wrong_role_403(world: World, user: str, method: str, path: str, kwargs: dict) -> None:
    response = world.client.request(method, path, headers=world.headers(user), **kwargs)
    assert response.status_code == 403, response.text


def test_search_shape_audit_and_metrics(world: World) -> None:
    before = len(audit_rows(world))
    response = world.client.post(
        "/v1/search", json={"query": "turbine vibration", "top_k": 5}, headers=world.headers("reader")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"results", "no_match", "timings"}
    assert body["results"], body
    hit = body["results"][0]
    for key in ("unit_id", "doc", "page", "bbox", "kind", "title", "caption", "score", "image_url"):
        assert key in hit
    assert "channel_scores" in hit
    assert hit["image_url"] == f"/v1/units/{hit['unit_id']}/image"
    assert "image" not in hit and "groups" not in hit and "tenant" not in hit  # storage details stay inside
    assert len(body["results"]) <= 5

    rows = audit_rows(world)
    assert len(rows) == before + 1
    user, action, query, unit_ids_json = rows[-1]
    assert (user, action, query) == ("reader", "search", "turbine vibration")
    import json

    assert json.loads(unit_ids_json) == [h["unit_id"] for h in body["results"]]

    page = world.client.get("/v1/audit", params={"limit": 1}, headers=world.headers("admin")).json()
    assert page["entries"][0]["query"] == "turbine vibration" and page["total"] >= 1

    metrics = world.client.get("/metrics", headers=SCRAPER)
    assert metrics.status_code == 200
    text = metrics.text
    assert 'figvault_http_requests_total{method="POST",route="/v1/search",status="200"}' in text
    assert 'figvault_search_step_duration_seconds_count{step="encode"}' in text
    assert "turbine" not in text  # no query text, ids or tenants in metrics


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"query": ""},
        {"query": "x", "top_k": 0},
        {"query": "x", "top_k": 1000},
        {"query": "x", "tenant": "b"},
    ],
)
def test_search_validation_422(world: World, body: dict) -> None:
    response = world.client.post("/v1/search", json=body, headers=world.headers("reader"))
    assert response.status_code == 422


def test_a_search_body_not_sent_as_json_is_said_so(world: World) -> None:
    """A body sent without ``Content-Type: application/json`` (curl -d's default is a form) got FastAPI's
    'Input should be a valid dictionary or object to extract fields from' (a first-hour audit)."""
    headers = world.headers("reader")
    kinds = ("application/x-www-form-urlencoded", "text/plain", "text/json", "application/x-ndjson")
    for extra in ({}, *({"content-type": kind} for kind in kinds)):
        sent = world.client.post("/v1/search", content=b'{"query": "revenue"}', headers=headers | extra)
        assert sent.status_code == 422, sent.text
        assert (
            sent.json()["detail"][0]["msg"]
            == "the body must be a JSON object, sent with Content-Type: application/json"
        )
    listed = world.client.post("/v1/search", json=["revenue"], headers=headers)  # JSON, not an object
    assert listed.status_code == 422 and "Content-Type" not in listed.text


def test_unit_and_image(world: World) -> None:
    doc = next(d for d in world.docs if d.tenant == "acme")
    unit_id = doc.unit_ids[0]
    headers = world.headers("reader")
    unit = world.client.get(f"/v1/units/{unit_id}", headers=headers)
    assert unit.status_code == 200, unit.text
    assert unit.json()["unit_id"] == unit_id and unit.json()["doc_id"] == doc.doc_id
    assert "title" in unit.json()
    image = world.client.get(f"/v1/units/{unit_id}/image", headers=headers)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png" and image.content.startswith(b"\x89PNG")
    assert image.headers["cache-control"].startswith("private")
    again = world.client.get(
        f"/v1/units/{unit_id}/image", headers={**headers, "If-None-Match": image.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""


def test_revoked_key_401(world: World) -> None:
    key = world.add_user("temp", Role.READER, ["g0"], "acme")
    ok = world.client.get("/v1/documents", headers={"Authorization": f"Bearer {key}"})
    assert ok.status_code == 200
    conn = sqlite3.connect(world.settings.registry_path)
    assert users.revoke_user(conn, "temp")
    conn.close()
    assert world.client.get("/v1/documents", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def _token(**claims: object) -> str:
    now = int(time.time())
    payload = {"sub": "jwt-user", "tenant": "acme", "groups": ["g0"], "roles": ["reader"], "exp": now + 60}
    payload.update(claims)
    return jwt.encode(payload, JWT_SECRET, algorithm="HS256")


def test_jwt_over_http(world: World) -> None:
    visible = {uid for d in world.docs if d.tenant == "acme" and "g0" in d.groups for uid in d.unit_ids}
    ok = world.client.post(
        "/v1/search",
        json={"query": "report", "top_k": 50},
        headers={"Authorization": f"Bearer {_token()}"},
    )
    assert ok.status_code == 200, ok.text
    assert {h["unit_id"] for h in ok.json()["results"]} <= visible
    for bad in (_token(exp=int(time.time()) - 60), _token(aud="someone-else")):
        response = world.client.get("/v1/documents", headers={"Authorization": f"Bearer {bad}"})
        assert response.status_code == 401
    reader_token = _token(roles=["reader"])
    assert (
        world.client.get("/v1/audit", headers={"Authorization": f"Bearer {reader_token}"}).status_code == 403
    )


def _pdf_bytes(seed: int) -> bytes:
    import tempfile
    from pathlib import Path

    from tests.generated_docs import figure_pdf

    with tempfile.TemporaryDirectory() as tmp:
        return figure_pdf(Path(tmp) / "x.pdf", seed=seed, n_figures=1).read_bytes()


def _zip_bytes() -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("readme.txt", "not a deck")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (_zip_bytes(), "a zip archive"),
        (b"just some text pretending to be a pdf", "not a PDF or PPTX"),
        (b"", "empty file"),
    ],
)
def test_upload_type_is_sniffed(world: World, data: bytes, reason: str) -> None:
    response = world.client.post(
        "/v1/documents",
        files={"files": ("report.pdf", data, "application/pdf")},
        data={"groups": "g0"},
        headers=world.headers("editor"),
    )
    assert response.status_code == 415, response.text
    assert reason in response.json()["detail"] and "report.pdf" in response.json()["detail"]


def test_a_batch_upload_reports_each_rejected_file_and_queues_the_rest(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several files: the unusable ones are listed as rejected with their reason (an empty name, not a PDF
    or PPTX), the others queued in one job; every spooled upload folder is removed."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where the uploads are spooled
    files = [
        ("files", ("..", _pdf_bytes(911), "application/pdf")),
        ("files", ("notes.pdf", _zip_bytes(), "application/pdf")),
        ("files", ("batch.pdf", _pdf_bytes(912), "application/pdf")),
    ]
    response = world.client.post(
        "/v1/documents", files=files, data={"groups": "g0"}, headers=world.headers("editor")
    )
    assert response.status_code == 202, response.text
    body = response.json()
    states = [(d["name"], d["state"]) for d in body["documents"]]
    assert states == [("", "rejected"), ("notes.pdf", "rejected"), ("batch.pdf", "queued")]
    assert "not usable" in body["documents"][0]["error"] and "zip" in body["documents"][1]["error"]
    assert body["job_id"] and body["documents"][2]["doc_id"]
    assert list(tmp_path.glob("figvault-upload-*")) == []


def test_search_timings_name_every_stable_step(world: World) -> None:
    """INTERFACES.md lists the timing keys lookup, encode, recall, fetch, rerank, total: a step that did not
    run (rerank off; everything but the lookup for a caller who sees no document) reads 0, not absent."""
    stable = {"lookup", "encode", "recall", "fetch", "rerank", "total"}
    world.add_user("timings-nobody", Role.READER, ["no-such-group"], "acme")
    for user in ("reader", "timings-nobody"):
        response = world.client.post(
            "/v1/search", json={"query": "turbine vibration", "rerank": False}, headers=world.headers(user)
        )
        assert response.status_code == 200, response.text
        timings = response.json()["timings"]
        assert stable <= set(timings), (user, timings)
        assert timings["rerank"] == 0.0 and timings["total"] > 0


def test_an_upload_with_nothing_usable_is_refused(world: World) -> None:
    alone = world.client.post(
        "/v1/documents",
        files={"files": ("..", _pdf_bytes(913), "application/pdf")},
        data={"groups": "g0"},
        headers=world.headers("editor"),
    )
    assert alone.status_code == 422 and "not usable" in alone.json()["detail"]
    several = world.client.post(
        "/v1/documents",
        files=[
            ("files", ("a.pdf", _zip_bytes(), "application/pdf")),
            ("files", ("b.pdf", b"", "application/pdf")),
        ],
        data={"groups": "g0"},
        headers=world.headers("editor"),
    )
    assert several.status_code == 415 and "no file is a PDF or PPTX" in several.json()["detail"]


def test_upload_groups_are_checked(world: World) -> None:
    pdf = _pdf_bytes(901)
    for groups, code in (("g3", 403), ("", 422), ("bad'group", 422)):
        response = world.client.post(
            "/v1/documents",
            files={"files": ("a.pdf", pdf, "application/pdf")},
            data={"groups": groups},
            headers=world.headers("editor"),
        )
        assert response.status_code == code, (groups, response.text)


def test_a_form_field_nobody_reads_is_refused_by_name(world: World) -> None:
    """``-F tag=q3 -F group=hr`` (the CLI's flags are singular) was dropped: the upload was queued with no
    tag, and the groups error named only ``groups``. Both forms now refuse a field they do not read, after
    the caller is known (no key: still 401)."""
    pdf = _pdf_bytes(902)
    mistyped = world.client.post(
        "/v1/documents",
        files={"files": ("a.pdf", pdf, "application/pdf")},
        data={"groups": "g0", "tag": "q3"},
        headers=world.headers("editor"),
    )
    assert mistyped.status_code == 422, mistyped.text
    detail = mistyped.json()["detail"]
    assert [d["loc"] for d in detail] == [["body", "tag"]]
    assert detail[0]["msg"] == "not a field of this form (its fields: doc_id, files, groups, tags)"
    image = world.client.post(
        "/v1/search/image",
        files={"image": ("x.png", b"\x89PNG\r\n\x1a\n", "image/png")},
        data={"topk": "3"},
        headers=world.headers("reader"),
    )
    assert image.status_code == 422 and image.json()["detail"][0]["loc"] == ["body", "topk"]
    anonymous = world.client.post(
        "/v1/documents", files={"files": ("a.pdf", pdf, "application/pdf")}, data={"tag": "q3"}
    )
    assert anonymous.status_code == 401


def test_search_top_k_setting_is_the_default_number_of_results(world: World) -> None:
    """``search.top_k`` was read nowhere: a request without ``top_k`` got 10 whatever the setting said."""
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app

    one = world.settings.model_copy(deep=True)
    one.search.top_k = 1
    headers = world.headers("reader")
    with TestClient(create_app(one, engine=world.client.app.state.engine)) as client:
        default = client.post("/v1/search", json={"query": "revenue"}, headers=headers)
        asked = client.post("/v1/search", json={"query": "revenue", "top_k": 3}, headers=headers)
    assert default.status_code == asked.status_code == 200, default.text
    assert len(default.json()["results"]) == 1 < len(asked.json()["results"])


def test_upload_size_limit_413(world: World) -> None:
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app

    small = world.settings.model_copy(deep=True)
    small.service.max_upload_mb = 1
    app = create_app(small, engine=world.client.app.state.engine)
    with TestClient(app) as client:
        headers = world.headers("editor")
        # Over the file limit but inside the body cap: refused while copying.
        over_file = b"%PDF-1.4\n" + b"0" * (int(1.5 * 2**20))
        r1 = client.post(
            "/v1/documents",
            files={"files": ("big.pdf", over_file, "application/pdf")},
            data={"groups": "g0"},
            headers=headers,
        )
        assert r1.status_code == 413 and "limit" in r1.json()["detail"]
        # Over the body cap: refused before the multipart body is parsed.
        r2 = client.post(
            "/v1/documents",
            files={"files": ("big.pdf", b"0" * (3 * 2**20), "application/pdf")},
            data={"groups": "g0"},
            headers=headers,
        )
        assert r2.status_code == 413


def _wait_for_job(world: World, job_id: str, user: str, timeout_s: float = 120) -> dict:
    from tests.helpers.jobs import finished_job

    return finished_job(world.client, job_id, world.headers(user), timeout_s)


def test_upload_search_and_delete(world: World, tmp_path_factory: pytest.TempPathFactory) -> None:
    import tempfile
    import uuid
    from pathlib import Path

    trick = f"figvault-evil-{uuid.uuid4().hex}.pdf"
    response = world.client.post(
        "/v1/documents",
        files={"files": (f"../../../{trick}", _pdf_bytes(902), "application/pdf")},
        data={"groups": "g1"},
        headers=world.headers("editor"),
    )
    # Uploads become an ingest job (docs/jobs.md): 202 with its id, then the job indexes the file.
    assert response.status_code == 202, response.text
    body = response.json()
    [doc] = body["documents"]
    assert doc["name"] == trick and doc["doc_id"].startswith("doc_") and doc["state"] == "queued"
    job = _wait_for_job(world, body["job_id"], "editor")
    assert job["state"] == "succeeded" and job["result"]["indexed"] == 1 and job["result"]["units"] == 1
    for root in (Path(tempfile.gettempdir()), Path.cwd(), Path.cwd().parent, world.settings.data_dir):
        assert not (root / trick).exists()

    # Visible to a g1 member of the tenant, invisible to others.
    g1_reader = world.add_user("g1reader", Role.READER, ["g1"], "acme")
    g2_reader = world.add_user("g2reader", Role.READER, ["g2"], "acme")
    listing = world.client.get("/v1/documents", headers={"Authorization": f"Bearer {g1_reader}"}).json()
    assert {d["name"]: d["units"] for d in listing["documents"]}[trick] == 1
    # The client's (sanitised) name is what people see, in the document record and on every unit.
    named = world.client.get(f"/v1/documents/{trick}", headers={"Authorization": f"Bearer {g1_reader}"})
    assert named.json()["name"] == trick
    reader = {"Authorization": f"Bearer {g1_reader}"}
    units = world.client.get(f"/v1/documents/{trick}/units", headers=reader).json()["units"]
    assert len(units) == 1
    assert world.client.get(f"/v1/units/{units[0]['unit_id']}", headers=reader).json()["doc"] == trick
    hidden = world.client.get(f"/v1/documents/{trick}", headers={"Authorization": f"Bearer {g2_reader}"})
    assert hidden.status_code == 404

    admin = world.headers("admin")
    deleted = world.client.delete(f"/v1/documents/{trick}", headers=admin)
    assert deleted.status_code == 200, deleted.text
    assert world.client.get(f"/v1/documents/{trick}", headers=admin).status_code == 404
    assert world.client.delete(f"/v1/documents/{trick}", headers=admin).status_code == 404
    entries = world.client.get("/v1/audit", headers=admin).json()["entries"]
    actions = [e["action"] for e in entries if e["action"] in ("delete", "ingest")]
    assert actions[:2] == ["delete", "ingest"]


def test_search_rerank_note_names_the_request_field(world: World) -> None:
    """The note told HTTP callers "(--rerank)", a flag of the CLI they do not run; they set the request's
    ``rerank`` field. The CLI side: test_search_cli_rerank_note_names_the_cli_flags (tests/retrieval)."""
    headers = world.headers("reader")
    default = world.client.post("/v1/search", json={"query": "revenue"}, headers=headers)
    assert default.status_code == 200, default.text
    model = world.settings.reranker.model
    assert default.json()["rerank_note"] == (
        f"off: reranker.enabled = off (no local weights of {model}: set reranker.model to a local directory,"
        ' then "rerank": true turns it on)'
    )
    declined = world.client.post("/v1/search", json={"query": "revenue", "rerank": False}, headers=headers)
    assert declined.json()["rerank_note"] == 'off: not requested ("rerank": false)'


def test_image_search_without_clip_is_refused_before_the_image_is_read(world: World) -> None:
    import io

    from PIL import Image

    headers = world.headers("reader")
    # Nothing is decoded where the configuration cannot search by image (before: 415, the file was read).
    not_image = world.client.post(
        "/v1/search/image", files={"image": ("x.png", b"%PDF-1.4", "image/png")}, headers=headers
    )
    assert not_image.status_code == 400 and "CLIP" in not_image.json()["detail"]
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (1, 2, 3)).save(buffer, format="PNG")
    # The offline profile has no CLIP channel: a clear 400, not a crash.
    response = world.client.post(
        "/v1/search/image", files={"image": ("x.png", buffer.getvalue(), "image/png")}, headers=headers
    )
    assert response.status_code == 400 and "CLIP" in response.json()["detail"]


def test_mistyped_filters_are_refused_by_name_on_both_search_routes(world: World) -> None:
    """A filter key nobody reads is a 422 naming it (before: 200, searched everything), and the image
    form's bad filters are refused as the JSON route's are, each with its field (before: one sentence,
    "filters: 1 validation error for SearchFilters", naming neither field nor problem)."""
    headers = world.headers("reader")
    typo = world.client.post("/v1/search", json={"query": "x", "filters": {"min_widht": 5}}, headers=headers)
    assert typo.status_code == 422
    assert typo.json()["detail"][0]["loc"] == ["body", "filters", "min_widht"]
    png = ("x.png", b"\x89PNG\r\n\x1a\n", "image/png")
    cases = {
        '{"min_widht": 5}': ["body", "filters", "min_widht"],
        '{"min_width": -1}': ["body", "filters", "min_width"],
        '{"pages": "7-3"}': ["body", "filters", "pages"],
        '{"min_width": 9, "max_width": 3}': ["body", "filters"],
        "{not json": ["body", "filters"],
        "[" * 40_000: ["body", "filters"],  # past the JSON parser's depth: a 422, not a 500
    }
    for filters, loc in cases.items():
        refused = world.client.post(
            "/v1/search/image", files={"image": png}, data={"filters": filters}, headers=headers
        )
        assert refused.status_code == 422, (filters[:20], refused.text)
        detail = refused.json()["detail"]
        assert detail[0]["loc"] == loc and detail[0]["msg"], detail
        assert "validation error for" not in json.dumps(detail)


def test_json_body_cap_413(world: World) -> None:
    huge = {"query": "x" * (2 * 2**20)}
    response = world.client.post("/v1/search", json=huge, headers=world.headers("reader"))
    assert response.status_code == 413


def test_metrics_are_closed_by_default_and_open_to_the_scrape_token(world: World) -> None:
    """``/metrics`` was open by default: anyone who reached the service read every tenant's request counts
    per route and status (uploads, searches, deletions as they happen). Now it answers the operator's scrape
    token only (``service.metrics_token``); a tenant's admin only with ``service.tenant_admin_metrics``;
    anyone only with ``service.metrics_require_auth = false`` (a scraper on loopback)."""
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app
    from figvault.settings import ServiceSettings

    assert ServiceSettings().metrics_require_auth is True
    engine = world.client.app.state.engine

    def codes(settings) -> list[int]:
        callers = [{}, world.headers("reader"), world.headers("admin"), SCRAPER]
        callers.append({"Authorization": "Bearer " + SCRAPER["Authorization"][-40:] + "x"})
        with TestClient(create_app(settings, engine=engine)) as client:
            return [client.get("/metrics", headers=h).status_code for h in callers]

    # nobody, a reader, an admin, the scraper, a wrong scrape token
    assert codes(world.settings) == [401, 403, 403, 200, 401]
    admins = world.settings.model_copy(deep=True)
    admins.service.tenant_admin_metrics = True
    assert codes(admins) == [401, 403, 200, 200, 401]
    opened = world.settings.model_copy(deep=True)
    opened.service.metrics_require_auth = False
    assert codes(opened) == [200] * 5
    no_token = world.settings.model_copy(deep=True)
    no_token.service.metrics_token = ""
    assert codes(no_token) == [401, 403, 403, 401, 401]
    with pytest.raises(ValueError, match="at least 32"):
        ServiceSettings(metrics_token="short")


def test_the_scrape_token_cannot_be_guessed_past_the_failed_sign_in_budget(world: World) -> None:
    """The scrape token was compared before the address's failed-authentication budget was looked at: past
    it, a wrong guess got 429 and the right one 200, at full speed (an audit, 2026-12-07). Now an address
    out of that budget gets 429 whatever token it sends, the right one too."""
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app

    settings = world.settings.model_copy(deep=True)
    settings.service.auth_failures_per_address = "3/minute"
    wrong = {"Authorization": "Bearer " + "g" * 40}
    with TestClient(create_app(settings, engine=world.client.app.state.engine)) as client:
        guesses = [client.get("/metrics", headers=wrong).status_code for _ in range(4)]
        assert guesses == [401, 401, 401, 429]
        assert client.get("/metrics", headers=SCRAPER).status_code == 429


def test_a_tenant_admin_reads_only_its_own_tenants_requests_in_metrics(world: World) -> None:
    """With ``service.tenant_admin_metrics`` a tenant's admin read the service's counts: every request of
    every tenant (another tenant's searches and document reads, as they happened). Now it reads its own
    tenant's view: the same series, counting only requests made with its tenant's credentials; the scrape
    token still reads them all."""
    from fastapi.testclient import TestClient

    from figvault.service.app import create_app

    world.add_user("metrics-globex", Role.READER, ["g0"], "globex")
    settings = world.settings.model_copy(deep=True)
    settings.service.tenant_admin_metrics = True
    me = 'figvault_http_requests_total{method="GET",route="/v1/me",status="200"}'

    def count(text: str, series: str) -> float:
        lines = [line for line in text.splitlines() if line.startswith(series + " ")]
        return float(lines[0].split()[-1]) if lines else 0.0

    with TestClient(create_app(settings, engine=world.client.app.state.engine)) as client:
        for _ in range(3):
            assert client.get("/v1/me", headers=world.headers("metrics-globex")).status_code == 200
        search = {"query": "turbine vibration", "top_k": 5}
        assert (
            client.post("/v1/search", json=search, headers=world.headers("metrics-globex")).status_code == 200
        )
        assert client.get("/v1/me", headers=world.headers("reader")).status_code == 200
        admin = client.get("/metrics", headers=world.headers("admin"))
        scraper = client.get("/metrics", headers=SCRAPER)
    assert admin.status_code == 200 and scraper.status_code == 200
    assert count(scraper.text, me) == 4 and count(scraper.text, "figvault_search_results_count") == 1
    assert count(admin.text, me) == 1, admin.text  # acme's reader only: globex's three are not acme's
    assert count(admin.text, "figvault_search_results_count") == 0
    assert "/v1/search" not in admin.text and "figvault_audit" not in admin.text


def test_document_counts_of_a_half_done_ingest_come_from_the_store(world: World) -> None:
    """An indexed document's count is the registry's; one whose ingest failed half-way may still hold units of
    its older group set, so its count goes through the caller's access filter in the store."""
    from figvault.pipeline.registry import DocState, DocumentRegistry, connect

    doc = world.docs[0]
    newcomer = world.add_user("newcomer", Role.READER, ["g-new"], doc.tenant)
    insider = world.add_user("insider", Role.READER, [doc.groups[0]], doc.tenant)
    conn = connect(world.settings)
    registry = DocumentRegistry(conn)
    indexed = registry.get(doc.tenant, doc.doc_id)
    assert indexed is not None and indexed.state == DocState.INDEXED and indexed.units == len(doc.unit_ids)

    def units_seen(key: str) -> int:
        response = world.client.get(f"/v1/documents/{doc.doc_id}", headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        return response.json()["units"]

    # The failed re-ingest asked for a new group set; the stored units still carry the old one.
    registry.put(indexed.model_copy(update={"state": DocState.FAILED, "groups": [*doc.groups, "g-new"]}))
    try:
        assert units_seen(newcomer) == 0
        assert units_seen(insider) == len(doc.unit_ids)
    finally:
        registry.put(indexed)
        conn.close()


def test_a_listing_counts_its_half_done_documents_in_one_store_read(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each failed or pending document with units was counted by its own store count, a scan of the
    collection on Milvus Lite: a listing of 300 of them took 1.3 s on a 13-unit store (an audit,
    2026-12-07). Now one read of their rows gives every count, the same numbers."""
    from figvault.pipeline.registry import DocState, DocumentRegistry, connect

    tenant = world.docs[0].tenant
    docs = [d for d in world.docs if d.tenant == tenant]
    reader = world.add_user("lister", Role.READER, sorted({g for d in docs for g in d.groups}), tenant)
    conn = connect(world.settings)
    registry = DocumentRegistry(conn)
    indexed = [registry.get(tenant, d.doc_id) for d in docs]
    store = world.client.app.state.engine.store
    reads: list[str] = []
    for name in ("count", "query_rows"):
        real = getattr(store, name)
        monkeypatch.setattr(
            store, name, lambda *a, _real=real, _name=name, **k: reads.append(_name) or _real(*a, **k)
        )
    for record in indexed:
        assert record is not None and record.units
        registry.put(record.model_copy(update={"state": DocState.FAILED}))
    try:
        listed = world.client.get("/v1/documents", headers={"Authorization": f"Bearer {reader}"}).json()
        units = {d["doc_id"]: d["units"] for d in listed["documents"]}
        assert len(docs) > 1 and units == {d.doc_id: len(d.unit_ids) for d in docs}
        assert reads == ["query_rows"]
    finally:
        for record in indexed:
            registry.put(record)  # type: ignore[arg-type]
        conn.close()


def test_upload_tags_filters_and_copies_over_http(world: World) -> None:
    """Tags set at upload filter searches; the same figure uploaded twice is one hit with ``also_in`` for a
    caller who may see both copies, and a plain hit (no trace of the other copy) for one who sees one."""
    data = _pdf_bytes(931)
    jobs = []
    for name, groups, tags in (("tagged-a.pdf", "g0", "kpi, board deck"), ("tagged-b.pdf", "g1", "")):
        response = world.client.post(
            "/v1/documents",
            files={"files": (name, data, "application/pdf")},
            data={"groups": groups, "tags": tags},
            headers=world.headers("editor"),
        )
        assert response.status_code == 202, response.text
        jobs.append(response.json()["job_id"])
    for job_id in jobs:
        assert _wait_for_job(world, job_id, "editor")["state"] == "succeeded"
    both = world.add_user("both", Role.READER, ["g0", "g1"], "acme")
    only_b = world.add_user("only-b", Role.READER, ["g1"], "acme")
    doc = world.client.get("/v1/documents/tagged-a.pdf", headers={"Authorization": f"Bearer {both}"}).json()
    assert doc["tags"] == ["board deck", "kpi"]

    unit = world.client.get("/v1/documents/tagged-a.pdf/units", headers={"Authorization": f"Bearer {both}"})
    question = unit.json()["units"][0]["caption"]

    def search(key: str, **filters) -> list[dict]:
        body = {"query": question, "top_k": 5, "filters": filters}
        response = world.client.post("/v1/search", json=body, headers={"Authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.text
        return response.json()["results"]

    top = search(both)[0]
    assert top["width"] > 0 and top["height"] > 0  # the pixel size the filters min_width ... compare
    assert {top["doc"], *(r["doc"] for r in top["also_in"])} == {"tagged-a.pdf", "tagged-b.pdf"}
    assert top["also_in"][0]["image_url"].startswith("/v1/units/")
    alone = search(only_b)
    assert alone[0]["doc"] == "tagged-b.pdf" and not any(r["also_in"] for r in alone)
    assert "tagged-a.pdf" not in json.dumps(alone)
    assert [r["doc"] for r in search(both, tags=["kpi"])] == ["tagged-a.pdf"]
    assert search(both, tags=["kpi"], pages="2-4") == []

    bad = world.client.post(
        "/v1/search",
        json={"query": "x", "filters": {"pages": "4-1"}},
        headers={"Authorization": f"Bearer {both}"},
    )
    assert bad.status_code == 422
    refused = world.client.post(
        "/v1/documents",
        files={"files": ("t.pdf", data, "application/pdf")},
        data={"groups": "g0", "tags": "x\x01y"},
        headers=world.headers("editor"),
    )
    assert refused.status_code == 422 and "tags" in json.dumps(refused.json()["detail"])
    too_long = world.client.post(
        "/v1/documents",
        files={"files": ("t.pdf", data, "application/pdf")},
        data={"groups": "g0", "tags": "x" * 65},
        headers=world.headers("editor"),
    )
    assert too_long.status_code == 422
    assert too_long.json()["detail"] == "tags: a tag is longer than 64 characters"


def test_editors_change_tags_admins_change_groups(world: World) -> None:
    """PATCH /v1/documents/{id} with tags: editors, on documents they can see; groups stay admin-only."""
    doc = next(d for d in world.docs if d.tenant == "acme" and "g0" in d.groups)
    hidden = next(d for d in world.docs if d.tenant == "acme" and not {"g0", "g1"} & set(d.groups))
    editor = world.headers("editor")
    done = world.client.patch(f"/v1/documents/{doc.doc_id}", json={"tags": ["ops", "2024"]}, headers=editor)
    assert done.status_code == 200, done.text
    assert done.json()["tags"] == ["2024", "ops"] and done.json()["units_rewritten"] == len(doc.unit_ids)
    body = {"query": "report", "top_k": 20, "filters": {"tags": ["ops"]}}
    found = world.client.post("/v1/search", json=body, headers=world.headers("admin")).json()["results"]
    assert found and {r["doc_id"] for r in found} == {doc.doc_id}
    assert {r["unit_id"] for r in found} <= set(doc.unit_ids)  # the same units: nothing re-extracted
    groups = world.client.patch(f"/v1/documents/{doc.doc_id}", json={"groups": ["g1"]}, headers=editor)
    assert groups.status_code == 403
    unseen = world.client.patch(f"/v1/documents/{hidden.doc_id}", json={"tags": ["x"]}, headers=editor)
    assert unseen.status_code == 404
    reader = world.client.patch(
        f"/v1/documents/{doc.doc_id}", json={"tags": ["x"]}, headers=world.headers("reader")
    )
    assert reader.status_code == 403
    # Said in words (before: "your role does not allow ingest", for a change of tags).
    # What was asked, not the action behind the check (a reader's GET /v1/status was told "re-encoding the
    # store", GET /v1/jobs "adding or changing documents": an audit, 2026-12-07).
    asked = {
        "/v1/status": "reading the store's status (admins)",
        "/v1/admin/map": "reading the collection map (admins)",
        "/v1/admin/documents": "listing your tenant's documents and their groups (admins)",  # a listing
        "/v1/jobs": "reading jobs (editors and admins)",
    }
    for path, words in asked.items():
        refused = world.client.get(path, headers=world.headers("reader"))
        assert refused.status_code == 403 and refused.json()["detail"] == f"your role does not allow {words}"
    said = "your role does not allow adding or changing documents (editors and admins)"
    assert reader.json()["detail"] == said
    assert (
        world.client.patch(f"/v1/documents/{doc.doc_id}", json={"tags": ["a,b"]}, headers=editor).status_code
        == 422
    )


def test_search_filter_doc_ids_takes_names_of_visible_documents(world: World) -> None:
    """``filters.doc_ids`` takes a document's id or its name, as every route that names a document does;
    a name of a document the caller cannot see answers exactly as a name nobody carries."""
    world.add_user("by-name", Role.READER, ["g0", "g1", "g2", "g3"], "acme")
    mine = next(d for d in world.docs if d.tenant == "acme")
    theirs = next(d for d in world.docs if d.tenant != "acme")

    def search(keys: list[str]) -> dict:
        body = {"query": "figure chart report", "top_k": 50, "filters": {"doc_ids": keys}}
        response = world.client.post("/v1/search", json=body, headers=world.headers("by-name"))
        assert response.status_code == 200, response.text
        return response.json()

    by_id, by_name = search([mine.doc_id]), search([mine.name])
    assert by_id["results"] and {r["doc_id"] for r in by_name["results"]} == {mine.doc_id}
    assert [r["unit_id"] for r in by_name["results"]] == [r["unit_id"] for r in by_id["results"]]

    def untimed(answer: dict) -> dict:
        return {k: v for k, v in answer.items() if k != "timings"}

    nobody = untimed(search(["no-such-report.pdf"]))
    assert nobody["results"] == [] and untimed(search([theirs.name])) == nobody


def test_an_editor_retags_a_document_it_shares_only_some_groups_of(world: World, tmp_path: Path) -> None:
    """Tags are the document's and every group that sees it filters by them; an editor who shares only some
    of its groups may retag it (refusing would tell it the hidden groups exist,
    ``tests/service/test_redteam.py``) and is not shown the groups that are not theirs."""
    path = figure_pdf(tmp_path / "shared-report.pdf", seed=777)
    engine = world.client.app.state.engine
    shared = ingest_doc(world.settings, path, "acme", ["g0", "g2"], "doc-shared", encoders=engine.encoders)
    world.docs.append(shared)
    editor = world.headers("editor")  # groups g0, g1
    assert world.client.get(f"/v1/documents/{shared.doc_id}", headers=editor).json()["groups"] == ["g0"]

    retagged = world.client.patch(f"/v1/documents/{shared.doc_id}", json={"tags": ["x"]}, headers=editor)
    assert retagged.status_code == 200 and "g2" not in retagged.text
    assert retagged.json()["tags"] == ["x"] and retagged.json()["groups"] == ["g0"]
    admin = world.headers("admin")
    assert world.client.get(f"/v1/documents/{shared.doc_id}", headers=admin).json()["tags"] == ["x"]
    allowed = world.client.patch(f"/v1/documents/{shared.doc_id}", json={"tags": []}, headers=admin)
    assert allowed.status_code == 200 and allowed.json()["groups"] == ["g0", "g2"]


def test_audit_pages_by_the_last_id_read_neither_repeat_nor_skip(world: World) -> None:
    """Each read of the trail is itself an entry, newest first: paged by ``offset``, every read pushed the
    next page down by one and entries came twice (an audit, 2026-12-07). ``before`` the last id read does
    not move."""
    for n in range(7):
        world.client.post(
            "/v1/search", json={"query": f"turbine {n}", "top_k": 1}, headers=world.headers("reader")
        )
    admin = world.headers("admin")
    first = world.client.get("/v1/audit", params={"limit": 3}, headers=admin).json()
    ids = [e["id"] for e in first["entries"]]
    second = world.client.get("/v1/audit", params={"limit": 3, "before": ids[-1]}, headers=admin).json()
    assert [e["id"] for e in second["entries"]] == [ids[-1] - 1, ids[-1] - 2, ids[-1] - 3]
    assert second["before"] == ids[-1] and second["total"] == ids[-1] - 1
    assert [e["query"] for e in second["entries"]][:1] == ["turbine 3"]
    again = world.client.get("/v1/audit", params={"limit": 3, "before": ids[-1]}, headers=admin).json()
    assert again["entries"] == second["entries"] and again["total"] == second["total"]  # reads added entries
    past = world.client.get("/v1/audit", params={"before": 10**6}, headers=admin).json()
    whole = world.client.get("/v1/audit", headers=admin).json()
    assert past["total"] == whole["total"] - 1  # the whole trail: all but the entry of the read just before


def test_a_page_of_documents_is_what_is_audited(world: World) -> None:
    """A listing's audit entry names the documents it showed, a page's (an entry holds a bounded number of
    ids: a listing of thousands was recorded cut), with the total the caller sees."""
    headers = world.headers("admin")
    whole = world.client.get("/v1/documents", headers=headers).json()
    assert whole["next_after"] is None and whole["total"] == len(whole["documents"]) >= 2
    first = world.client.get("/v1/documents", params={"limit": 1}, headers=headers).json()
    ids = sorted(d["doc_id"] for d in whole["documents"])
    assert [d["doc_id"] for d in first["documents"]] == ids[:1] and first["next_after"] == ids[0]
    entry = world.client.get("/v1/audit", params={"action": "documents", "limit": 1}, headers=headers).json()[
        "entries"
    ][0]
    assert entry["detail"] == {"doc_ids": ids[:1], "total": len(ids)}
    # A cursor is only compared, never looked up: past the last id, an empty last page.
    past = world.client.get("/v1/documents", params={"after": "~"}, headers=headers).json()
    assert (past["documents"], past["total"], past["next_after"]) == ([], len(ids), None)


def test_the_admin_listing_reads_a_page_at_a_time(world: World) -> None:
    """``GET /v1/admin/documents`` takes ``limit`` and ``after`` as ``GET /v1/documents`` does (it had no
    paging: a tenant of 20,000 documents was one answer); without them it answers all, as before."""
    admin = world.headers("admin")
    whole = world.client.get("/v1/admin/documents", headers=admin).json()
    ids = [d["doc_id"] for d in whole["documents"]]
    assert len(ids) >= 2 and whole["total"] == len(ids) and whole["next_after"] is None
    walked, after, pages = [], None, 0
    while True:
        params = {"limit": 1} if after is None else {"limit": 1, "after": after}
        page = world.client.get("/v1/admin/documents", params=params, headers=admin).json()
        assert page["total"] == len(ids) and len(page["documents"]) == 1
        walked += page["documents"]
        after, pages = page["next_after"], pages + 1
        if after is None:
            break
        assert after == walked[-1]["doc_id"]
    assert walked == whole["documents"] and pages == len(ids)  # each document once, as listed whole
    entry = world.client.get("/v1/audit", params={"action": "admin_documents", "limit": 1}, headers=admin)
    assert entry.json()["entries"][0]["detail"] == {"doc_ids": ids[-1:], "total": len(ids)}  # the page's
    past = world.client.get("/v1/admin/documents", params={"after": ids[-1]}, headers=admin).json()
    assert (past["documents"], past["total"], past["next_after"]) == ([], len(ids), None)
    for bad in ({"limit": 0}, {"limit": 5_001}, {"after": "a\x00b"}):
        assert world.client.get("/v1/admin/documents", params=bad, headers=admin).status_code == 422, bad
