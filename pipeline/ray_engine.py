"""The ingest stages on a Ray cluster: ``figvault ingest --engine ray [--ray-address ADDR]``.

The same stages as the local engine (``pipeline/stages.py``), placed by Ray:

- **extract**: one Ray task per document (``num_cpus=1``), which runs the document's own limited worker
  process exactly as on one machine (``extract_limited``: time and memory limits, a failure is the
  document's reason) and prepares its units. The driver sends the file's bytes with the task, so the
  nodes need no shared file system. A task whose worker dies (node lost, process killed) is retried by
  Ray (``max_retries``); one that keeps failing fails its document alone.
- **encode**: ``ingest.ray_encode_actors`` actors, each loading the encoders once (``build_encoders`` of
  the job's settings; ``ingest.ray_encode_gpus`` GPUs each), fed every extracted document that is ready, in
  one batch. An actor that dies is restarted and its call retried by Ray; a batch whose actor Ray gives
  up on (its retries spent or not applied: a node lost mid-call ends in ``ActorUnavailableError``) is
  sent once more, by the driver, to a fresh actor that replaces the lost one (``ActorCall``; a re-encode
  batch too). Encoding writes nothing, and a batch's documents are yielded only from the call that
  returned, so none twice.
- **write**: the driver (the ingest runner, ``pipeline/ingest_pipeline.py``), to the store the settings
  name (a Milvus server for a cluster) and the registry, as the local engine does; so resume, skip and
  unit ids are the same.

Ray is the optional extra ``figvault[ray]``; without it, asking for this engine is a one-line error.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import stat
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from figvault.errors import DeploymentError, ExtractionError, FigvaultError, VersionMismatchError, one_line
from figvault.ingest.extract import read_document
from figvault.pipeline.encode_units import EncodedUnits
from figvault.pipeline.failures import unreadable_reason
from figvault.pipeline.ray_quiet import drop_ray_init_chatter
from figvault.pipeline.runner import WAIT_S, CancelWatch, Engine
from figvault.pipeline.stages import (
    MODEL_LOAD,
    DocSpec,
    EncodeJob,
    Outcome,
    PreparedDoc,
    StageClock,
    StageCount,
    encode_batch,
    encode_job,
    extract_and_prepare,
    load_encoders,
)
from figvault.private_dirs import keep_new_files_private, private_temp_dir, process_temp_dir
from figvault.retrieval.schema import DenseChannel
from figvault.settings import (
    ExtractSettings,
    RegistrySettings,
    ServiceSettings,
    Settings,
    StorageSettings,
    StoreSettings,
)

log = logging.getLogger(__name__)

RAY_MISSING = (
    "the Ray engine needs Ray, which is not installed: pip install 'figvault[ray]' (install.sh installs it),"
    " or use --engine local"
)
TASK_RETRIES = 3
"""Times Ray runs an extraction again whose worker died (not for a file that fails: that is a result)."""
ACTOR_RESTARTS = 3
ACTOR_CPUS = 0
"""CPUs an encoder actor holds for Ray's scheduling. None, as the local engine's encoder thread takes no
extraction worker's place: an actor encodes about a tenth of the time extraction takes (0.07 against 0.7
CPU-s a page), so holding a whole CPU left one of the two extraction slots of a 2-CPU Ray empty
(measured: 1.9x the local engine's time). Its threads are limited as any Ray worker's."""
CPU_CHECK_S = 5.0


def require_ray() -> Any:
    """The ``ray`` module, or FigvaultError saying how to install it."""
    try:
        import ray
    except ImportError:
        raise FigvaultError(RAY_MISSING) from None
    return ray


TASK_COPY_PREFIX = "figvault-ray-"
"""The extraction task's private copy of a document: ``<prefix><worker pid>-<random>/<file name>``."""


def extract_task(spec: DocSpec, data: bytes, settings: ExtractSettings) -> tuple[Outcome, float]:
    """On a Ray worker: the document from its bytes (a private copy under the same name), extracted under
    its limits and prepared; with the busy seconds."""
    clock = StageClock()
    # Named by the worker's pid, so the next task on the node removes a copy whose worker was killed
    # mid-task (a cancelled job, a stopped driver): a TemporaryDirectory's cleanup never ran then, and the
    # document's copy stayed in the node's temporary folder for good (an audit, 2026-12-07).
    folder = process_temp_dir(TASK_COPY_PREFIX)
    try:
        local = folder / spec.path.name
        local.write_bytes(data)
        outcome = extract_and_prepare(replace(spec, path=local), settings, clock)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if isinstance(outcome, PreparedDoc):
        outcome.spec = spec
    return outcome, clock.stages["extract"].busy_s


def cluster_failure(stage: str, exc: Exception) -> str:
    """A document's reason when Ray failed its task for good (a worker or node lost, retries spent): the
    error's type only, since Ray's text names the cluster's nodes (addresses, process and node ids) and the
    document's reason is shown to whoever sees the document; the text goes to the log of the process that
    caught it (the driver's, or on the cluster the actor's)."""
    log.warning("%s failed on the Ray cluster: %s", stage, one_line(exc))
    return f"{stage} failed on the Ray cluster ({type(exc).__name__}); the operator's logs have the details"


def encoder_settings(settings: Settings) -> Settings:
    """What an encoder actor is sent: the model settings with ``auto`` precisions resolved on the driver
    (every actor computes the same dtype, whatever its node's CPU), and none of the store's, registry's,
    storage's or service's (their URLs, tokens and secrets stay with the driver)."""
    from figvault.encoders.factory import with_precision_pinned

    return with_precision_pinned(settings).model_copy(
        update={
            "store": StoreSettings(),
            "registry": RegistrySettings(),
            "storage": StorageSettings(),
            "service": ServiceSettings(),
        }
    )


NODE_CACHE = "figvault-ray-encoder"
"""An encoder actor's data folder on its node: ``<tmp>/figvault-ray-encoder-<uid>`` (``private_temp_dir``)."""


class EncoderActor:
    """Holds the encoders of ``settings`` (loaded once, when the actor starts) and encodes batches: of
    extracted documents (ingest) or of stored units (re-encode)."""

    def __init__(self, settings: Settings) -> None:
        from figvault.encoders.factory import build_encoders

        # The node's own cache folder (weight hashes, text export), this user's alone: the driver's data
        # folder need not exist there, and a fixed /tmp name may have been made first by another user.
        node_dir = private_temp_dir(NODE_CACHE)
        self.encoders = build_encoders(settings.model_copy(update={"data_dir": node_dir}))
        clock = StageClock()
        load_encoders(self.encoders, clock)
        self.load_s = clock.stages[MODEL_LOAD].busy_s

    def loaded(self) -> tuple[str, float]:
        """The version these encoders make, and the seconds their models took to load."""
        return str(self.encoders.embedding_version), self.load_s

    def encode_units(
        self, job: EncodeJob, channels: Sequence[DenseChannel]
    ) -> tuple[EncodedUnits, StageCount, dict[str, float]]:
        """A re-encode batch's vectors, with the encode stage's counts and finer timings."""
        clock = StageClock()
        encoded = encode_job(self.encoders, channels, job, clock)
        return encoded, clock.stages["encode"], clock.timings

    def encode(
        self, refs: list[Any], channels: Sequence[DenseChannel]
    ) -> tuple[list[tuple[Outcome, float]], StageCount, dict[str, float]]:
        """Per extraction (an ObjectRef, resolved here so that one failed task fails only its document):
        the encoded document or its reason, and the extraction's busy seconds; plus the encode stage's
        counts and finer timings."""
        import ray

        clock = StageClock()
        results: list[tuple[Outcome, float]] = []
        for ref in refs:
            try:
                results.append(ray.get(ref))
            except Exception as exc:  # the task failed for good (its retries spent)
                results.append((cluster_failure("extraction", exc), 0.0))
        docs = [r for r, _ in results if isinstance(r, PreparedDoc)]
        encoded = iter(encode_batch(self.encoders, channels, docs, clock) if docs else [])
        out = [(next(encoded) if isinstance(r, PreparedDoc) else r, s) for r, s in results]
        return out, clock.stages["encode"], clock.timings


UNREACHABLE = (
    "cannot connect to the Ray cluster this server ingests on; the operator finds why in the server log"
    " (or `figvault jobs show ID`)"
)
"""What anyone who may see the job reads: the cluster's address is the operator's configuration."""


def unreachable(address: str | None, exc: Exception) -> DeploymentError:
    """Why the driver could not join the cluster: for the operator, the address, Ray's reason and the
    things to check (README, "Scale out"); for everyone else ``UNREACHABLE``."""
    detail = (
        f"cannot connect to the Ray cluster at {address or 'auto'} ({one_line(exc)}): check that the head's"
        " port (Ray Client's for ray://HOST:PORT, the GCS's for HOST:PORT) is reachable from here, and on a"
        " cluster with token authentication run with"
        " RAY_AUTH_MODE=token and the cluster's token in ~/.ray/auth_token (or RAY_AUTH_TOKEN); the head's"
        " ray_client_server*.err logs (in its session's logs folder) say why it refused"
    )
    return DeploymentError(UNREACHABLE, detail)


GCS_PROBE_S = 10.0
"""How long the driver waits for a ``HOST:PORT`` (GCS) address to accept a connection before ``ray.init``."""


def probe_gcs(address: str | None) -> None:
    """``unreachable`` when ``address`` is a ``HOST:PORT`` no connection reaches within ``GCS_PROBE_S``.
    Ray's own connect to a GCS address retries for many minutes with no word but its log lines (a Ray
    Client ``ray://`` address gives up after 45 s itself); ``auto`` and ``ray://`` are left to Ray."""
    if not address or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=GCS_PROBE_S):
            pass
    except OSError as exc:
        raise unreachable(address, exc) from exc


VERSION_MISMATCH = "Version mismatch"
"""How Ray's RuntimeError begins when the driver's Ray or Python (minor) is not the cluster's."""


def mismatched(address: str | None, exc: RuntimeError) -> DeploymentError:
    """The driver runs another Ray or Python than the cluster: Ray's text (over several lines, which the
    operator needs whole: both sides' versions) on one line, and what to install."""
    versions = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    detail = (
        f"cannot use the Ray cluster at {address or 'auto'}: {versions}; install on this machine the Ray"
        " version the cluster runs (pip install 'ray==VERSION'; figvault[ray] takes any Ray >= 2.40)"
        " under the same Python minor version"
    )
    return DeploymentError(UNREACHABLE, detail)


NO_CPU = (
    "the Ray cluster this server ingests on has too few CPUs left for the job; the operator finds why in"
    " the server log (or `figvault jobs show ID`)"
)


LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def _local_only_init() -> dict[str, Any]:
    """``ray.init``'s arguments for a Ray this engine starts (no address): one for this machine alone, so on
    loopback only. On Linux Ray 2.60 takes the machine's address even for ``_node_ip_address="127.0.0.1"``
    and its GCS, raylet, workers and agents listen on every interface (and a Ray runs whatever code it is
    sent), unless in its local-only mode: read from ``LOCAL_ONLY_ENV`` by this process when it imported Ray
    (hence the constant set here) and by Ray's children from their environment.

    Loopback is not this user's alone: Ray 2.60 turns token authentication on for a Ray that ``ray.init``
    starts and writes a new token to ``~/.ray/auth_token`` with the umask's mode (0644 in a 0755 folder),
    and whoever reads it may run code on this Ray as this user. So the token is made 0600 in a 0700
    folder (``keep_new_files_private``), and one that others may read already is warned about."""
    from ray._private import ray_constants

    keep_new_files_private()
    _warn_if_token_open()
    os.environ[LOCAL_ONLY_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    return {"_node_ip_address": "127.0.0.1"}


def ray_token_file() -> Path:
    """Where Ray reads its authentication token (``RAY_AUTH_TOKEN_PATH``, else ``~/.ray/auth_token``)."""
    return Path(os.environ.get("RAY_AUTH_TOKEN_PATH") or Path.home() / ".ray" / "auth_token")


def _warn_if_token_open() -> None:
    """A warning when the token file is there and other local users may read it (its mode; its folder's
    they may enter is not checked: a home folder may be the only closed door, or none)."""
    token = ray_token_file()
    try:
        open_mode = token.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH)
    except OSError:  # none yet (Ray makes it, private now), or a token from the environment
        return
    if open_mode:
        log.warning(
            "the Ray token %s is readable by other local users, who may run code on this Ray as you: "
            "chmod 600 it",
            token,
        )


@contextmanager
def _sigterm_kept(ray: Any) -> Iterator[None]:
    """Keeps this process's SIGTERM handler through ``ray.init``, which, in the main thread, replaces it
    with ``sys.exit(15)``: ``figvault ingest --engine ray`` stopped by SIGTERM then exited 15 without a
    word and left its job running under a dead process, instead of cancelling it (its own handler). Ray
    sets its handler as ``init`` begins, before it connects (up to 45 s to an unreachable head), so it is
    kept from setting it at all, and the handler is put back after in case it still did (an audit,
    2026-12-07: putting it back only after ``init`` left that window)."""
    if threading.current_thread() is not threading.main_thread():  # Ray sets none there either
        yield
        return
    handler = signal.getsignal(signal.SIGTERM)
    utils = getattr(getattr(ray, "_private", None), "utils", None)
    setter = getattr(utils, "set_sigterm_handler", None)
    if setter is not None:
        utils.set_sigterm_handler = lambda _handler: None
    try:
        yield
    finally:
        if setter is not None:
            utils.set_sigterm_handler = setter
        if handler is not None:  # None: not set from Python, nothing to put back
            signal.signal(signal.SIGTERM, handler)


class CpuWatch:
    """Fails a run that can never go on: one whose cluster has fewer CPUs than the encoder actors and the
    extraction tasks need at least (Ray would keep the tasks waiting for ever). A cluster starts that
    way, or gets there when a node leaves: its tasks and actors are moved to the nodes left, which may
    have no CPU (a head started with ``--num-cpus 0``) or, with actors that hold CPUs (``ACTOR_CPUS``),
    none the actors do not hold. Fails after ``wait_s`` of shortage (``ingest.ray_cpu_wait_s``), with what
    to do."""

    def __init__(self, ray: Any, address: str | None, actors: int, extraction: bool, wait_s: float) -> None:
        self.ray, self.address, self.wait_s = ray, address, wait_s
        self.actors, self.needed = actors, actors * ACTOR_CPUS + int(extraction)
        self._checked = -CPU_CHECK_S
        self._short_since: float | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        if now - self._checked < CPU_CHECK_S:
            return
        self._checked = now
        cpus = self.ray.cluster_resources().get("CPU", 0)
        if cpus >= self.needed:
            self._short_since = None
            return
        if self._short_since is None:
            self._short_since = now
            log.warning(
                "the Ray cluster has %g CPU(s), this job needs at least %d: waiting up to %g s for more",
                cpus,
                self.needed,
                self.wait_s,
            )
        if now - self._short_since >= self.wait_s:
            held = self.actors * ACTOR_CPUS
            parts = ["one extraction task"] if self.needed > held else []
            if held:
                parts.append(
                    f"{held:g} for the {self.actors} encoder actors (ingest.ray_encode_actors,"
                    " FIGVAULT_INGEST__RAY_ENCODE_ACTORS)"
                )
            detail = (
                f"the Ray cluster at {self.address or 'auto'} has {cpus:g} CPU(s), fewer than the"
                f" {self.needed} this job needs at least ({' and '.join(parts)}), for {self.wait_s:g} s"
                " (a node left?): add a node with CPUs, then run the same command again (it goes on from"
                " what is stored); an autoscaler that takes longer to add one: raise ingest.ray_cpu_wait_s"
                " (FIGVAULT_INGEST__RAY_CPU_WAIT_S)"
            )
            raise DeploymentError(NO_CPU, detail)


@dataclass
class ActorCall:
    """A call in flight on an encoder actor: its method and arguments (to send it again), the actor and its
    place in the pool, and whether the driver already sent it again."""

    method: str
    args: tuple[Any, ...]
    actor: Any
    slot: int
    resent: bool = False

    def send(self) -> Any:
        """The call's ObjectRef, sent to ``actor``."""
        return getattr(self.actor, self.method).remote(*self.args)


@dataclass
class EncodeCall:
    """An ingest batch in flight: its documents and the call that encodes their extractions."""

    specs: list[DocSpec]
    call: ActorCall


class RayEngine(Engine):
    """Extraction as Ray tasks, encoding in actors, writes by the caller (see the module)."""

    name = "ray"

    def __init__(self, settings: Settings, *, address: str | None = None) -> None:
        super().__init__(settings)
        self.ray = require_ray()
        self.address = address
        self._started_ray = False
        self._actors: list[Any] = []
        self._actor_class: Any = None
        self._unchecked: list[Any] = []
        """``loaded`` calls of the actors not yet checked against the store's version."""
        self._watch: Callable[[], None] = lambda: None
        """The running call's ``CpuWatch``."""

    def _connect(self) -> None:
        if not self.ray.is_initialized():
            drop_ray_init_chatter()
            with _sigterm_kept(self.ray):
                # RAY_ADDRESS: Ray's own way to name a cluster, which an address of None would join.
                local = {} if self.address or os.environ.get("RAY_ADDRESS") else _local_only_init()
                probe_gcs(self.address or os.environ.get("RAY_ADDRESS"))  # Ray's own way to name one
                try:
                    self.ray.init(address=self.address, include_dashboard=False, log_to_driver=False, **local)
                except ConnectionError as exc:  # Ray Client: port not reachable, or a token the driver lacks
                    raise unreachable(self.address, exc) from exc
                except RuntimeError as exc:
                    if not str(exc).startswith(VERSION_MISMATCH):
                        raise
                    raise mismatched(self.address, exc) from exc
            self._started_ray = True
        if not self._actors:
            self._actor_class = self.ray.remote(
                num_cpus=ACTOR_CPUS,
                num_gpus=self.settings.ingest.ray_encode_gpus,
                max_restarts=ACTOR_RESTARTS,
                max_task_retries=ACTOR_RESTARTS,
            )(EncoderActor)
            self._actors = [self._new_actor() for _ in range(self.settings.ingest.ray_encode_actors)]

    def _new_actor(self) -> Any:
        """An encoder actor, whose models' version the next ``_check_loaded`` checks."""
        actor = self._actor_class.remote(encoder_settings(self.settings))
        self._unchecked.append(actor.loaded.remote())
        return actor

    def _sent_again(self, call: ActorCall, exc: Exception, encoders: Any, clock: StageClock) -> Any | None:
        """The ref of ``call`` sent once more, to a fresh actor in the place of the one Ray lost (killed for
        good, dead or restarting on a lost node; once, for all its calls); None when ``exc`` is not Ray
        losing the actor or the call was already sent again (the caller fails it). Ray retries an actor's
        call only while it restarts the actor, and a node lost mid-call can end the call at once."""
        if call.resent or not isinstance(exc, self.ray.exceptions.RayActorError):
            return None
        log.warning("encoding lost its Ray actor (%s); sending its batch to a new actor", one_line(exc))
        if self._actors[call.slot] is call.actor:  # not yet replaced for another of its calls
            self.ray.kill(call.actor, no_restart=True)
            self._actors[call.slot] = self._new_actor()
        call.actor, call.resent = self._actors[call.slot], True
        again = call.send()
        self._check_loaded(encoders, clock)
        return again

    def _cpu_watch(self, *, extraction: bool) -> CpuWatch:
        wait_s = self.settings.ingest.ray_cpu_wait_s
        return CpuWatch(self.ray, self.address, len(self._actors), extraction, wait_s)

    def close(self) -> None:
        for actor in self._actors:
            self.ray.kill(actor)
        self._actors = []
        if self._started_ray:
            self.ray.shutdown()
            self._started_ray = False

    def _check_loaded(self, encoders: Any, clock: StageClock) -> None:
        """Wait for the actors' models (the first time only), count their load, check their version."""
        if not self._unchecked:
            return
        loaded = self._get(self._unchecked)
        for theirs, seconds in loaded:
            clock.add_load(seconds)
            if theirs != encoders.embedding_version:
                # The driver's encoders already match the store (its runner checked): the local engine
                # would use them, hence the second way out. No store here, so no record of what changed;
                # imported here so that the actors' nodes need not import the store's client.
                from figvault.retrieval.served_encoders import mismatch_hint

                hint = mismatch_hint(
                    self.settings, None, encoders.embedding_version, theirs, name_profile=False
                )
                raise VersionMismatchError(f"{hint}, or use --engine local")
        self._unchecked = []  # only once every actor matched: a reused engine checks again after a mismatch

    def _get(self, refs: list[Any]) -> list[Any]:
        """``ray.get(refs)``, checking while it waits that the cluster can still run them."""
        while self.ray.wait(refs, num_returns=len(refs), timeout=WAIT_S)[1]:
            self._watch()
        return self.ray.get(refs)

    def _slots(self) -> int:
        """Extractions at once: ``extract.workers``, else the cluster's CPUs less the encoders'."""
        if self.settings.extract.workers:
            return self.settings.extract.workers
        cpus = int(self.ray.cluster_resources().get("CPU", 1))
        return max(1, cpus - ACTOR_CPUS * len(self._actors))

    def run(
        self,
        specs: Sequence[DocSpec],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        if not specs:
            return
        self._connect()
        ray = self.ray
        self._watch = self._cpu_watch(extraction=True)
        task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(extract_task)
        depth = max(1, self.settings.ingest.queue_docs)
        limit = self._slots() + depth * len(self._actors)
        todo = deque(specs)
        extracting: dict[Any, DocSpec] = {}
        encoding: dict[Any, EncodeCall] = {}
        watch = CancelWatch(cancelled)
        turn = 0
        try:
            while todo or extracting or encoding:
                while todo and len(extracting) + sum(len(call.specs) for call in encoding.values()) < limit:
                    spec = todo.popleft()
                    clock.begin(spec)
                    try:  # as the local worker reads it: a pipe never blocks, the size is bounded
                        data = read_document(spec.path, self.settings.extract)
                    except (OSError, ExtractionError) as exc:  # a pipe, a device, over the size limit
                        yield spec, unreadable_reason(exc)
                        continue
                    # Put, not inlined in the task: over Ray Client a task's arguments travel in its
                    # scheduling message (Ray warns past 10 MB of them); the task pins its object.
                    extracting[task.remote(spec, ray.put(data), self.settings.extract)] = spec
                ready = (
                    ray.wait(list(extracting), num_returns=len(extracting), timeout=0)[0]
                    if extracting
                    else []
                )
                if ready and len(encoding) < 2 * len(self._actors):
                    self._check_loaded(encoders, clock)  # extraction goes on meanwhile
                    slot, turn = turn % len(self._actors), turn + 1
                    call = ActorCall("encode", (ready, list(channels)), self._actors[slot], slot)
                    encoding[call.send()] = EncodeCall([extracting.pop(r) for r in ready], call)
                if encoding:
                    done = ray.wait(list(encoding), num_returns=1, timeout=WAIT_S)[0]
                    for ref in done:
                        yield from self._finish(ref, encoding, encoders, clock)
                else:
                    time.sleep(WAIT_S)
                self._watch()
                watch.stop_if_cancelled()
        finally:
            for ref in [*extracting, *encoding]:
                ray.cancel(ref)

    def _finish(
        self, ref: Any, encoding: dict[Any, EncodeCall], encoders: Any, clock: StageClock
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        """A finished call's documents; or, the first time Ray lost its actor, none yet: the batch goes to
        a fresh actor (``_sent_again``) and back into ``encoding``."""
        batch = encoding.pop(ref)
        try:
            result = self.ray.get(ref)
        except Exception as exc:  # _collect gives the documents' reason
            again = self._sent_again(batch.call, exc, encoders, clock)
            if again is not None:
                encoding[again] = batch
                return
            result = None
        yield from self._collect(ref, batch.specs, clock, result)

    def _collect(
        self, ref: Any, specs: list[DocSpec], clock: StageClock, result: Any = None
    ) -> Iterator[tuple[DocSpec, Outcome]]:
        """The batch's documents, from ``result`` (the call's, already fetched) or else ``ref``."""
        try:
            results, count, timings = result if result is not None else self.ray.get(ref)
        except Exception as exc:  # the actor failed for good: these documents fail, the run goes on
            reason = cluster_failure("encoding", exc)
            results, count, timings = [(reason, 0.0)] * len(specs), StageCount(), {}
        clock.add("encode", count.busy_s, docs=count.docs, units=count.units, pages=count.pages)
        clock.add_timings(timings)
        for spec, (outcome, seconds) in zip(specs, results, strict=True):
            units = len(outcome.units) if isinstance(outcome, PreparedDoc) else 0
            pages = outcome.extraction.meta.pages if isinstance(outcome, PreparedDoc) else 0
            clock.add("extract", seconds, docs=1, units=units, pages=pages)
            yield spec, outcome

    def encode_stream(
        self,
        batches: Iterable[EncodeJob],
        *,
        encoders: Any,
        channels: Sequence[DenseChannel],
        clock: StageClock,
    ) -> Iterator[tuple[EncodeJob, EncodedUnits]]:
        """Re-encode's mapper on the actors: up to two batches in flight per actor (the next batches are
        read while these encode), results in input order. A call whose actor dies is retried on the
        restarted actor; one whose actor Ray gives up on is sent once more to a fresh actor, as an ingest
        batch is (``_sent_again``); lost again, it raises (the job fails, and a re-run continues)."""
        self._connect()
        self._watch = self._cpu_watch(extraction=False)
        self._check_loaded(encoders, clock)
        pending: deque[tuple[EncodeJob, ActorCall, Any]] = deque()
        limit, turn = 2 * len(self._actors), 0
        try:
            for job in batches:
                slot, turn = turn % len(self._actors), turn + 1
                sent = replace(job, rows=[])  # the driver's rows stay here
                call = ActorCall("encode_units", (sent, list(channels)), self._actors[slot], slot)
                pending.append((job, call, call.send()))
                if len(pending) >= limit:
                    yield self._encoded(*pending.popleft(), encoders, clock)
            while pending:
                yield self._encoded(*pending.popleft(), encoders, clock)
        finally:
            for _job, _call, ref in pending:
                self.ray.cancel(ref)

    def _encoded(
        self, job: EncodeJob, call: ActorCall, ref: Any, encoders: Any, clock: StageClock
    ) -> tuple[EncodeJob, EncodedUnits]:
        try:
            encoded, count, timings = self._get([ref])[0]
        except Exception as exc:
            again = self._sent_again(call, exc, encoders, clock)
            if again is None:
                raise
            encoded, count, timings = self._get([again])[0]
        clock.add("encode", count.busy_s, docs=count.docs, units=count.units, pages=count.pages)
        clock.add_timings(timings)
        return job, encoded
