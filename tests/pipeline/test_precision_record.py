"""A store's text vectors and its questions in one dtype, when ``text.precision = "auto"`` resolves to
another dtype on the machine that reads the store (bf16 kernels on the ingesting CPU, none on the serving
one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.access import local_operator
from figvault.encoders import device
from figvault.encoders.factory import configured_embedding_version
from figvault.errors import VersionMismatchError
from figvault.pipeline.jobs import GLOBAL_TENANT, JobState, JobStore, JobType, run_here
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf

QUESTION = SearchRequest(query="soil moisture")


def run_job(settings: Settings, kind: JobType, params: dict, tenant: str) -> None:
    job = JobStore.open(settings).create(kind, params, started_by="test", tenant=tenant)
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED and final.error_count == 0, final


def set_bf16_kernels(monkeypatch: pytest.MonkeyPatch, present: bool) -> None:
    """This machine's CPU as ``text.precision = "auto"`` sees it."""
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: present)


@pytest.fixture
def auto_text(data_dir: Path) -> Settings:
    """The text channel alone (MiniLM) with ``precision = "auto"``, and BM25."""
    settings = tiny_settings(data_dir, TINY_A)
    settings.clip.enabled = False
    settings.text.precision = "auto"
    settings.extract.workers = 1
    return settings


def test_a_store_made_in_bf16_is_served_in_bf16_or_refused_then_reencoded(
    auto_text: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_bf16_kernels(monkeypatch, True)
    made_in_bf16 = configured_embedding_version(auto_text)
    doc = figure_pdf(tmp_path / "report.pdf", seed=0)
    run_job(auto_text, JobType.INGEST, {"paths": [str(doc)], "groups": [], "tenant": "default"}, "default")

    set_bf16_kernels(monkeypatch, False)  # the same settings read on a CPU without bf16 kernels
    here = configured_embedding_version(auto_text)
    assert here != made_in_bf16
    # Strict (the CLI): the configured encoders make another version, so the questions are refused.
    with pytest.raises(VersionMismatchError, match="run `figvault reencode`"):
        SearchEngine.from_settings(auto_text).search(local_operator(), QUESTION)
    # The service: the collection's recorded encoders, in the dtype its vectors were made in.
    served = SearchEngine.from_settings(auto_text, serve_recorded=True)
    response = served.search(local_operator(), QUESTION)
    assert response.embedding_version == made_in_bf16
    _, _, encoders = served.served()  # type: ignore[misc]
    assert encoders.text.spec.precision == "bf16"

    # The re-encode moves the store to this machine's dtype; then the configured encoders serve it.
    run_job(auto_text, JobType.REENCODE, {}, GLOBAL_TENANT)
    assert MilvusUnitStore.from_settings(auto_text).served_layout().embedding_version == here
    response = SearchEngine.from_settings(auto_text).search(local_operator(), QUESTION)
    assert response.embedding_version == here
