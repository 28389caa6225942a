"""Page images of a document whose replacement failed: its older units stay searchable by the groups they
carry, and its pages are those units' version, never the failed file's (whose bytes may be another
document's, of other groups). A trust audit, 2026-12-07: the record names the failed bytes, and the page
route rendered them to the old groups (the page of a document they may not see), or nothing at all where
the failed file's original was not kept.

Encoders: the tiny OpenCLIP model (CLIP channel only, plus BM25)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from figvault.access import Role
from figvault.errors import ExtractionError
from figvault.pipeline import stages
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.helpers.server import no_rate_limits
from tests.service import upload_service
from tests.service.upload_service import serving

ACCOUNTS = [
    ("admin", Role.ADMIN, ["g0", "g1"], "acme"),
    ("e0", Role.EDITOR, ["g0"], "acme"),
    ("r1", Role.READER, ["g1"], "acme"),
]


class Service(upload_service.Service):
    def pdf(self, seed: int) -> bytes:
        path = self.root / f"src-{seed}.pdf"
        if not path.exists():  # the same seed gives the same bytes, once written
            figure_pdf(path, seed=seed)
        return path.read_bytes()

    def upload(self, user: str, name: str, seed: int, groups: str) -> dict:
        files = [("files", (name, self.pdf(seed), "application/pdf"))]
        response = self.client.post(
            "/v1/documents", files=files, data={"groups": groups}, headers=self.headers(user)
        )
        assert response.status_code == 202, response.text
        return self.wait(response.json()["job_id"], user, timeout_s=180)

    def page(self, user: str, doc_id: str, page: int = 1) -> tuple[int, bytes]:
        response = self.client.get(f"/v1/documents/{doc_id}/pages/{page}/image", headers=self.headers(user))
        return response.status_code, response.content

    def doc_id(self, user: str, name: str) -> str:
        listed = self.client.get("/v1/documents", headers=self.headers(user)).json()["documents"]
        return next(d["doc_id"] for d in listed if d["name"] == name)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = tiny_settings(tmp_path / "data", TINY_A, text=False)
    settings.extract.workers = 1
    settings.jobs.batch_size = 2
    no_rate_limits(settings)
    with serving(settings, tmp_path, ACCOUNTS, Service) as svc:
        yield svc


def fail_the_replacement(service: Service, monkeypatch: pytest.MonkeyPatch, name: str, seed: int) -> dict:
    """Replace ``name`` with the bytes of ``seed`` for g0 only, its extraction failing (any failure of
    bytes that are readable: a CPU budget on a busier machine, memory)."""

    def failing(*args: object, **kwargs: object) -> None:
        raise ExtractionError("extraction took more than its CPU time (extract.doc_timeout_s)")

    with monkeypatch.context() as patched:
        patched.setattr(stages, "extract_limited", failing)
        job = service.upload("admin", name, seed, "g0")
    assert job["state"] == "failed", job
    return job


def test_the_old_groups_see_the_old_version_s_pages_not_the_failed_file_s(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.upload("admin", "shared.pdf", 61, "g0,g1")
    shared = service.doc_id("admin", "shared.pdf")
    status, old_page = service.page("r1", shared)
    assert status == 200
    service.upload("e0", "secret.pdf", 62, "g0")  # g0 only: r1 may not see it
    secret = service.doc_id("e0", "secret.pdf")
    status, secret_page = service.page("e0", secret)
    assert status == 200 and secret_page != old_page
    assert service.page("r1", secret)[0] == 404

    fail_the_replacement(service, monkeypatch, "shared.pdf", 62)  # the secret's bytes
    record = service.client.get(f"/v1/documents/{shared}", headers=service.headers("r1")).json()
    assert record["state"] == "failed" and record["units"] >= 1  # still listed and searchable for g1
    secret_sha = service.client.get(f"/v1/documents/{secret}", headers=service.headers("e0")).json()["sha256"]
    listed = service.client.get("/v1/documents", headers=service.headers("r1")).json()["documents"]
    assert secret_sha not in (record["sha256"], *(d["sha256"] for d in listed))  # the version r1 is shown

    assert service.page("r1", shared) == (200, old_page)
    # Deleting the secret leaves nothing of it to reach r1 through the failed record either.
    assert (
        service.client.delete(f"/v1/documents/{secret}", headers=service.headers("admin")).status_code == 200
    )
    assert service.page("r1", shared) == (200, old_page)


def test_a_failed_replacement_whose_original_was_not_kept_still_shows_the_old_pages(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    service.upload("admin", "report.pdf", 71, "g0,g1")
    report = service.doc_id("admin", "report.pdf")
    status, old_page = service.page("r1", report)
    assert status == 200
    fail_the_replacement(service, monkeypatch, "report.pdf", 72)  # never kept: its extraction failed

    assert service.page("r1", report) == (200, old_page)
    assert service.page("admin", report) == (200, old_page)
