"""One encode step for ingest and re-encode: a unit whose image cannot be encoded fails alone, with its
reason, and the rest of its batch is stored (tiny random CLIP, fp32, through the real loading code)."""

from __future__ import annotations

import random
import weakref
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from figvault.pipeline import stages
from figvault.pipeline.encode_units import encode_units
from figvault.pipeline.ingest_pipeline import INDEXED, ingest_paths
from figvault.pipeline.jobs import JobState, JobStore, JobType, run_here
from figvault.pipeline.registry import DocState, DocumentRegistry
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import DenseChannel
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, tiny_settings
from tests.generated_docs import figure_pdf
from tests.retrieval.store_fixtures import random_unit

TRUNCATED_PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR truncated"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    settings = tiny_settings(tmp_path / "data", TINY_A, text=False, lexical=False)
    settings.extract.workers = 1
    return settings


@pytest.fixture
def one_bad_figure(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first figure of every document comes out of extraction as a truncated PNG."""
    prepare = stages.prepare_units

    def with_a_bad_one(*args: object, **kwargs: object) -> tuple[list, list[bytes]]:
        units, pngs = prepare(*args, **kwargs)  # type: ignore[arg-type]
        return units, [TRUNCATED_PNG, *pngs[1:]]

    monkeypatch.setattr(stages, "prepare_units", with_a_bad_one)


def test_ingest_stores_the_good_units_and_reports_the_bad_one(
    settings: Settings, tmp_path: Path, one_bad_figure: None
) -> None:
    """Before the shared step, one undecodable figure failed its whole document (0 units stored)."""
    pdf = figure_pdf(tmp_path / "two.pdf", seed=5, n_figures=2)
    report = ingest_paths(settings, [pdf], groups=["eng"], tenant="acme", progress=False)
    [outcome] = report.documents
    assert outcome.status == INDEXED and outcome.units == 1, outcome.error
    [(unit, reason)] = outcome.failed_units.items()
    assert unit.startswith("two.pdf p1 (") and "unreadable" in reason
    record = DocumentRegistry.open(settings).get("acme", outcome.doc_id)
    assert record is not None and record.state == DocState.INDEXED and record.units == 1
    store = MilvusUnitStore.from_settings(settings)
    assert store.count(store.served_collection()) == 1  # type: ignore[arg-type]


def test_an_ingest_job_lists_the_unit_among_its_errors(
    settings: Settings, tmp_path: Path, one_bad_figure: None
) -> None:
    pdf = figure_pdf(tmp_path / "two.pdf", seed=6, n_figures=2)
    jobs = JobStore.open(settings)
    job = jobs.create(JobType.INGEST, {"paths": [str(pdf)], "groups": ["eng"]}, started_by="t", tenant="acme")
    final = run_here(settings, job)
    assert final.state == JobState.SUCCEEDED and final.result["units"] == 1
    assert final.error_count == 1 and "unreadable" in final.errors[0].error
    assert final.errors[0].item.startswith("two.pdf p1 (")


def test_a_document_whose_every_figure_fails_fails(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepare = stages.prepare_units
    monkeypatch.setattr(
        stages,
        "prepare_units",
        lambda *a, **k: (lambda u, p: (u, [TRUNCATED_PNG] * len(p)))(*prepare(*a, **k)),
    )
    pdf = figure_pdf(tmp_path / "bad.pdf", seed=7, n_figures=2)
    [outcome] = ingest_paths(settings, [pdf], groups=["eng"], tenant="acme", progress=False).documents
    assert outcome.status == "failed" and "no figure could be encoded" in outcome.error


class CountingTextEncoder:
    """Records what it was asked to encode; a text's vector is its length and first letter's code."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        self.asked.extend(texts)
        return np.array([[float(len(t)), float(ord(t[0]))] for t in texts], dtype=np.float32)


def test_a_text_two_units_share_is_encoded_once() -> None:
    """Uncaptioned figures of one page with no words of their own embed the same page text."""
    rng = random.Random(0)
    units = [random_unit(rng, i, tenant="acme", groups=["eng"], doc_id="d") for i in range(3)]
    texts = ["page text of page 1", "a caption", "page text of page 1"]
    encoder = CountingTextEncoder()
    encoded = encode_units(
        SimpleNamespace(text=encoder),
        [DenseChannel("text", 2, "text_test")],
        units,
        image=lambda i: b"",
        texts=texts,
    )
    assert sorted(encoder.asked) == ["a caption", "page text of page 1"]
    assert [v["text"] for v in encoded.vectors] == [[19.0, 112.0], [9.0, 97.0], [19.0, 112.0]]


def test_images_are_decoded_a_few_at_a_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """24 figures, CLIP batches of 4: at most a few full-size decoded images exist at once (those being
    preprocessed), and the vectors are those of the images decoded up front. Before, every image of the
    encode batch (up to ``ingest.encode_batch_units``, 128) was decoded before the first was encoded: 60
    noise photos of 2000x2000 took 1.4 GB in the ingesting process."""
    from figvault.encoders.factory import build_encoders
    from figvault.pipeline import encode_units as encode_module
    from tests.generated_docs import figure_png

    settings = tiny_settings(tmp_path / "data", TINY_A, text=False, lexical=False)
    settings.clip.batch_size = 4
    encoders = build_encoders(settings)
    rng = random.Random(1)
    units = [random_unit(rng, i, tenant="acme", groups=["eng"], doc_id="d") for i in range(24)]
    pngs = [figure_png(300 + i, size=(320, 240)) for i in range(24)]
    alive: set[int] = set()
    most: list[int] = [0]
    decode = encode_module.decode_image

    def counted(data: bytes) -> Image.Image:
        image = decode(data)
        key = id(image)
        alive.add(key)
        most[0] = max(most[0], len(alive))
        weakref.finalize(image, alive.discard, key)
        return image

    monkeypatch.setattr(encode_module, "decode_image", counted)
    channel = DenseChannel("clip", encoders.clip.dim, "clip_test")
    encoded = encode_units(encoders, [channel], units, image=pngs.__getitem__, texts=[""] * 24)
    assert encoded.failed == {}
    expected = encoders.clip.encode_images([decode(p) for p in pngs])
    assert np.allclose([v["clip"] for v in encoded.vectors], expected, atol=1e-5)
    assert most[0] <= 8, most[0]
