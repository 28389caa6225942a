"""Search questions to vectors under load: concurrent questions share a forward pass, repeats hit a cache.

A question is a few tokens, so one forward pass costs about the same for one question as for a handful:
the model's weights are read from memory either way (MiniLM: 90 MB of fp32 per pass). ``QuestionBatcher``
gives each encoder one worker thread; a question waits for it, and every question that arrived meanwhile
(up to ``max_batch``, plus those arriving within ``window_ms`` of the first) goes into the same pass.
With one caller at a time there is nothing to wait for and the pass starts at once (less the window).

``VectorCache`` keeps the vectors of recent questions (LRU, bounded), keyed by the channel's
``embedding_version`` and the text, so a vector made by one model version never answers for another, and by
whose question it was (``scope``: the search's caller): a question is data, and whether another's question
was answered from the cache (which ``/metrics`` counts, and which is faster) would tell a caller what
someone else, of any tenant, had asked.
"""

from __future__ import annotations

import logging
import queue
import sys
import threading
import time
import traceback
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future
from typing import Any, Protocol

import numpy as np

from figvault.errors import ModelUnavailableError

log = logging.getLogger(__name__)

RESULT_TIMEOUT_S = 120.0
"""A question waits at most this long for its pass (a healthy pass takes milliseconds)."""
IDLE_EXIT_S = 60.0
"""A worker with no question for this long ends (the next question starts another): one no longer asked,
an encoder of a version the store stopped serving, is then let go with its model."""


class TextEncoderLike(Protocol):
    embedding_version: str

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray: ...


class VectorCache:
    """The vectors of the ``size`` most recently asked (scope, version, question); 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._items: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, version: str, text: str, scope: str = "") -> np.ndarray | None:
        with self._lock:
            vector = self._items.get((scope, version, text))
            if vector is None:
                self.misses += 1
                return None
            self._items.move_to_end((scope, version, text))
            self.hits += 1
            return vector

    def put(self, version: str, text: str, vector: np.ndarray, scope: str = "") -> None:
        if self.size == 0:
            return
        vector = np.array(vector, dtype=np.float32)  # a private, read-only copy: callers share it
        vector.setflags(write=False)
        with self._lock:
            self._items[(scope, version, text)] = vector
            self._items.move_to_end((scope, version, text))
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class PassCounts:
    """Forward passes and the questions they encoded, summed over the batchers that share it (``/metrics``:
    one total that only grows, whatever batchers come and go)."""

    def __init__(self) -> None:
        self.passes = 0
        self.questions = 0
        self._lock = threading.Lock()

    def add(self, questions: int) -> None:
        with self._lock:
            self.passes += 1
            self.questions += questions


class QuestionBatcher:
    """One encoder's questions, batched: ``encode(text)`` from any thread returns that text's vector."""

    def __init__(
        self,
        encoder: TextEncoderLike,
        *,
        window_ms: float,
        max_batch: int,
        totals: PassCounts | None = None,
    ) -> None:
        self.encoder = encoder
        self.totals = totals or PassCounts()
        self.window_s = max(0.0, window_ms) / 1000
        self.max_batch = max(1, max_batch)
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.passes = 0
        self.questions = 0

    def encode(self, text: str) -> np.ndarray:
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        self._ensure_worker()
        try:
            return future.result(timeout=RESULT_TIMEOUT_S)
        except TimeoutError:
            log.warning(
                "the question encoder %s did not answer in %.0f s; its thread is at:\n%s",
                self.encoder.embedding_version,
                RESULT_TIMEOUT_S,
                self._worker_stack(),
            )
            raise ModelUnavailableError("the question encoder did not answer in time") from None

    def _ensure_worker(self) -> None:
        # Always under the lock: an idle worker ends under it once the queue is empty (``_next_batch``), so
        # a question put before that check is taken by it, and one put after finds no worker and starts one.
        with self._start_lock:
            if self._thread is None or not self._thread.is_alive():  # never started, idle, or ended
                name = f"figvault-questions-{self.encoder.embedding_version[:12]}"
                self._thread = threading.Thread(target=self._run, name=name, daemon=True)
                self._thread.start()

    def _worker_stack(self) -> str:
        """Where the worker is now: a pass that hangs is found by its stack, not by the searches' timeouts."""
        thread = self._thread
        frame = sys._current_frames().get(thread.ident) if thread is not None and thread.ident else None
        return "".join(traceback.format_stack(frame)) if frame is not None else "(no worker thread running)"

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if not batch:
                return  # idle: ended (``_next_batch``)
            try:
                self._encode_batch(batch)
            except BaseException as exc:  # a SystemExit here would end this thread, not the process
                # Whatever ends a pass (an error outside the encoder call, a SystemExit in the model's code)
                # answers its questions, and the worker goes on: it used to end silently, and each later
                # question waited out RESULT_TIMEOUT_S until the process restarted.
                log.exception("a question encoder pass failed (%s)", self.encoder.embedding_version)
                _fail_waiting(batch, exc)

    def _next_batch(self) -> list[tuple[str, Future[np.ndarray]]]:
        """What is waiting now, and what arrives within the window after the first, up to ``max_batch``;
        nothing when no question came for ``IDLE_EXIT_S`` (the worker then ends)."""
        while True:
            try:
                batch = [self._queue.get(timeout=IDLE_EXIT_S)]
                break
            except queue.Empty:
                with self._start_lock:
                    if self._queue.empty():
                        if self._thread is threading.current_thread():
                            self._thread = None
                        return []
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                batch.append(
                    self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _encode_batch(self, batch: list[tuple[str, Future[np.ndarray]]]) -> None:
        texts = list(dict.fromkeys(text for text, _ in batch))  # one row per distinct text
        try:
            vectors = getattr(self.encoder, "encode_questions", self.encoder.encode_texts)(texts)
        except Exception as exc:
            if len(texts) == 1:
                for _, future in batch:
                    future.set_exception(exc)
                return
            # One bad question must not fail the others: each goes again on its own.
            for text, future in batch:
                self._encode_batch([(text, future)])
            return
        self.passes += 1
        self.questions += len(batch)
        self.totals.add(len(batch))
        row = {text: i for i, text in enumerate(texts)}
        for text, future in batch:
            future.set_result(vectors[row[text]])


def _fail_waiting(batch: list[tuple[str, Future[np.ndarray]]], exc: BaseException) -> None:
    """Fail the questions of ``batch`` that no answer reached before ``exc`` ended their pass."""
    reason = (
        exc
        if isinstance(exc, Exception)
        else ModelUnavailableError(f"the question encoder stopped ({type(exc).__name__})")
    )
    for _, future in batch:
        if not future.done():
            future.set_exception(reason)


class QuestionEncoders:
    """Questions to vectors for every encoder a search uses: cached, and batched per encoder."""

    def __init__(self, *, cache_size: int, window_ms: float, max_batch: int) -> None:
        self.cache = VectorCache(cache_size)
        self.window_ms = window_ms
        self.max_batch = max_batch
        self._batchers: dict[int, tuple[Any, QuestionBatcher]] = {}
        self._forgotten: weakref.WeakSet[Any] = weakref.WeakSet()
        self._lock = threading.Lock()
        self.totals = PassCounts()
        """Every batcher's passes and questions (``/metrics``), those let go included."""

    def encode(self, encoder: TextEncoderLike, text: str, scope: str = "") -> np.ndarray:
        """``text``'s vector; ``scope``: whose question it is (only the same scope's repeat is a hit)."""
        version = encoder.embedding_version
        cached = self.cache.get(version, text, scope)
        if cached is not None:
            return cached
        vector = self.batcher(encoder).encode(text)
        self.cache.put(version, text, vector, scope)
        return vector

    def forget(self, encoders: Sequence[TextEncoderLike]) -> None:
        """Let ``encoders`` go: their batchers are dropped, and their workers end once idle
        (``IDLE_EXIT_S``). A question still asked of one (a search that looked the encoders up before they
        were let go) gets a batcher of its own that is not kept: a kept one would hold the model for good."""
        with self._lock:
            for encoder in encoders:
                self._forgotten.add(encoder)
                found = self._batchers.get(id(encoder))
                if found is not None and found[0] is encoder:
                    del self._batchers[id(encoder)]

    def counted(self) -> list[Any]:
        """What ``/metrics`` sums ``passes`` and ``questions`` over."""
        return [self.totals]

    def batcher(self, encoder: TextEncoderLike) -> QuestionBatcher:
        with self._lock:
            found = self._batchers.get(id(encoder))
            if found is None or found[0] is not encoder:
                new = QuestionBatcher(
                    encoder, window_ms=self.window_ms, max_batch=self.max_batch, totals=self.totals
                )
                if encoder in self._forgotten:
                    return new
                found = (encoder, new)
                self._batchers[id(encoder)] = found
            return found[1]
