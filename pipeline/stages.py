"""The ingest stages between the plan and the write, as plain functions any engine can run.

A document goes: **extract** (its own limited worker process, ``pipeline/extract_worker.py``) and
**prepare** (unit ids, perceptual hashes: CPU work beside the extraction) -> **encode** (one vector per
dense channel, in batches that span documents) -> **write** (blobs, rows, registry: the ingest runner,
``pipeline/ingest_pipeline.py``). The engines (``pipeline/runner.py`` on one machine, ``pipeline/
ray_engine.py`` on a Ray cluster) only decide where and how concurrently these run; so both produce the
same units, with the same ids, from the same file.

Each stage's busy time and work are counted in a ``StageClock``, from which the per-stage rates are read.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from figvault.errors import ExtractionError, shown_line
from figvault.ingest.soffice_profiles import SofficeProfiles
from figvault.phash import is_perceptual_hash, perceptual_hash
from figvault.pipeline.encode_units import EncodedUnits, encode_units
from figvault.pipeline.extract_worker import ExtractCancelled, WorkerResult, extract_limited
from figvault.pipeline.failures import failure_reason
from figvault.retrieval.schema import DenseChannel, text_channel_input
from figvault.settings import ExtractSettings
from figvault.storage import BlobStore
from figvault.units import DocumentExtraction, FigureUnit, make_unit_id

STAGES = ("extract", "encode", "write")
"""The stages a ``StageClock`` reports, in pipeline order."""
MODEL_LOAD = "load"
"""The clock's entry for loading the encoders' models (busy seconds only): counted apart from ``encode``, so
the encode rate is the models' speed and a run shows what the load cost."""


@dataclass(frozen=True)
class DocSpec:
    """Everything a stage needs to know about one document besides its file's content."""

    index: int
    """Position in the run's input (results are reported in this order)."""
    path: Path
    doc_id: str
    name: str
    """The name people see (``doc``): the file name, or an upload's display name."""
    tenant: str
    groups: tuple[str, ...]
    tags: tuple[str, ...]
    embedding_version: str


@dataclass
class PreparedDoc:
    """A document on its way to the store: its extraction, its units and their images, then vectors."""

    spec: DocSpec
    extraction: DocumentExtraction
    page_texts: dict[int, str]
    units: list[FigureUnit]
    pngs: list[bytes]
    encoded: EncodedUnits | None = None


Outcome = PreparedDoc | str
"""What a stage hands on: the document, or the one-line reason it failed."""


@dataclass
class EncodeJob:
    """A batch of stored units for the mapper (re-encode): everything encoding needs, picklable, so that a
    Ray actor on another node can encode it."""

    units: list[FigureUnit]
    images: list[bytes | Exception | None]
    """Per unit: its image, the error reading it raised, or None when no channel needs images."""
    texts: list[str]
    """Per unit: its text channel input."""
    reuse: list[dict[str, list[float]]]
    """Per unit: vectors copied from the source (channels whose version is unchanged)."""
    rows: list[dict[str, Any]] = field(default_factory=list, repr=False)
    """The caller's (the source rows); not sent to a Ray actor."""

    def image(self, index: int) -> bytes:
        data = self.images[index]
        if isinstance(data, Exception):
            raise data
        if data is None:
            raise KeyError(self.units[index].image)
        return data


RATE_MIN_SECONDS = 1.0
"""A run that wrote nothing, or took less than this, prints its counts without a rate: "0.0 units/s" is not
a speed, and a rate over a fraction of a second says more about the clock than about the work."""


def rate_text(count: int, seconds: float, unit: str, spec: str = ".1f") -> str:
    """``"6.1 units/s"``; "" when ``count`` is 0 or ``seconds`` under ``RATE_MIN_SECONDS``. Below 1/s two
    significant digits (``"0.028 units/s"``): a slow ingest's summary said "4 units ... 0.0 units/s"."""
    if count <= 0 or seconds < RATE_MIN_SECONDS:
        return ""
    rate = count / seconds
    return f"{rate:{spec if rate >= 1 else '.2g'}} {unit}/s"


@dataclass
class StageCount:
    docs: int = 0
    units: int = 0
    pages: int = 0
    busy_s: float = 0.0


@dataclass
class StageClock:
    """Busy seconds and work done per stage (thread-safe: extraction threads report concurrently)."""

    stages: dict[str, StageCount] = field(default_factory=lambda: {s: StageCount() for s in STAGES})
    timings: dict[str, float] = field(default_factory=dict)
    """Finer seconds (``phash``, ``encode_texts``, ``encode_images``, ``blobs``, ``write``, ``delete``)."""
    started: set[str] = field(default_factory=set)
    """Paths of the documents an engine has begun (extraction submitted)."""
    written: set[str] = field(default_factory=set)
    """Paths of the documents the runner has written, or recorded as failed (``IngestRunner``)."""
    listener: Callable[[], None] | None = None
    """Called (in the engine's driving thread) after each ``begin``: the runner records what is in flight."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def begin(self, spec: DocSpec) -> None:
        """An engine starts on this document (from its driving thread, the runner's)."""
        with self._lock:
            self.started.add(str(spec.path))
        if self.listener is not None:
            self.listener()

    def add(self, stage: str, seconds: float, *, docs: int = 0, units: int = 0, pages: int = 0) -> None:
        with self._lock:
            count = self.stages.setdefault(stage, StageCount())
            count.docs += docs
            count.units += units
            count.pages += pages
            count.busy_s += seconds

    def add_load(self, seconds: float) -> None:
        """Seconds spent loading models (``MODEL_LOAD``)."""
        self.add(MODEL_LOAD, seconds)

    def add_timings(self, timings: dict[str, float]) -> None:
        with self._lock:
            for key, seconds in timings.items():
                self.timings[key] = self.timings.get(key, 0.0) + seconds

    def rates(self) -> dict[str, dict[str, float]]:
        """Per stage: docs, units, pages, busy seconds, and docs/units/pages per busy second."""
        with self._lock:
            out: dict[str, dict[str, float]] = {}
            for name, c in self.stages.items():
                per = 1.0 / c.busy_s if c.busy_s > 0 else 0.0
                out[name] = {
                    "docs": c.docs,
                    "units": c.units,
                    "pages": c.pages,
                    "busy_s": round(c.busy_s, 3),
                    "docs_per_s": round(c.docs * per, 3),
                    "units_per_s": round(c.units * per, 3),
                    "pages_per_s": round(c.pages * per, 3),
                }
            return out


def prepare_units(extraction: DocumentExtraction, spec: DocSpec) -> tuple[list[FigureUnit], list[bytes]]:
    """The document's figure units as stored (ids, owner, access, hashes) and their PNG images."""
    units: list[FigureUnit] = []
    pngs: list[bytes] = []
    seen: set[str] = set()
    content_id = f"{spec.tenant}/{spec.doc_id}/{extraction.doc_sha256}"
    # When this version was stored: orders copies of a figure whose documents state no date.
    indexed_at = datetime.now(UTC).isoformat(timespec="seconds")
    meta = extraction.meta.model_copy(update={"indexed_at": indexed_at})
    for figure in extraction.figures:
        u = figure.unit
        # Tenant and doc_id are part of the id, so two tenants ingesting one file never collide.
        unit_id = make_unit_id(content_id, u.page, str(u.kind), u.bbox)
        if unit_id in seen:
            continue
        seen.add(unit_id)
        units.append(
            u.model_copy(
                update={
                    "unit_id": unit_id,
                    "doc_id": spec.doc_id,
                    "doc": extraction.doc,
                    "tenant": spec.tenant,
                    "groups": sorted(set(spec.groups)),
                    "tags": list(spec.tags),
                    "image": BlobStore.key_for(figure.png),
                    # The worker's hash of the pixels it rendered, else (a sketch, an older worker) the PNG's.
                    "phash": u.phash if is_perceptual_hash(u.phash) else perceptual_hash(figure.png),
                    "embedding_version": spec.embedding_version,
                    "meta": meta,
                }
            )
        )
        pngs.append(figure.png)
    return units, pngs


def prepare(spec: DocSpec, result: WorkerResult, clock: StageClock | None = None) -> PreparedDoc:
    """A worker's extraction, named as people see it, with its units prepared."""
    started = time.perf_counter()
    extraction = result.extraction.model_copy(
        update={
            "doc": spec.name,
            "warnings": _named(result.extraction.warnings, result.extraction.doc, spec.name),
        }
    )
    units, pngs = prepare_units(extraction, spec)
    if clock is not None:
        clock.add_timings({"phash": time.perf_counter() - started})
    return PreparedDoc(spec, extraction, result.page_texts, units, pngs)


def _named(warnings: list[str], read_as: str, name: str) -> list[str]:
    """The extractor's warnings that start with the file's name as it was read (an upload's spool file,
    ``0001.pptx``), starting with the name people see instead."""
    prefix = f"{read_as}:"
    if not read_as or read_as == name:
        return list(warnings)
    return [f"{name}:{w[len(prefix) :]}" if w.startswith(prefix) else w for w in warnings]


def extract_raw(
    path: Path,
    settings: ExtractSettings,
    *,
    cancelled: Callable[[], bool] | None = None,
    profiles: SofficeProfiles | None = None,
) -> WorkerResult | str:
    """Extract one file under the per-document limits: the worker's result, or the one-line reason it
    failed (ExtractCancelled still raises). A deck's conversion reuses a profile of ``profiles``."""
    try:
        return extract_limited(path, settings, cancelled=cancelled, profiles=profiles)
    except ExtractCancelled:
        raise
    except ExtractionError as exc:
        return failure_reason(exc)
    except Exception as exc:  # a hostile document must fail alone
        return shown_line(exc)


def prepared_outcome(spec: DocSpec, result: WorkerResult | str, clock: StageClock, started: float) -> Outcome:
    """``extract_raw``'s result as the extract stage hands it on: the document with its units prepared,
    or the reason; counted in ``clock`` as extraction busy since ``started`` (``time.perf_counter``)."""
    prepared: Outcome
    if isinstance(result, str):
        prepared = result
    else:
        try:
            prepared = prepare(spec, result, clock)
        except Exception as exc:  # preparing a hostile document's units must fail that document only
            prepared = shown_line(exc)
    pages = prepared.extraction.meta.pages if isinstance(prepared, PreparedDoc) else 0
    units = len(prepared.units) if isinstance(prepared, PreparedDoc) else 0
    clock.add("extract", time.perf_counter() - started, docs=1, units=units, pages=pages)
    return prepared


def extract_and_prepare(
    spec: DocSpec,
    settings: ExtractSettings,
    clock: StageClock,
    *,
    cancelled: Callable[[], bool] | None = None,
    profiles: SofficeProfiles | None = None,
) -> Outcome:
    """Extract one document under the per-document limits and prepare its units; a failure's reason
    instead (ExtractCancelled still raises). A deck's conversion reuses a profile of ``profiles``."""
    started = time.perf_counter()
    result = extract_raw(spec.path, settings, cancelled=cancelled, profiles=profiles)
    return prepared_outcome(spec, result, clock, started)


def encode_batch(
    encoders: Any,
    channels: Sequence[DenseChannel],
    docs: Sequence[PreparedDoc],
    clock: StageClock,
    text_workers: int = 1,
) -> list[Outcome]:
    """Vectors for the units of several documents in one encode call (larger batches than one document
    gives); each document gets its share. An encoder error fails the batch's documents one by one: a bad
    document never takes the others with it. ``text_workers``: texts encoded at once (``encode_units``)."""
    started = time.perf_counter()
    units = [u for d in docs for u in d.units]
    pngs = [p for d in docs for p in d.pngs]
    texts = [text_channel_input(u, d.page_texts.get(u.page, "")) for d in docs for u in d.units]
    timings: dict[str, float] = {}
    try:
        encoded = encode_units(
            encoders,
            channels,
            units,
            image=pngs.__getitem__,
            texts=texts,
            timings=timings,
            text_workers=text_workers,
        )
    except Exception as exc:
        if len(docs) > 1:
            return [out for d in docs for out in encode_batch(encoders, channels, [d], clock, text_workers)]
        clock.add("encode", time.perf_counter() - started, docs=1)
        return [shown_line(exc)]
    offset = 0
    for doc in docs:
        end = offset + len(doc.units)
        failed = {i - offset: why for i, why in encoded.failed.items() if offset <= i < end}
        doc.encoded = EncodedUnits(encoded.vectors[offset:end], failed)
        offset = end
    clock.add_timings(timings)
    pages = sum(d.extraction.meta.pages for d in docs)
    clock.add("encode", time.perf_counter() - started, docs=len(docs), units=len(units), pages=pages)
    return list(docs)


def load_encoders(encoders: Any, clock: StageClock) -> None:
    """Load the encoders' models now, timed as ``MODEL_LOAD`` (already loaded: about nothing), and put the
    texts this batch job stores on ONNX Runtime where ``text.document_runtime`` allows and it reproduces the
    model (``SentenceTextEncoder.prepare_documents``; once per encoder, its export counted in the load). The
    text model's torch weights are not loaded when a cached export serves the stored texts
    (``encoders/onnx_cache.py``): its questions path loads them on first use. A load error is left to the
    first encode call, which fails its documents with the reason."""
    started = time.perf_counter()
    text = getattr(encoders, "text", None)
    ready = False
    with contextlib.suppress(Exception):  # the encode call raises it again, per document
        prepare = getattr(text, "prepare_documents", None)
        if prepare is not None:
            import torch

            prepare(torch.get_num_threads())  # the encoder thread's (``runner.encoder_threads``)
            ready = bool(getattr(text, "documents_ready", False)) and not getattr(text, "loaded", True)
    with contextlib.suppress(Exception):
        encoders.load(text=False) if ready else encoders.load()
    clock.add_load(time.perf_counter() - started)


def encode_job(
    encoders: Any, channels: Sequence[DenseChannel], job: EncodeJob, clock: StageClock
) -> EncodedUnits:
    """The mapper of a re-encode batch: its vectors (and the units that failed), timed as ``encode``."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    encoded = encode_units(
        encoders, channels, job.units, image=job.image, texts=job.texts, reuse=job.reuse, timings=timings
    )
    clock.add_timings(timings)
    clock.add("encode", time.perf_counter() - started, docs=0, units=len(job.units))
    return encoded
