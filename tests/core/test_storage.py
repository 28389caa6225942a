"""One storage interface for blobs, kept originals, page renders and waiting uploads: the data folder by
default, any fsspec URL by ``storage.url`` (tested: a ``file://`` folder two data folders share, and
fsspec's in-memory filesystem standing in for an object store)."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import pytest

from figvault.ingest.extract import PDF_MIME
from figvault.ingest.samples import sample_pdf_bytes
from figvault.pipeline.ingest_job import queue_upload_job, uploads_dir
from figvault.pipeline.jobs import JobState, JobStore, run_here
from figvault.pipeline.page_images import PageImageRenderer
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.pipeline.sources import SourceStore
from figvault.settings import Settings, load_settings
from figvault.storage import BlobStore, Storage
from tests.generated_docs import figure_pdf


@pytest.fixture
def memory_url() -> str:
    return f"memory://figvault-{uuid.uuid4().hex[:8]}"


def test_storage_keys_and_refusals(memory_url: str, tmp_path: Path) -> None:
    for storage in (Storage(memory_url), Storage(tmp_path / "s"), Storage(f"file://{tmp_path / 'u'}")):
        storage.write("a/b.bin", b"one")
        storage.write("a/b.bin", b"two")  # overwrite is whole
        assert storage.read("a/b.bin") == b"two" and storage.exists("a/b.bin")
        assert storage.list("a/*.bin") == ["a/b.bin"]
        with pytest.raises(KeyError):
            storage.read("a/none.bin")
        for bad in ("../x", "/etc/passwd", "a/../../x", ""):
            with pytest.raises(KeyError):
                storage.read(bad)
        storage.delete_tree("a")
        assert not storage.exists("a/b.bin")
    assert Storage(f"file://{tmp_path / 'u'}").local and not Storage(memory_url).local


def test_blobs_on_a_remote_storage_are_content_addressed(memory_url: str) -> None:
    blobs = BlobStore(Storage(memory_url).area("blobs"))
    key = blobs.put(b"\x89PNG fake bytes")
    assert key == hashlib.sha256(b"\x89PNG fake bytes").hexdigest()
    assert blobs.put(b"\x89PNG fake bytes") == key and blobs.keys() == [key]
    assert blobs.get(key) == b"\x89PNG fake bytes" and blobs.exists(key)
    assert blobs.location(key).startswith("memory://")
    with pytest.raises(KeyError):
        blobs.get("../" + key)
    assert not blobs.exists("nothex")
    blobs.delete(key)
    assert not blobs.exists(key)


def test_originals_and_page_renders_on_a_remote_storage(memory_url: str, tmp_path: Path) -> None:
    """A page is rendered from an original in the storage, and the render is cached there for everyone."""
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.storage.url = memory_url
    data = sample_pdf_bytes()
    sha = hashlib.sha256(data).hexdigest()
    kept = SourceStore.from_settings(settings).keep(sha, data, PDF_MIME)
    assert kept.read_bytes() == data  # a local copy for PyMuPDF, in the data folder's cache
    storage = Storage(memory_url)
    assert storage.read(f"sources/{sha[:2]}/{sha}.pdf") == data
    image = PageImageRenderer(settings).render(sha, 1)
    assert image.png.startswith(b"\x89PNG")
    assert storage.read("cache/pages/" + PageImageRenderer(settings).cache_key(sha, 1)) == image.png
    other = load_settings("offline", data_dir=tmp_path / "other")  # another replica: no local copy at all
    other.storage.url = memory_url
    assert PageImageRenderer(other).render(sha, 1).png == image.png


def _replica(tmp_path: Path, name: str, shared: str, offline_settings: Settings) -> Settings:
    settings = offline_settings.model_copy(deep=True)
    settings.data_dir = tmp_path / name
    settings.storage.url = shared
    settings.registry.url = offline_settings.registry_url  # one registry, as replicas share one
    settings.store = offline_settings.store
    return settings


def test_an_upload_queued_on_one_replica_is_ingested_from_the_shared_folder(
    offline_settings: Settings, tmp_path: Path
) -> None:
    """Replica A queues an upload; its files wait in the shared ``file://`` folder, not in A's data
    folder, so the job (run here with another data folder, as replica B) finds them; the unit images
    land in the shared folder too, and the uploads are removed when the job ends."""
    offline_settings.extract.workers = 1
    shared = tmp_path / "shared"
    a = _replica(tmp_path, "a", f"file://{shared}", offline_settings)
    b = _replica(tmp_path, "b", f"file://{shared}", offline_settings)
    b.store.uri = ""
    spooled = figure_pdf(tmp_path / "spool.pdf", seed=3)
    job = queue_upload_job(
        a, JobStore.open(a), [("Q3.pdf", spooled)], groups=["eng"], tenant="acme", started_by="ed"
    )
    waiting = uploads_dir(a, job.id)
    assert waiting.is_relative_to(shared) and len(list(waiting.iterdir())) == 1
    assert not (a.data_dir / "jobs").exists()
    b.data_dir = offline_settings.data_dir  # B holds the (embedded) store
    final = run_here(b, JobStore.open(b).require(job.id))
    assert final.state == JobState.SUCCEEDED and final.result["indexed"] == 1, final.message
    [record] = DocumentRegistry.open(b).matching("acme", "Q3.pdf")  # ids are server-chosen since issue 12
    assert record.state == DocState.INDEXED and record.units == 2
    assert len(BlobStore(Storage(f"file://{shared}").area("blobs")).keys()) == 2
    assert not waiting.exists()
