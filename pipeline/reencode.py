"""Re-encode: rebuild every vector for a new embedding_version, then switch the alias — without downtime.

The source of truth is what is already stored: the unit records in the served collection (every scalar
field of a unit is kept there), the unit images in the blob store, and the texts. No document is parsed
again. Steps (each a job phase):

1. ``prepare``: create the target collection ``<alias>_<new version>`` with its own schema (channels and
   dims of the new encoders) and record the encoder settings on it.
2. ``copy``: units whose row is missing from the target (or whose access key changed) are encoded in
   batches and upserted. The target collection itself is the checkpoint: a re-run (after a crash, kill -9
   or cancel) computes the difference again and continues where the last batch ended; the job record also
   keeps the last unit id and count. A channel whose own version is unchanged (say the text model when only
   CLIP changed) is copied, not recomputed.
3. ``verify`` (holding the store write lock, so no ingest writes meanwhile): one more catch-up pass for
   units ingested or deleted during the copy, then the two collections must hold the same count and the
   same unit ids (with the same access keys).
4. ``switch``: ``alter_alias`` (atomic: a reader sees the old or the new collection, never a mix); the
   document registry is pointed at the new collection. The old collection stays until
   ``figvault collections drop NAME``.

Searches keep answering from the old collection with the old encoders throughout: retrieval/search.py
takes (collection, layout, encoders of its version) together per query, and sees the alias move on the
next one.

A re-encode started over HTTP (``service.tenant_admin_reencode``) records its admin like an ingest job
records its caller (``params.principal``, with ``tenant`` and ``credential``) and checks it again before it
starts and before each batch (``check_admin``): the job fails ("stopped: ...") once the admin's key is
revoked or gone, the user demoted or moved, the token expired or no longer accepted, or the setting off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from figvault.access import Action, Principal
from figvault.errors import FigvaultError
from figvault.phash import perceptual_hash
from figvault.pipeline.encode_units import EncodedUnits
from figvault.pipeline.jobs import GLOBAL_TENANT, Job, JobContext, JobState, JobStore, JobType
from figvault.pipeline.registry import DocumentRegistry, connect
from figvault.pipeline.runner import Engine, LocalEngine, build_engine
from figvault.pipeline.stages import MODEL_LOAD, EncodeJob, StageClock, rate_text
from figvault.pipeline.store_lock import store_write_lock
from figvault.retrieval.acl import in_list
from figvault.retrieval.lexical import LexicalChannel
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import (
    F_ACL_KEY,
    F_DOC_ID,
    F_ID,
    F_PAGE_TEXT,
    F_PHASH,
    F_TAGS,
    F_TENANT,
    OUTPUT_FIELDS,
    StoreLayout,
    row_to_unit,
    text_channel_input,
    unit_to_row,
)
from figvault.retrieval.served_encoders import record_encoder_settings
from figvault.settings import Settings
from figvault.storage import BlobStore
from figvault.units import FigureUnit

log = logging.getLogger(__name__)

ROW_FIELDS_SUFFIX = "f2"
"""Suffix of the collection a re-encode writes when only the row fields are new (schema.OPTIONAL_FIELDS)."""
MODEL_LOAD_TIMING = "model_load"
"""The result's ``timings`` key for the encoders' model load (not part of ``encode``)."""
MAX_CATCH_UP_PASSES = 5
"""Copy passes before the locked verification; more units arriving than this absorbs is unusual."""


@dataclass(frozen=True)
class ReencodePlan:
    source: str
    """The collection the alias serves now."""
    source_layout: StoreLayout
    target: str
    target_layout: StoreLayout
    suffix: str = ""
    """Of the target's name: ``ROW_FIELDS_SUFFIX`` when only the row fields change (same version)."""

    @property
    def reused_channels(self) -> list[str]:
        """Dense channels whose vectors are identical in both versions: copied instead of re-encoded."""
        return [
            c.name
            for c in self.target_layout.dense
            if (old := self.source_layout.dense_channel(c.name)) is not None
            and old.embedding_version == c.embedding_version
            and old.dim == c.dim
        ]


@dataclass
class ReencodeResult:
    source: str
    target: str
    source_version: str
    target_version: str
    units: int
    encoded: int = 0
    removed: int = 0
    seconds: float = 0.0
    switch_ms: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    engine: str = "local"

    def summary(self) -> str:
        load_s = self.timings.get(MODEL_LOAD_TIMING, 0.0)
        notes = [rate_text(self.encoded, self.seconds, "units")]
        notes.append(f"models loaded in {load_s:.1f}s" if load_s >= 0.05 else "")
        said = ", ".join(note for note in notes if note)
        return (
            f"alias now serves {self.target} ({self.target_version}); {self.units} units,"
            f" {self.encoded} encoded in {self.seconds:.1f}s"
            + (f" ({said})" if said else "")
            + f"; old collection {self.source} kept"
        )

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "summary": self.summary()}


def layout_of_encoders(encoders: Any) -> StoreLayout:
    return StoreLayout.from_channels(
        encoders.embedding_version, encoders.channels(), lexical=encoders.lexical
    )


def plan_reencode(store: MilvusUnitStore, encoders: Any) -> ReencodePlan | None:
    """What a re-encode to ``encoders`` would do; None when the alias already serves their version (or
    nothing is stored yet: the first ingest creates the right collection)."""
    source = store.served_collection()
    if source is None:
        return None
    source_layout = store.layout_of(source)
    target_layout = store.supported_layout(layout_of_encoders(encoders))
    if source_layout.embedding_version == target_layout.embedding_version:
        if not store.absent_fields(source):
            return None
        # Same vectors, older rows (no tags, aspect or hash fields): a copy with them, vectors copied as
        # they are (every channel's version is unchanged), under a name of its own.
        target = store.collection_name_for(target_layout, suffix=ROW_FIELDS_SUFFIX)
        return ReencodePlan(source, source_layout, target, target_layout, ROW_FIELDS_SUFFIX)
    return ReencodePlan(source, source_layout, store.collection_name_for(target_layout), target_layout)


class Reencoder:
    """Runs one plan. ``report(phase, done, total, checkpoint)`` and ``check_cancel()`` come from the job."""

    def __init__(
        self,
        settings: Settings,
        store: MilvusUnitStore,
        encoders: Any,
        plan: ReencodePlan,
        *,
        report: Callable[[str, int, int, dict[str, Any] | None], None] = lambda *_: None,
        check_cancel: Callable[[], None] = lambda: None,
        on_error: Callable[[str, str], None] = lambda *_: None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.engine = engine or LocalEngine(settings)
        self.clock = StageClock()
        """Per-batch encode time and the model load (``stages.MODEL_LOAD``), kept apart."""
        self.store = store
        self.encoders = encoders
        self.plan = plan
        self.blobs = BlobStore.from_settings(settings)
        self.report = report
        self.check_cancel = check_cancel
        self.on_error = on_error
        self.batch_size = max(1, settings.jobs.batch_size)
        self.checkpoint_every = max(self.batch_size, settings.jobs.checkpoint_every)
        self.timings: dict[str, float] = {}
        self.encoded = 0
        self.removed = 0
        self.failed: dict[str, str] = {}

    # ---- phases -----------------------------------------------------------------------------------

    def prepare(self) -> None:
        plan = self.plan
        self.store.ensure_collection(plan.target_layout, suffix=plan.suffix, set_alias=False)
        record_encoder_settings(self.store, plan.target, self.settings)

    def keys(self, collection: str) -> dict[str, tuple[str, ...]]:
        """unit id -> what must match between the two collections for each row: its access key and its
        tags. A batch read before a retag and written after it put the old tags back in the target, and with
        the access keys alone neither the catch-up nor the verification saw it (an audit, 2026-12-07). A
        source written before tags were stored has its rows' tags from the registry, as its copies get."""
        if collection == self.plan.source and F_TAGS in self.store.absent_fields(collection):
            rows = self.store.query_rows(collection, "", [F_ID, F_ACL_KEY, F_TENANT, F_DOC_ID])
            tags = self._registry_tags({(r[F_TENANT], r[F_DOC_ID]) for r in rows})
            return {r[F_ID]: (r[F_ACL_KEY], *sorted(tags[(r[F_TENANT], r[F_DOC_ID])])) for r in rows}
        rows = self.store.query_rows(collection, "", [F_ID, F_ACL_KEY, F_TAGS])
        return {r[F_ID]: (r[F_ACL_KEY], *sorted(r.get(F_TAGS) or [])) for r in rows}

    def _registry_tags(self, documents: set[tuple[str, str]]) -> dict[tuple[str, str], list[str]]:
        """(tenant, doc_id) -> the document's tags in the registry ([] for a document it no longer holds)."""
        conn = connect(self.settings)
        try:
            registry = DocumentRegistry(conn)
            records = {key: registry.get(*key) for key in documents}
        finally:
            conn.close()
        return {key: record.tags if record is not None else [] for key, record in records.items()}

    def copy_pass(self, phase: str = "copy") -> int:
        """Bring the target up to the source once; returns how many rows it changed."""
        plan = self.plan
        t = time.perf_counter()
        source_keys = self.keys(plan.source)
        target_keys = self.keys(plan.target)
        self._add("scan", time.perf_counter() - t)
        todo = sorted(
            uid for uid, key in source_keys.items() if target_keys.get(uid) != key and uid not in self.failed
        )
        extra = sorted(set(target_keys) - set(source_keys))
        if extra:  # deleted from the source during the copy
            self.removed += self.store.delete_ids(plan.target, extra)
        total = len(source_keys)
        done = total - len(todo) - len(self.failed)
        self.report(phase, done, total, None)
        since_checkpoint = 0
        batches = [todo[i : i + self.batch_size] for i in range(0, len(todo), self.batch_size)]
        # Read (here) -> encode (the engine: this thread, or Ray actors with batches in flight) -> write.
        jobs = (self.read_batch(batch) for batch in batches)
        stream = self.engine.encode_stream(
            jobs, encoders=self.encoders, channels=plan.target_layout.dense, clock=self.clock
        )
        for k, (job, encoded) in enumerate(stream):
            written = self.write_batch(job, encoded)
            done += written
            since_checkpoint += len(job.units)
            last = batches[k][-1]
            checkpoint = None
            if since_checkpoint >= self.checkpoint_every or k == len(batches) - 1:
                checkpoint = {
                    "source": plan.source,
                    "target": plan.target,
                    "target_version": plan.target_layout.embedding_version,
                    "last_unit_id": last,
                    "done": done,
                }
                since_checkpoint = 0
            self.report(phase, done, total, checkpoint)
        return len(todo) + len(extra)

    def read_batch(self, unit_ids: Sequence[str]) -> EncodeJob:
        """The reader: the units' source rows, images (when a channel to compute needs them) and texts."""
        self.check_cancel()
        plan = self.plan
        reused = plan.reused_channels
        t = time.perf_counter()
        rows = self.store.get_rows(
            plan.source, in_list(F_ID, unit_ids), fields=[*OUTPUT_FIELDS, F_PAGE_TEXT, *reused]
        )
        units = self._with_new_fields([row_to_unit(r) for r in rows])
        computed = {c.name for c in plan.target_layout.dense} - set(reused)
        images = [self._image(u) for u in units] if "clip" in computed else [None] * len(units)
        self._add("read", time.perf_counter() - t)
        # The page's own text is a stored signal (BM25 field, text input of uncaptioned units), not re-parsed.
        texts = [text_channel_input(u, r.get(F_PAGE_TEXT) or "") for u, r in zip(units, rows, strict=True)]
        return EncodeJob(units, images, texts, [{c: list(r[c]) for c in reused} for r in rows], rows)

    def _image(self, unit: FigureUnit) -> bytes | Exception:
        try:
            return self.blobs.get(unit.image)
        except (KeyError, OSError) as exc:  # the unit fails with the reason when it is encoded
            return exc

    def write_batch(self, job: EncodeJob, encoded: EncodedUnits) -> int:
        """The writer: the encoded units' rows upserted into the target; the others reported as failed."""
        units, rows = job.units, job.rows
        for i, reason in encoded.failed.items():
            self._fail(units[i], reason)
        new_version = self.plan.target_layout.embedding_version
        out = [
            unit_to_row(
                units[i].model_copy(update={"embedding_version": new_version}),
                rows[i][F_ACL_KEY],
                encoded.vectors[i],
                page_text=rows[i].get(F_PAGE_TEXT) or "",
            )
            for i in encoded.ok
        ]
        t = time.perf_counter()
        self.store.upsert_rows(self.plan.target, out)
        self._add("write", time.perf_counter() - t)
        self.encoded += len(out)
        return len(out)

    def _with_new_fields(self, units: list[FigureUnit]) -> list[FigureUnit]:
        """Units of a collection written before the tags and hash fields, with them: tags from the document
        registry, the hash from the stored image (a missing image leaves it empty: duplicates of that unit
        are then found by its vectors)."""
        absent = self.store.absent_fields(self.plan.source)
        if not absent:
            return units
        tags = self._registry_tags({(u.tenant, u.doc_id) for u in units}) if F_TAGS in absent else {}
        t = time.perf_counter()
        out = []
        for unit in units:
            update: dict[str, Any] = {"tags": tags.get((unit.tenant, unit.doc_id), unit.tags)}
            if F_PHASH in absent:
                try:
                    update["phash"] = perceptual_hash(self.blobs.get(unit.image))
                except (KeyError, OSError, ValueError):
                    log.warning("re-encode: image of unit %s unreadable; stored without a hash", unit.unit_id)
            out.append(unit.model_copy(update=update))
        self._add("phash", time.perf_counter() - t)
        return out

    def _fail(self, unit: FigureUnit, reason: str) -> None:
        self.failed[unit.unit_id] = reason
        self.on_error(f"{unit.doc} p{unit.page} ({unit.unit_id})", reason)

    def verify(self) -> int:
        """Catch up and compare (under the store write lock); returns the unit count, raises on a mismatch."""
        plan = self.plan
        self.copy_pass("verify")
        if self.failed:
            first = next(iter(self.failed.items()))
            raise FigvaultError(
                f"{len(self.failed)} unit(s) could not be encoded (first: {first[0]}: {first[1]}); the alias"
                f" still serves {plan.source}"
            )
        flush = getattr(self.store, "flush", None)
        if callable(flush):  # seal the new rows so the first searches after the switch use the index
            flush(plan.target)
        source_keys, target_keys = self.keys(plan.source), self.keys(plan.target)
        counts = (self.store.count(plan.source), self.store.count(plan.target))
        if source_keys != target_keys or counts[0] != counts[1]:
            missing = len(set(source_keys) - set(target_keys))
            extra = len(set(target_keys) - set(source_keys))
            raise FigvaultError(
                f"verification failed: {plan.source} has {counts[0]} units, {plan.target} {counts[1]}"
                f" ({missing} missing, {extra} extra); the alias still serves {plan.source}"
            )
        return counts[0]

    def switch(self) -> float:
        """Point the alias at the target; returns the milliseconds the switch took."""
        plan = self.plan
        t = time.perf_counter()
        self.store.switch_alias(plan.target)
        switch_ms = (time.perf_counter() - t) * 1000
        point_records(self.settings, plan.target, plan.target_layout.embedding_version)
        return switch_ms

    def run(self) -> ReencodeResult:
        plan = self.plan
        started = time.perf_counter()
        self.report("prepare", 0, 0, None)
        t = time.perf_counter()
        self.prepare()
        self._add("prepare", time.perf_counter() - t)
        passes = 0
        # Copy without the lock (ingest goes on), until a pass finds (almost) nothing to do.
        while self.copy_pass() > 0 and passes < MAX_CATCH_UP_PASSES:
            passes += 1
        self.check_cancel()
        # The new collection's lexical index: built from its rows now, caught up and saved under the lock,
        # so the first search after the switch loads a snapshot instead of scanning the collection.
        t = time.perf_counter()
        lexical = LexicalChannel.from_settings(self.settings, self.store)
        lexical.rebuild(plan.target)
        self._add("lexical", time.perf_counter() - t)
        with store_write_lock(self.settings, exclusive=True):
            t = time.perf_counter()
            units = self.verify()
            lexical.snapshot(plan.target)
            self._add("verify", time.perf_counter() - t)
            self.check_cancel()  # the last moment a cancel keeps the old version
            switch_ms = self.switch()
        seconds = time.perf_counter() - started
        self.report("switched", units, units, {"source": plan.source, "target": plan.target, "done": units})
        return ReencodeResult(
            source=plan.source,
            target=plan.target,
            source_version=plan.source_layout.embedding_version,
            target_version=plan.target_layout.embedding_version,
            units=units,
            encoded=self.encoded,
            removed=self.removed,
            seconds=seconds,
            switch_ms=switch_ms,
            timings={**self.timings, **self._encode_timings()},
            engine=self.engine.name,
        )

    def _encode_timings(self) -> dict[str, float]:
        """The mapper's seconds: encoding (per channel, and in all), and the model load apart."""
        stages = self.clock.rates()
        out = {key: round(seconds, 3) for key, seconds in self.clock.timings.items()}
        out["encode"] = stages["encode"]["busy_s"]
        out[MODEL_LOAD_TIMING] = stages.get(MODEL_LOAD, {}).get("busy_s", 0.0)
        return out

    def _add(self, key: str, seconds: float) -> None:
        self.timings[key] = self.timings.get(key, 0.0) + seconds


def point_records(settings: Settings, target: str, version: str) -> int:
    """Every document's record names collection ``target`` and its ``version`` (the switch's last step; the
    caller holds the store write lock, exclusive): one statement, so a document deleted meanwhile (a
    deletion does not wait for the lock) stays deleted and no other field is written back. Also a record an
    earlier re-encode left naming its source (stopped after its switch): its units were copied on too."""
    return DocumentRegistry(connect(settings)).move_to_collection(target, version)


def finish_switched(
    settings: Settings, store: MilvusUnitStore, params: dict[str, Any]
) -> dict[str, Any] | None:
    """The result of a re-encode job whose process stopped after it moved the alias and before every
    record named the new collection (``switch``), finished now; None when the alias does not serve its
    target. Left so, the next ingest found every document in another collection and read them all again."""
    served = store.served_collection()
    source, target = params.get("source"), params.get("target")
    if not source or served is None or served != target:
        return None
    with store_write_lock(settings, exclusive=True):  # as the switch: a regroup writes whole records
        moved = point_records(settings, served, store.layout_of(served).embedding_version)
    summary = f"finished: the alias already served {served}; {moved} documents' records name it now"
    return {"summary": summary, "source": source, "target": served, "records": moved}


def nothing_to_do(store: MilvusUnitStore) -> str:
    """What a re-encode with nothing to do says: what the alias serves, and the alias's other collections
    with their units (a stopped re-encode's partial copy, left when the settings went back, read like a
    whole one in ``collections list`` and nothing named it; an audit, 2026-12-07)."""
    served = store.served_collection()
    line = f"nothing to do: the alias serves {served or 'nothing yet'}, the configured version"
    others = [name for name in store.list_collections() if name != served]
    if others:
        listed = ", ".join(f"{name} ({store.count(name)} units)" for name in others)
        line += (
            f"; not served: {listed} (an older version, or a stopped re-encode's partial copy: a re-encode"
            " to its settings completes and re-uses it; `figvault collections drop NAME` frees its space)"
        )
    return line


def run_reencode_job(ctx: JobContext) -> dict[str, Any]:
    """The ``reencode`` job: re-encode to the configured encoders (or the engine's, in the service)."""
    from figvault.encoders.factory import build_encoders

    settings = ctx.settings
    check_admin(ctx)
    store = MilvusUnitStore.from_settings(settings)
    encoders = build_encoders(settings)
    plan = plan_reencode(store, encoders)
    if plan is None:
        finished = finish_switched(settings, store, ctx.job.params)
        if finished is not None:
            return finished
        return {"summary": nothing_to_do(store)}
    previous = ctx.checkpoint
    if previous.get("target") == plan.target:
        log.info("resuming re-encode into %s after unit %s", plan.target, previous.get("last_unit_id"))

    def report(phase: str, done: int, total: int, checkpoint: dict[str, Any] | None) -> None:
        if phase != ctx.job.phase:
            ctx.restart_rate()
        ctx.progress(phase, done, total, checkpoint=checkpoint)

    def check() -> None:  # before each batch
        ctx.check_cancel()
        check_admin(ctx)

    # The encode step's engine (params ``engine``/``ray_address``: ``figvault reencode --engine``); the
    # models load in it, timed (the Ray engine's driver loads none).
    params = ctx.job.params
    with build_engine(settings, params.get("engine"), ray_address=params.get("ray_address")) as engine:
        reencoder = Reencoder(
            settings,
            store,
            encoders,
            plan,
            report=report,
            check_cancel=check,
            on_error=ctx.error,
            engine=engine,
        )
        # An engine in this process sees the alias move on its next query (retrieval/search.py ``served``).
        return reencoder.run().to_dict()


def check_admin(ctx: JobContext) -> None:
    """FigvaultError ("stopped: ...": the job fails, nothing more is written) when the admin who started
    this re-encode over HTTP may no longer (``ingest_job.check_caller`` with ``Action.REENCODE`` in the
    admin's tenant, or ``service.tenant_admin_reencode`` turned off). The operator's (no ``principal``:
    ``figvault reencode``, ``service.reencode_on_start``) are not checked."""
    from figvault.pipeline.ingest_job import check_caller

    recorded = ctx.params.get("principal")
    if recorded is None:
        return
    if not ctx.settings.service.tenant_admin_reencode:
        raise FigvaultError("stopped: service.tenant_admin_reencode was turned off since the job was queued")
    check_caller(ctx, str(recorded.get("tenant") or ""), Action.REENCODE)


def queue_reencode(
    settings: Settings, jobs: JobStore, *, started_by: str, principal: Principal | None = None
) -> Job:
    """A queued (or already active) re-encode job; FigvaultError when there is nothing to re-encode.
    ``principal``: the admin who asked over HTTP, recorded and checked again as it runs
    (``check_admin``)."""
    from figvault.encoders.factory import build_encoders
    from figvault.pipeline.ingest_job import principal_params

    store = MilvusUnitStore.from_settings(settings)
    plan = plan_reencode(store, build_encoders(settings))
    if plan is None:
        served = store.served_collection()
        raise FigvaultError(f"nothing to re-encode: the alias serves {served or 'nothing yet'}")
    active = jobs.list(states=[JobState.QUEUED, JobState.RUNNING], job_type=JobType.REENCODE, limit=1)
    if active:
        return active[0]
    params: dict[str, Any] = {"source": plan.source, "target": plan.target}
    if principal is not None:
        params["principal"] = {**principal_params(principal), "tenant": principal.tenant}
    return jobs.create(
        JobType.REENCODE,
        params,
        started_by=started_by,
        started_by_id=principal.identity if principal is not None else None,
        tenant=GLOBAL_TENANT,
    )
