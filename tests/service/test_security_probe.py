"""Every route that takes an id answers an id the caller may not see exactly as one that does not exist
(status and body), for each kind of outsider: a reader of another group, an editor of another group, an
admin of another tenant. Nothing in an answer tells the prober that the foreign id exists."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from figvault.access import Role
from tests.generated_docs import figure_pdf
from tests.service.conftest import World

MISSING_DOC = "doc_000000000000000000000000"
MISSING_UNIT = "0" * 32
MISSING_JOB = "000000000000"

Probe = Callable[[World, str, str], httpx.Response]
"""(world, caller, id) -> the answer."""

DOC_PROBES: dict[str, Probe] = {
    "get": lambda w, u, i: w.client.get(f"/v1/documents/{i}", headers=w.headers(u)),
    "units": lambda w, u, i: w.client.get(f"/v1/documents/{i}/units", headers=w.headers(u)),
    "page": lambda w, u, i: w.client.get(f"/v1/documents/{i}/pages/1/image", headers=w.headers(u)),
    "tags": lambda w, u, i: w.client.patch(f"/v1/documents/{i}", json={"tags": ["t"]}, headers=w.headers(u)),
    "groups": lambda w, u, i: w.client.patch(
        f"/v1/documents/{i}", json={"groups": ["g0"]}, headers=w.headers(u)
    ),
    "delete": lambda w, u, i: w.client.delete(f"/v1/documents/{i}", headers=w.headers(u)),
    "replace": lambda w, u, i: w.client.post(
        "/v1/documents",
        files={"files": ("probe.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"groups": w.principals[u].groups[0], "doc_id": i},
        headers=w.headers(u),
    ),
}
UNIT_PROBES: dict[str, Probe] = {
    "get": lambda w, u, i: w.client.get(f"/v1/units/{i}", headers=w.headers(u)),
    "image": lambda w, u, i: w.client.get(f"/v1/units/{i}/image", headers=w.headers(u)),
}
JOB_PROBES: dict[str, Probe] = {
    "get": lambda w, u, i: w.client.get(f"/v1/jobs/{i}", headers=w.headers(u)),
    "events": lambda w, u, i: w.client.get(f"/v1/jobs/{i}/events", headers=w.headers(u)),
    "cancel": lambda w, u, i: w.client.post(f"/v1/jobs/{i}/cancel", headers=w.headers(u)),
    "retry": lambda w, u, i: w.client.post(f"/v1/jobs/{i}/retry", headers=w.headers(u)),
}
OUTSIDERS = {
    "probe-reader": (Role.READER, ["g2"], "acme"),
    "probe-editor": (Role.EDITOR, ["g2"], "acme"),
    "probe-admin": (Role.ADMIN, ["g0", "g1", "g2", "g3"], "globex"),
}


def answer(response: httpx.Response) -> tuple[int, Any]:
    kind = response.headers.get("content-type", "")
    return response.status_code, response.json() if kind.startswith("application/json") else response.content


@pytest.fixture(scope="module")
def target(world: World, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A document, one of its units and its upload job, of tenant acme and group g0 only."""
    for name, (role, groups, tenant) in OUTSIDERS.items():
        world.add_user(name, role, groups, tenant)
    world.add_user("probe-owner", Role.EDITOR, ["g0"], "acme")
    path = figure_pdf(tmp_path_factory.mktemp("probe") / "owned.pdf", seed=4242)
    uploaded = world.client.post(
        "/v1/documents",
        files={"files": (path.name, path.read_bytes(), "application/pdf")},
        data={"groups": "g0"},
        headers=world.headers("probe-owner"),
    )
    assert uploaded.status_code == 202, uploaded.text
    job_id, doc_id = uploaded.json()["job_id"], uploaded.json()["documents"][0]["doc_id"]
    deadline = time.monotonic() + 300
    while (job := world.client.get(f"/v1/jobs/{job_id}", headers=world.headers("probe-owner")).json())[
        "state"
    ] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert job["state"] == "succeeded", job
    units = world.client.get(f"/v1/documents/{doc_id}/units", headers=world.headers("probe-owner")).json()
    return {"doc": doc_id, "name": path.name, "unit": units["units"][0]["unit_id"], "job": job_id}


@pytest.mark.parametrize("caller", sorted(OUTSIDERS))
@pytest.mark.parametrize(
    ("kind", "route"),
    [("doc", r) for r in DOC_PROBES]
    + [("name", r) for r in DOC_PROBES]
    + [("unit", r) for r in UNIT_PROBES]
    + [("job", r) for r in JOB_PROBES],
)
def test_a_foreign_id_answers_as_a_missing_one(
    world: World, target: dict[str, str], caller: str, kind: str, route: str
) -> None:
    probes = {"doc": DOC_PROBES, "name": DOC_PROBES, "unit": UNIT_PROBES, "job": JOB_PROBES}[kind]
    missing = {"doc": MISSING_DOC, "name": "no-such-file.pdf", "unit": MISSING_UNIT, "job": MISSING_JOB}[kind]
    probe = probes[route]
    foreign = answer(probe(world, caller, target[kind]))
    assert foreign == answer(probe(world, caller, missing))
    assert target[kind] not in str(foreign[1])
    owner = world.client.get(f"/v1/documents/{target['doc']}", headers=world.headers("probe-owner"))
    assert owner.status_code == 200 and owner.json()["tags"] == []  # nothing the probe did changed it
