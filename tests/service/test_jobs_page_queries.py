"""``GET /v1/jobs`` reads the documents of a page's jobs at once: per job, ``JobOut.of`` asked the registry up
to four times and once more per gone document (a page of 500 jobs at 20,000: 1.8 s; a scale audit,
2026-12-07). The page is the same as each job shown on its own, for every kind of viewer."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from figvault.access import Principal, Role
from figvault.db import Database
from figvault.pipeline.ingest_pipeline import COPY_NOTE
from figvault.pipeline.jobs import Job, JobState, JobStore, JobType
from figvault.pipeline.registry import DocState, DocumentRecord, DocumentRegistry
from figvault.service.api.job_schemas import JobOut
from figvault.service.api.routes.jobs import list_jobs
from tests.pipeline.test_registry_lookups import statements

STARTER = Principal(user="ana", account="usr_a", tenant="acme", groups=["eng"], roles=[Role.EDITOR])
VIEWERS = {
    "starter": STARTER,
    "peer": Principal(user="bo", account="usr_b", tenant="acme", groups=["eng"], roles=[Role.EDITOR]),
    "sales": Principal(user="cy", account="usr_c", tenant="acme", groups=["sales"], roles=[Role.EDITOR]),
    "admin": Principal(user="di", account="usr_d", tenant="acme", groups=[], roles=[Role.ADMIN]),
    "elsewhere": Principal(user="ed", account="usr_e", tenant="globex", groups=["eng"], roles=[Role.ADMIN]),
}


def _outcome(n: int) -> dict[str, Any]:
    doc_id = f"doc_{n}"
    warnings = [f"{COPY_NOTE} copy.pdf (doc_{n + 1}): a renamed or copied file", "page 2 repaired"]
    return {
        "path": f"/spool/f{n}.pdf",
        "name": f"f{n}.pdf",
        "doc_id": doc_id,
        "status": "failed" if n % 5 == 0 else "indexed",
        "units": 1,
        "pages": 1,
        "warnings": warnings,
        "failed_units": {f"f{n}.pdf p1 (u{n})": "encoding failed"},
    }


def _jobs(db: Database, count: int) -> list[Job]:
    """``count`` finished ingest jobs of tenant acme (every other one the starter's), each naming documents
    that exist in either group, one deleted since, gone and pruned ones."""
    registry, store = DocumentRegistry(db), JobStore(db)
    for n in range(4 * count):
        if n % 7 != 3:  # doc_3, doc_10, ...: deleted since
            groups = ["eng"] if n % 3 else ["sales"]
            registry.put(
                DocumentRecord(
                    doc_id=f"doc_{n}", tenant="acme", name=f"f{n}.pdf", state=DocState.INDEXED, groups=groups
                )
            )
    for j in range(count):
        starter = STARTER if j % 2 else VIEWERS["peer"]
        job = store.create(
            JobType.INGEST,
            {"groups": ["eng", "sales"]},
            started_by=starter.user,
            tenant="acme",
            started_by_id=starter.identity,
        )
        outcomes = [_outcome(4 * j + k) for k in range(3)]
        gone = [{"doc_id": f"doc_{4 * j + k}", "name": "g.pdf", "source": "/x/g.pdf"} for k in (1, 3)]
        result = {
            "indexed": 3,
            "documents": outcomes,
            "gone": gone,
            "pruned": [{**gone[0], "groups": ["eng"]}],
        }
        store._update(job.id, errors_json=json.dumps([{"item": f"f{4 * j}.pdf p1 (u{4 * j})", "error": "x"}]))
        store.finish(job.id, JobState.SUCCEEDED, "3 new", result)
    return store.list(limit=count, tenants=["acme"])


def _page(db: Database, viewer: Principal, limit: int) -> list[JobOut]:
    """``GET /v1/jobs?limit=`` as ``viewer`` asks it (the route's function, on ``db``)."""
    request: Any = SimpleNamespace(
        app=SimpleNamespace(state=SimpleNamespace(db=SimpleNamespace(conn=lambda: db)))
    )
    return list_jobs(request, viewer, limit=limit, before=None).jobs


@pytest.mark.parametrize("viewer", list(VIEWERS))
def test_a_page_of_jobs_is_each_job_as_shown_alone(registry_db: Database, viewer: str) -> None:
    _jobs(registry_db, 8)
    principal, store, registry = VIEWERS[viewer], JobStore(registry_db), DocumentRegistry(registry_db)
    page = _page(registry_db, principal, 8)
    assert page == [JobOut.of(store.require(shown.id), principal, registry) for shown in page]
    assert viewer == "elsewhere" or page  # the page shows something to compare
    if viewer == "sales":  # the fixture has documents the viewer may not see, and gone ones it may
        assert any(o.total < 3 for o in page) and any(o.gone for o in page)


def test_a_page_of_jobs_reads_the_registry_a_fixed_number_of_times(registry_db: Database) -> None:
    _jobs(registry_db, 24)
    counts = []
    for limit in (4, 24):
        with statements(registry_db) as sent:
            assert len(_page(registry_db, VIEWERS["sales"], limit)) == limit
        counts.append(len(sent))
    assert counts[0] == counts[1], counts
