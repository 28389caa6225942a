"""Every route the app has, walked by thirteen outsiders against one editor's document, unit, image and job.

The routes come from the running app (``iter_route_contexts(app.routes)``), not from a list typed here: a
route added later is walked too, and fails this test until it refuses a caller without a credential (or is
added to ``PUBLIC``) and has a request in ``probe()``. The outsiders: no credential; a reader and an editor of
the same tenant in another group; an editor and an admin of another tenant (who shares the owner's group
*name*); the same two kinds of caller known by a signed token (JWT) only; and six forged credentials
that claim the owner's tenant and group (``forged_credentials``). For each route and method:

- without a credential, or with a forged one: 401, unless the route is public by design (``PUBLIC``);
- a route that names the target (a document, unit, page or job in its path): the same status and body
  as for an id that does not exist, so neither a read nor a write tells that the target exists;
- every answer, body and headers: none of the target's ids, its name, its owner or its image's ETag, nor
  (to another tenant) the owner's tenant name;
- afterwards the owner reads its document, tags and job as they were (no outsider changed them).

The owner's own answers to the same probes carry those markers (checked first), so the markers are what
the probes would show a caller who may see the target.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount

from figvault.access import Role
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.helpers.server import NO_RATE_LIMIT, no_rate_limits
from tests.service.upload_service import Service, serving

OWNER = "owner-qz7"
TARGET_NAME = "ledger-xq9.pdf"
OUTSIDERS = (
    "anonymous",
    "reader_g1",
    "editor_g1",
    "editor_globex",
    "admin_globex",
    "token_g1",
    "token_globex",
    *(f"forged_{kind}" for kind in ("none", "other_secret", "expired", "not_yet", "audience", "api_key")),
)
ACCOUNTS = [
    (OWNER, Role.EDITOR, ["g0"], "acme"),
    ("admin_acme", Role.ADMIN, ["g0", "g1"], "acme"),
    ("reader_g1", Role.READER, ["g1"], "acme"),
    ("editor_g1", Role.EDITOR, ["g1"], "acme"),
    ("editor_globex", Role.EDITOR, ["g0"], "globex"),
    ("admin_globex", Role.ADMIN, ["g0"], "globex"),
]
JWT_SECRET = "route-walk-shared-secret-0123456789abcdef"
TOKENS = {  # callers known by a signed token only: (tenant, groups, roles)
    "token_g1": ("acme", ["g1"], ["editor"]),
    "token_globex": ("globex", ["g0"], ["admin"]),
}
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/"}
"""Routes any caller may read: liveness, readiness (fixed reasons), the schema and the page."""
UNKNOWN = {
    "doc_id": "doc_" + "0" * 24,
    "unit_id": "0" * 32,
    "job_id": "0" * 12,
    "page": "1",
}


@dataclass
class Target:
    doc_id: str
    job_id: str
    unit_ids: list[str]
    image: bytes
    etag: str
    allowed: str
    """The server folder the ingest allow-list admits (one file, not the target's)."""

    def markers(self) -> list[str]:
        stem = TARGET_NAME.removesuffix(".pdf")
        return [self.doc_id, self.job_id, *self.unit_ids, stem, OWNER, self.etag.strip('"')]


def probe(method: str, path: str, target: Target) -> dict[str, Any]:
    """The request each route gets: what would show the target to a caller who may see it."""
    name = TARGET_NAME.removesuffix(".pdf")
    pdf = ("files", (TARGET_NAME, b"%PDF-1.4\n%%EOF\n", "application/pdf"))
    probes: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/v1/search"): {"json": {"query": f"{name} figure chart", "top_k": 50}},
        ("POST", "/v1/search/image"): {
            "files": {"image": ("q.png", target.image, "image/png")},
            "data": {"top_k": "50"},
        },
        ("POST", "/v1/documents"): {"files": [pdf], "data": {"groups": "g0", "doc_id": target.doc_id}},
        ("PATCH", "/v1/documents/{doc_id}"): {"json": {"tags": ["moved"]}},
        ("POST", "/v1/jobs/ingest"): {"json": {"paths": [target.allowed], "groups": ["g0"]}},
        ("POST", "/v1/jobs/reencode"): {"json": {}},
        ("GET", "/v1/documents"): {"params": {"limit": 200}},
        ("GET", "/v1/audit"): {"params": {"limit": 200}},
        ("GET", "/v1/jobs"): {"params": {"limit": 100}},
    }
    return probes.get((method, path), {})


def walked_routes(service: Service) -> list[tuple[str, str]]:
    """(method, path template) of every endpoint the app serves, and each mount's path."""
    out: list[tuple[str, str]] = []
    for route in iter_route_contexts(service.client.app.routes):
        if isinstance(route.original_route, Mount):
            out.append(("GET", f"{route.path}/app.js"))
            continue
        out.extend((method, route.path) for method in sorted(route.methods or ()) if method != "HEAD")
    return sorted(set(out))


def fill(path: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"no value for a parameter of {path}: add it to UNKNOWN and the target's"
    return path


def send(service: Service, caller: str, method: str, url: str, kwargs: dict[str, Any]) -> Any:
    headers = {} if caller == "anonymous" else service.headers(caller)
    return service.client.request(method, url, headers=headers, **kwargs)


TENANT_OF = {name: tenant for name, _, _, tenant in ACCOUNTS} | {name: t[0] for name, t in TOKENS.items()}


def shown(response: Any, caller: str) -> str:
    """What a caller reads of an answer: its body and its headers. The audit trail's entries of the caller's
    own tenant are left out (they record what its callers sent, the target's ids in their own requests); any
    other tenant's entry is kept whole, so its ids show."""
    body = response.text
    if response.request.url.path == "/v1/audit" and response.status_code == 200:
        entries = [e for e in response.json()["entries"] if e["tenant"] != TENANT_OF.get(caller)]
        body = str(entries)
    return body + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, Target]]:
    root = tmp_path_factory.mktemp("walk")
    settings = tiny_settings(root / "data", TINY_A, text=False)
    settings.extract.workers = 1
    settings.service.tenant_admin_metrics = True  # an admin of another tenant reads its tenant's view
    settings.service.jwt_secret = JWT_SECRET
    # One address sends every request, forged credentials among them: the walk reads 401s, not 429s.
    no_rate_limits(settings)
    settings.service.auth_failures_per_address = settings.service.auth_failures_per_key = NO_RATE_LIMIT
    with serving(settings, root, ACCOUNTS, Service) as service:
        for sub, (tenant, groups, roles) in TOKENS.items():
            claims = {
                "sub": sub,
                "tenant": tenant,
                "groups": groups,
                "roles": roles,
                "exp": time.time() + 3600,
            }
            service.keys[sub] = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
        service.keys |= forged_credentials(service.keys[OWNER])
        yield service, own_target(service, root)


def forged_credentials(owner_key: str) -> dict[str, str]:
    """Credentials claiming the owner's tenant and group (so the target would show were one accepted), each
    wrong in one way: no signature, another secret, expired, not yet valid, for another audience, and the
    owner's API key id with another secret."""
    now = int(time.time())
    claims = {"sub": "forger", "tenant": "acme", "groups": ["g0"], "roles": ["admin"], "exp": now + 3600}
    signed = {
        "forged_other_secret": (claims, "not-the-service-secret-0123456789abcdef"),
        "forged_expired": ({**claims, "exp": now - 60}, JWT_SECRET),
        "forged_not_yet": ({**claims, "nbf": now + 120}, JWT_SECRET),
        "forged_audience": ({**claims, "aud": "another-service"}, JWT_SECRET),
    }
    forged = {name: jwt.encode(c, secret, algorithm="HS256") for name, (c, secret) in signed.items()}
    forged["forged_none"] = jwt.encode(claims, None, algorithm="none")
    forged["forged_api_key"] = owner_key[:-6] + ("A" * 6 if not owner_key.endswith("AAAAAA") else "B" * 6)
    return forged


def own_target(service: Service, root: Path) -> Target:
    data = figure_pdf(root / "t.pdf", seed=11, n_figures=2).read_bytes()
    figure_pdf(root / "allowed" / "shared.pdf", seed=12)  # what a folder ingest of the allowed folder finds
    files = [("files", (TARGET_NAME, data, "application/pdf"))]
    headers = service.headers(OWNER)
    accepted = service.client.post("/v1/documents", files=files, data={"groups": "g0"}, headers=headers)
    assert accepted.status_code == 202, accepted.text
    job_id = accepted.json()["job_id"]
    assert service.wait(job_id, OWNER)["state"] == "succeeded"
    doc_id = accepted.json()["documents"][0]["doc_id"]
    units = service.client.get(f"/v1/documents/{doc_id}/units", headers=headers).json()["units"]
    unit_ids = [u["unit_id"] for u in units]
    image = service.client.get(f"/v1/units/{unit_ids[0]}/image", headers=headers)
    assert image.status_code == 200 and unit_ids
    return Target(
        doc_id,
        job_id,
        unit_ids,
        image.content,
        image.headers["etag"],
        str(root / "allowed"),
    )


def values_of(target: Target) -> dict[str, str]:
    return {"doc_id": target.doc_id, "unit_id": target.unit_ids[0], "job_id": target.job_id, "page": "1"}


def test_the_owner_reads_its_target_through_the_probes(walked: tuple[Service, Target]) -> None:
    """The markers are what the probes show a caller who may see the target: else the walk proves nothing."""
    service, target = walked
    reads = [
        ("GET", "/v1/documents", target.doc_id),
        ("POST", "/v1/search/image", target.unit_ids[0]),
        ("GET", "/v1/jobs", target.job_id),
    ]
    for method, path, marker in reads:
        response = send(service, OWNER, method, path, probe(method, path, target))
        assert response.status_code == 200, (path, response.text)
        assert marker in response.text, path
    read = send(service, OWNER, "GET", f"/v1/units/{target.unit_ids[0]}/image", {})
    assert target.etag.strip('"') in shown(read, OWNER)


def addressings(path: str, target: Target) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(the target's values, an unknown target's) for the path's parameters: by id, and a document also by
    its name (the document routes take either)."""
    by_id = values_of(target)
    if "{doc_id}" not in path:
        return [(by_id, UNKNOWN)]
    return [(by_id, UNKNOWN), ({**by_id, "doc_id": TARGET_NAME}, {**UNKNOWN, "doc_id": "nosuch-xq9.pdf"})]


def walk(service: Service, target: Target, caller: str) -> list[str]:
    """What ``caller`` was shown or allowed that it should not have been, one line per route."""
    routes = walked_routes(service)
    assert len(routes) >= 25, routes  # the walk found the app's routes, not an empty list
    failures: list[str] = []
    for method, path in routes:
        for values, unknown in addressings(path, target):
            failures += check(service, target, caller, (method, path), values, unknown)
    return failures


def check(
    service: Service,
    target: Target,
    caller: str,
    route: tuple[str, str],
    values: dict[str, str],
    unknown: dict[str, str],
) -> list[str]:
    method, path = route
    kwargs = probe(method, path, target)
    response = send(service, caller, method, fill(path, values), kwargs)
    where = f"{caller} {method} {fill(path, values)}: {response.status_code}"
    unauthenticated = caller == "anonymous" or caller.startswith("forged_")
    if unauthenticated and path not in PUBLIC and not path.startswith("/static"):
        return [] if response.status_code == 401 else [f"{where}, not 401 without a credential"]
    failures: list[str] = []
    if response.status_code == 422:
        failures.append(
            f"{where}: the probe never reached the route (add one to probe()): {response.text[:200]}"
        )
    if response.status_code >= 500:
        failures.append(f"{where}: {response.text[:200]}")
    markers = target.markers() + (["acme"] if TENANT_OF.get(caller) not in (None, "acme") else [])
    leaked = [m for m in markers if m in shown(response, caller)]
    if leaked:
        failures.append(f"{where} shows {leaked}")
    if "{" in path:
        other = send(service, caller, method, fill(path, unknown), kwargs)
        if (response.status_code, response.text) != (other.status_code, other.text):
            failures.append(
                f"{where} {response.text[:120]} but {other.status_code} {other.text[:120]} "
                "for an id that does not exist"
            )
    return failures


@pytest.mark.parametrize("caller", OUTSIDERS)
def test_every_route_refuses_or_hides_the_target_from_an_outsider(
    walked: tuple[Service, Target], caller: str
) -> None:
    service, target = walked
    failures = walk(service, target, caller)
    assert not failures, "\n".join(failures)


def test_no_outsider_changed_the_target(walked: tuple[Service, Target]) -> None:
    service, target = walked
    for caller in OUTSIDERS:  # every write an outsider may try, whatever ran before
        walk(service, target, caller)
    owner = service.headers(OWNER)
    document = service.client.get(f"/v1/documents/{target.doc_id}", headers=owner)
    assert document.status_code == 200
    assert document.json()["tags"] == [] and document.json()["groups"] == ["g0"]
    assert service.client.get(f"/v1/jobs/{target.job_id}", headers=owner).json()["state"] == "succeeded"
    units = service.client.get(f"/v1/documents/{target.doc_id}/units", headers=owner).json()["units"]
    assert [u["unit_id"] for u in units] == target.unit_ids


def test_the_walk_catches_a_route_added_without_a_guard(walked: tuple[Service, Target]) -> None:
    """The walk reads the app's routes as they are now: an unguarded route, or one that names the target
    to anyone, fails it (so a route added later is checked without editing this file)."""
    service, target = walked
    app = service.client.app
    app.add_api_route("/v1/debug/last-document", lambda: {"doc_id": target.doc_id}, methods=["GET"])
    try:
        anonymous = walk(service, target, "anonymous")
        outsider = walk(service, target, "reader_g1")
    finally:
        app.router.routes.pop()
    assert anonymous == ["anonymous GET /v1/debug/last-document: 200, not 401 without a credential"]
    assert outsider == [f"reader_g1 GET /v1/debug/last-document: 200 shows ['{target.doc_id}']"]
    assert ("GET", "/v1/debug/last-document") not in walked_routes(service)


def test_a_name_an_outsider_gives_its_own_document_addresses_only_its_own(
    walked: tuple[Service, Target],
) -> None:
    """A document route by name counts only the caller's documents: an editor of another group who uploads
    its own file of the target's name reads, retags and replaces its own by that name (no 409 "several
    documents"), and the owner still has its document as it was."""
    service, target = walked
    for caller, group in (("editor_g1", "g1"), ("editor_globex", "g0")):
        headers = service.headers(caller)
        data = figure_pdf(service.root / f"{caller}.pdf", seed=31).read_bytes()
        files = [("files", (TARGET_NAME, data, "application/pdf"))]
        accepted = service.client.post("/v1/documents", files=files, data={"groups": group}, headers=headers)
        assert accepted.status_code == 202, accepted.text
        mine = accepted.json()["documents"][0]["doc_id"]
        assert mine != target.doc_id
        assert service.wait(accepted.json()["job_id"], caller)["state"] == "succeeded"
        by_name = service.client.get(f"/v1/documents/{TARGET_NAME}", headers=headers)
        assert by_name.status_code == 200 and by_name.json()["doc_id"] == mine, by_name.text
        retag = service.client.patch(f"/v1/documents/{TARGET_NAME}", json={"tags": ["mine"]}, headers=headers)
        assert retag.status_code == 200 and retag.json()["doc_id"] == mine, retag.text
        units = service.client.get(f"/v1/documents/{TARGET_NAME}/units", headers=headers)
        assert units.status_code == 200 and target.unit_ids[0] not in units.text
    owner = service.client.get(f"/v1/documents/{TARGET_NAME}", headers=service.headers(OWNER))
    assert owner.status_code == 200 and owner.json()["doc_id"] == target.doc_id and owner.json()["tags"] == []


def reads_of(service: Service, target: Target, caller: str) -> dict[str, Any]:
    """What ``caller`` gets of the target through every read, its caches warmed by the same reads before."""
    unit = target.unit_ids[0]
    gets = {
        "unit": f"/v1/units/{unit}",
        "image": f"/v1/units/{unit}/image",
        "document": f"/v1/documents/{target.doc_id}",
        "units": f"/v1/documents/{target.doc_id}/units",
        "page": f"/v1/documents/{target.doc_id}/pages/1/image",
    }
    out: dict[str, Any] = {k: send(service, caller, "GET", url, {}).status_code for k, url in gets.items()}
    for method, path in (("POST", "/v1/search"), ("POST", "/v1/search/image"), ("GET", "/v1/documents")):
        response = send(service, caller, method, path, probe(method, path, target))
        out[path] = any(m in response.text for m in (target.doc_id, *target.unit_ids))
    return out


def test_a_group_taken_off_a_document_hides_it_from_that_group_at_once(
    walked: tuple[Service, Target],
) -> None:
    """Caches a reader warmed while it could see a document (rows, page renders, the lexical index's codes,
    question vectors) do not outlive the group an admin took off the document."""
    service, target = walked
    admin = service.headers("admin_acme")
    url = f"/v1/documents/{target.doc_id}"
    try:
        assert service.client.patch(url, json={"groups": ["g0", "g1"]}, headers=admin).status_code == 200
        for caller in ("reader_g1", "token_g1"):
            seen = reads_of(service, target, caller)
            seen.pop("/v1/search")  # the text channel may rank others' figures first: warmed, not required
            assert seen == dict.fromkeys(("unit", "image", "document", "units", "page"), 200) | {
                "/v1/search/image": True,
                "/v1/documents": True,
            }, (caller, seen)
        assert service.client.patch(url, json={"groups": ["g0"]}, headers=admin).status_code == 200
        for caller in ("reader_g1", "token_g1"):
            gone = reads_of(service, target, caller)
            assert gone == {**dict.fromkeys(("unit", "image", "document", "units", "page"), 404)} | {
                "/v1/search": False,
                "/v1/search/image": False,
                "/v1/documents": False,
            }, (caller, gone)
    finally:
        service.client.patch(url, json={"groups": ["g0"]}, headers=admin)


@pytest.mark.parametrize("caller", ["anonymous", "reader_g1", "editor_globex"])
def test_methods_a_route_does_not_serve_tell_nothing(walked: tuple[Service, Target], caller: str) -> None:
    """HEAD, OPTIONS (a CORS preflight's method) and PUT on every path: refused alike for the target and a
    missing id, with nothing of the target in the answer."""
    service, target = walked
    failures: list[str] = []
    for path in sorted({path for _, path in walked_routes(service)}):
        for method in ("HEAD", "OPTIONS", "PUT"):
            for values, unknown in addressings(path, target):
                response = send(service, caller, method, fill(path, values), {})
                other = send(service, caller, method, fill(path, unknown), {})
                where = f"{caller} {method} {fill(path, values)}: {response.status_code}"
                if response.status_code < 400 and path not in PUBLIC and not path.startswith("/static"):
                    failures.append(f"{where}, served")
                if (response.status_code, response.text) != (other.status_code, other.text):
                    failures.append(f"{where}, but {other.status_code} for an id that does not exist")
                if leaked := [m for m in target.markers() if m in shown(response, caller)]:
                    failures.append(f"{where} shows {leaked}")
    assert not failures, "\n".join(failures)
