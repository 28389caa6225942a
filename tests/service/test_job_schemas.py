"""A job as one viewer may see it (service/api/job_schemas.py ``JobOut.of``), from a job record alone."""

from __future__ import annotations

from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from figvault.access import Principal, Role
from figvault.pipeline.jobs import Job, JobError, JobState, JobType
from figvault.service.api.job_schemas import JobOut


class _Registry:
    """The one read ``JobOut.of`` makes: which of the job's documents exist now, with their groups."""

    def __init__(self, groups: dict[str, list[str]]) -> None:
        self.groups = groups

    def by_ids(self, tenant: str, doc_ids: Iterable[str]) -> dict[str, SimpleNamespace]:
        return {k: SimpleNamespace(doc_id=k, groups=self.groups[k]) for k in doc_ids if k in self.groups}


PEER = Principal(user="peer", tenant="acme", groups=["eng"], roles=[Role.EDITOR])
"""An editor of the job's group, not its starter."""


def ingest_job(**fields: Any) -> Job:
    """An ingest job of tenant ``acme`` that ``usr_starter`` started, with ``fields``."""
    return Job(id="j1", type=JobType.INGEST, tenant="acme", started_by_id="usr_starter", **fields)


def test_a_units_error_goes_with_its_document() -> None:
    """A unit left out of a document (its encoding failed) is a job error named ``doc pN (unit_id)``. It
    was shown to every peer of the job, even once its document had groups the peer is not in, naming that
    document; it now goes with its document, as the document's own error and counts do."""
    hidden, seen = "hidden-merger.pdf p1 (u1)", "seen.pdf p2 (u2)"
    outcomes = [
        {"path": "/spool/hidden-merger.pdf", "doc_id": "doc_h", "status": "indexed", "units": 3, "pages": 2},
        {"path": "/spool/seen.pdf", "doc_id": "doc_s", "status": "indexed", "units": 1, "pages": 1},
    ]
    outcomes[0]["failed_units"] = {hidden: "encoding failed"}
    outcomes[1]["failed_units"] = {seen: "encoding failed"}
    job = ingest_job(
        state=JobState.SUCCEEDED,
        done=2,
        total=2,
        errors=[JobError(item=hidden, error="encoding failed"), JobError(item=seen, error="encoding failed")],
        error_count=2,
        message="2 new, 0 replaced, 0 unchanged, 0 failed; 4 units from 3 pages in 1.0s",
        result={"indexed": 2, "failed": 0, "units": 4, "pages": 3, "seconds": 1.0, "documents": outcomes},
    )
    shown = JobOut.of(job, PEER, _Registry({"doc_h": ["sales"], "doc_s": ["eng"]}))  # type: ignore[arg-type]
    assert [e.item for e in shown.errors] == [seen] and shown.error_count == 1, shown.errors
    assert "merger" not in shown.model_dump_json()
    assert (shown.total, shown.result["indexed"], shown.result["units"]) == (1, 1, 1)
    both = JobOut.of(job, PEER, _Registry({"doc_h": ["eng"], "doc_s": ["eng"]}))  # type: ignore[arg-type]
    assert [e.item for e in both.errors] == [hidden, seen] and both.total == 2


def test_a_jobs_rate_and_eta_do_not_count_documents_the_viewer_may_not_see() -> None:
    """``done`` and ``total`` leave out the documents a viewer may not see now, but the job's ``rate`` and
    ``eta_s`` counted every document of the run: with the job's start and end times they gave how many
    documents it wrote, the hidden ones included (rate x seconds). A viewer who may not see all of them reads
    neither; one who sees every document reads both."""
    outcomes = [
        {"path": f"/spool/f{i}.pdf", "doc_id": f"doc_{i}", "status": "indexed", "units": 1, "pages": 1}
        for i in range(10)
    ]
    job = ingest_job(
        state=JobState.RUNNING,
        done=10,
        total=12,
        rate=2.0,
        eta_s=1.0,
        started_at=100.0,
        result={"indexed": 10, "failed": 0, "units": 10, "pages": 10, "seconds": 5.0, "documents": outcomes},
    )
    groups = {f"doc_{i}": ["eng"] for i in range(10)}
    every = JobOut.of(job, PEER, _Registry(groups))  # type: ignore[arg-type]
    assert (every.done, every.total, every.rate, every.eta_s) == (10, 12, 2.0, 1.0)
    groups["doc_0"] = ["board"]  # regrouped since: the peer may not see it now
    some = JobOut.of(job, PEER, _Registry(groups))  # type: ignore[arg-type]
    assert (some.done, some.total) == (9, 11)
    assert (some.rate, some.eta_s) == (0.0, None), some


def test_errors_past_the_kept_ones_are_not_counted_to_a_viewer_who_may_not_see_their_documents() -> None:
    """A job keeps its first 200 errors (``MAX_ERRORS_KEPT``) and counts them all. ``error_count`` less the
    kept errors the viewer may not see still counted the other 100 to a peer who may see none of the 300
    failed documents; it is counted from the documents' outcomes now."""
    outcomes = [
        {"path": f"/spool/f{i}.pdf", "doc_id": f"doc_{i}", "status": "failed", "error": "corrupt PDF"}
        for i in range(300)
    ]
    errors = [JobError(item=f"f{i}.pdf", error="corrupt PDF") for i in range(200)]
    job = ingest_job(
        state=JobState.FAILED,
        done=300,
        total=300,
        errors=errors,
        error_count=300,
        message="every document failed (0 new, 0 replaced, 0 unchanged, 300 failed; 0 units in 1s)",
        result={"documents": outcomes},
    )
    groups = {f"doc_{i}": ["board"] for i in range(300)}
    none = JobOut.of(job, PEER, _Registry(groups))  # type: ignore[arg-type]
    assert (none.errors, none.error_count, none.total) == ([], 0, 0), none
    groups.update({f"doc_{i}": ["eng"] for i in range(250, 300)})  # 50 past the kept errors are the peer's
    some = JobOut.of(job, PEER, _Registry(groups))  # type: ignore[arg-type]
    assert (some.errors, some.error_count, some.total) == ([], 50, 50), some
