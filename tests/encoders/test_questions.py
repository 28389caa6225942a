"""Questions under load (encoders/questions.py): batched passes give each caller its own vector, one bad
question fails alone, and the cache is bounded and keyed by the channel's version. Real models: the offline
profile's MiniLM (from its package) and a tiny random OpenCLIP text tower."""

from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

import numpy as np
import pytest

from figvault.encoders.base import EncodingError
from figvault.encoders.factory import build_encoders
from figvault.encoders.questions import QuestionBatcher, QuestionEncoders, VectorCache
from figvault.settings import Settings

QUESTIONS = [
    "quarterly revenue by region",
    "raft leader election timeline",
    "network topology of the data centre",
    "how the log is replicated to followers",
    "bar chart of hiring per team",
    "soil moisture over the season",
]
TOLERANCE = 1e-5
"""Padding a short question to a longer one's length changes its vector by float rounding only."""


@pytest.fixture(scope="module")
def text_encoder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from figvault.settings import load_settings

    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("questions"))
    return build_encoders(settings).text.load()


def _concurrently(fn: Any, items: list[Any]) -> list[Any]:
    results: list[Any] = [None] * len(items)
    start = threading.Barrier(len(items))

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = fn(items[i])
        except Exception as exc:
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(items))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_a_batch_gives_each_caller_its_own_vector(text_encoder: Any) -> None:
    # A long window: the concurrent callers land in the same pass (or very few).
    batcher = QuestionBatcher(text_encoder, window_ms=500, max_batch=32)
    batched = _concurrently(batcher.encode, QUESTIONS)
    assert batcher.passes < len(QUESTIONS) and batcher.questions == len(QUESTIONS)
    alone = [text_encoder.encode_texts([q])[0] for q in QUESTIONS]
    for mine, reference in zip(batched, alone, strict=True):
        assert isinstance(mine, np.ndarray)
        np.testing.assert_allclose(mine, reference, atol=TOLERANCE)
    # ... and not a neighbour's: each vector is nearest to its own question's.
    similarity = np.stack(batched) @ np.stack(alone).T
    assert list(similarity.argmax(axis=1)) == list(range(len(QUESTIONS)))


def test_the_same_question_twice_in_a_pass(text_encoder: Any) -> None:
    batcher = QuestionBatcher(text_encoder, window_ms=500, max_batch=32)
    a, b = _concurrently(batcher.encode, [QUESTIONS[0], QUESTIONS[0]])
    np.testing.assert_allclose(a, b, atol=TOLERANCE)


def test_one_bad_question_fails_alone(text_encoder: Any) -> None:
    batcher = QuestionBatcher(text_encoder, window_ms=500, max_batch=32)
    results = _concurrently(batcher.encode, [QUESTIONS[1], 12345, QUESTIONS[2]])
    assert isinstance(results[1], EncodingError)
    np.testing.assert_allclose(results[0], text_encoder.encode_texts([QUESTIONS[1]])[0], atol=TOLERANCE)
    np.testing.assert_allclose(results[2], text_encoder.encode_texts([QUESTIONS[2]])[0], atol=TOLERANCE)


def test_the_cache_is_bounded() -> None:
    cache = VectorCache(3)
    for i in range(5):
        cache.put("v1", f"q{i}", np.full(4, i, dtype=np.float32))
    assert len(cache) == 3
    assert cache.get("v1", "q0") is None and cache.get("v1", "q1") is None
    assert cache.get("v1", "q4") is not None
    cache.get("v1", "q2")  # used: q3 is now the oldest
    cache.put("v1", "q5", np.zeros(4, dtype=np.float32))
    assert cache.get("v1", "q3") is None and cache.get("v1", "q2") is not None
    assert len(VectorCache(0)) == 0


def test_the_cache_is_keyed_by_version(text_encoder: Any, tiny_clip_settings: Settings) -> None:
    clip = build_encoders(tiny_clip_settings).clip
    assert clip is not None and clip.embedding_version != text_encoder.embedding_version
    questions = QuestionEncoders(cache_size=16, window_ms=0, max_batch=8)
    from_text = questions.encode(text_encoder, QUESTIONS[0])
    from_clip = questions.encode(clip, QUESTIONS[0])
    assert from_text.shape != from_clip.shape and len(questions.cache) == 2
    again = questions.encode(text_encoder, QUESTIONS[0])
    assert again is questions.cache.get(text_encoder.embedding_version, QUESTIONS[0])
    np.testing.assert_array_equal(again, from_text)
    assert not again.flags.writeable  # shared between callers: nobody may change it


class _FailsOnce:
    """The real encoder, but its first pass ends as ``failure`` says: a short result (an error outside the
    encoder call) or a ``SystemExit`` (not an Exception)."""

    def __init__(self, encoder: Any, failure: str) -> None:
        self.encoder, self.failure, self.calls = encoder, failure, 0
        self.embedding_version = encoder.embedding_version

    def encode_texts(self, texts: Any) -> np.ndarray:
        self.calls += 1
        vectors = self.encoder.encode_texts(texts)
        if self.calls == 1 and self.failure == "short":
            return vectors[:1]
        if self.calls == 1:
            raise SystemExit(3)
        return vectors


@pytest.mark.parametrize("failure", ["short", "exit"])
def test_a_failed_pass_answers_its_questions_and_the_next_ones_are_encoded(
    text_encoder: Any, failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass that ended outside the encoder's own errors killed the worker: its questions, and every later
    one, waited out the timeout (120 s each, until the process restarted)."""
    from figvault.encoders import questions
    from figvault.errors import ModelUnavailableError

    monkeypatch.setattr(questions, "RESULT_TIMEOUT_S", 5.0)
    batcher = QuestionBatcher(_FailsOnce(text_encoder, failure), window_ms=500, max_batch=32)
    first = _concurrently(batcher.encode, QUESTIONS[:2])
    assert any(isinstance(r, Exception) for r in first)
    assert not any(isinstance(r, ModelUnavailableError) and "in time" in str(r) for r in first), first
    later = batcher.encode(QUESTIONS[3])
    np.testing.assert_allclose(later, text_encoder.encode_texts([QUESTIONS[3]])[0], atol=TOLERANCE)


def test_an_idle_worker_ends_and_the_next_question_starts_another(
    text_encoder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Workers end when idle (so that an encoder let go is freed with its model); a question racing a
    worker's end is answered all the same: 5 rounds of 6 concurrent questions with workers that end after
    1 ms idle."""
    from figvault.encoders import questions

    monkeypatch.setattr(questions, "IDLE_EXIT_S", 0.001)
    batcher = QuestionBatcher(text_encoder, window_ms=0, max_batch=2)
    expected = [text_encoder.encode_texts([q])[0] for q in QUESTIONS]
    for _ in range(5):
        answers = _concurrently(batcher.encode, QUESTIONS)
        for mine, reference in zip(answers, expected, strict=True):
            np.testing.assert_allclose(mine, reference, atol=TOLERANCE)
    deadline = time.monotonic() + 10
    while batcher._thread is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert batcher._thread is None  # ended once idle
    np.testing.assert_allclose(batcher.encode(QUESTIONS[0]), expected[0], atol=TOLERANCE)


def test_counts_of_a_forgotten_encoder_are_kept(text_encoder: Any) -> None:
    """``/metrics`` counts passes and questions: letting an encoder go does not take its counts back."""
    encoders = QuestionEncoders(cache_size=0, window_ms=0, max_batch=8)
    for question in QUESTIONS[:3]:
        encoders.encode(text_encoder, question)
    total = sum(source.questions for source in encoders.counted())
    assert total == 3
    encoders.forget([text_encoder])
    assert sum(source.questions for source in encoders.counted()) == total
    assert sum(source.passes for source in encoders.counted()) >= 1


class _Delegate:
    """The real encoder behind an object of its own (one a test can watch being freed)."""

    def __init__(self, encoder: Any) -> None:
        self.encoder, self.embedding_version = encoder, encoder.embedding_version

    def encode_texts(self, texts: Any) -> np.ndarray:
        return self.encoder.encode_texts(texts)


def test_a_question_asked_of_a_forgotten_encoder_is_answered_and_the_encoder_freed(
    text_encoder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that looked the old encoders up before the switch asks its question after they were let go:
    it is answered, and no batcher kept for it holds the encoder (review: it did, for good)."""
    from figvault.encoders import questions

    monkeypatch.setattr(questions, "IDLE_EXIT_S", 0.01)
    encoders = QuestionEncoders(cache_size=0, window_ms=0, max_batch=8)
    old = _Delegate(text_encoder)
    encoders.encode(old, QUESTIONS[0])
    encoders.forget([old])
    late = encoders.encode(old, QUESTIONS[1])
    np.testing.assert_allclose(late, text_encoder.encode_texts([QUESTIONS[1]])[0], atol=TOLERANCE)
    assert sum(source.questions for source in encoders.counted()) == 2
    freed = weakref.ref(old)
    del old
    deadline = time.monotonic() + 10
    while freed() is not None and time.monotonic() < deadline:
        gc.collect()
        time.sleep(0.02)
    assert freed() is None
