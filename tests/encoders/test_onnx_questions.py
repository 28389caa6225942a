"""Questions and a batch job's stored texts on ONNX Runtime (encoders/onnx_questions.py) give the vectors
sentence-transformers gives, on the offline profile's real MiniLM; only a serving process's warm-up switches
the questions over, and only a batch job's model load the stored texts."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from figvault.encoders.factory import build_encoders
from figvault.encoders.onnx_questions import TOLERANCE, _pooling_mode
from figvault.encoders.questions import QuestionEncoders

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

QUESTIONS = ["quarterly revenue by region", "raft leader election", "Figure 2: " + "storage tiers " * 300]


@pytest.fixture(scope="module")
def text_encoder(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from figvault.settings import load_settings

    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("onnx"))
    return build_encoders(settings).text.load()


def test_questions_on_onnxruntime_equal_torch(text_encoder: Any) -> None:
    torch_vectors = text_encoder.encode_texts(QUESTIONS)
    assert text_encoder.encode_questions(QUESTIONS) is not None  # before: the torch path
    assert text_encoder.prepare_questions("auto", threads=1) == "onnxruntime"
    onnx_vectors = text_encoder.encode_questions(QUESTIONS)
    assert onnx_vectors.shape == torch_vectors.shape and onnx_vectors.dtype == np.float32
    assert np.abs(onnx_vectors - torch_vectors).max() <= TOLERANCE
    # The batched question path uses it; the stored-vector path (encode_texts) stays on torch.
    batched = QuestionEncoders(cache_size=0, window_ms=0, max_batch=4).encode(text_encoder, QUESTIONS[0])
    assert np.abs(batched - torch_vectors[0]).max() <= TOLERANCE
    np.testing.assert_array_equal(text_encoder.encode_texts(QUESTIONS), torch_vectors)


def test_torch_when_asked_and_the_chain_is_read(text_encoder: Any, tmp_path_factory: Any) -> None:
    from figvault.settings import load_settings

    fresh = build_encoders(load_settings("offline", data_dir=tmp_path_factory.mktemp("t"))).text
    assert fresh.prepare_questions("torch", threads=1) == "torch"
    assert fresh._questions is None
    assert _pooling_mode(text_encoder._model) == "mean"


def _unit_texts() -> list[str]:
    """More texts than one batch, of every length: the order batches are made in must not show."""
    words = [
        "leader",
        "election",
        "term",
        "vote",
        "log",
        "replication",
        "follower",
        "timeout",
        "snapshot",
        "cluster",
    ]
    return [" ".join(words[j % len(words)] for j in range(i * 7 % 400 + 1)) for i in range(70)] + [
        "Figure 2: " + "storage tiers " * 300  # past the model's token limit
    ]


def test_a_batch_jobs_stored_texts_on_onnxruntime_equal_torch(tmp_path: Any) -> None:
    from figvault.pipeline.stages import StageClock, load_encoders
    from figvault.settings import load_settings

    encoders = build_encoders(load_settings("offline", data_dir=tmp_path))
    text = encoders.text.load()
    texts = _unit_texts()
    torch_vectors = text.encode_texts(texts)
    np.testing.assert_array_equal(text.encode_documents(texts), torch_vectors)  # not adopted: torch
    load_encoders(encoders, StageClock())  # what ingest and re-encode engines do before their first batch
    assert text.prepare_documents(threads=1) == "onnxruntime"
    documents = text.encode_documents(texts)
    assert documents.shape == torch_vectors.shape and documents.dtype == np.float32
    assert np.abs(documents - torch_vectors).max() <= TOLERANCE  # each row its own text's: order kept
    np.testing.assert_array_equal(text.encode_texts(texts), torch_vectors)  # questions' torch path kept


def test_document_runtime_torch_exports_nothing(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from figvault.encoders.onnx_questions import OnnxQuestions
    from figvault.settings import load_settings

    exported: list[object] = []
    monkeypatch.setattr(OnnxQuestions, "build", classmethod(lambda cls, *args: exported.append(1)))
    monkeypatch.setenv("FIGVAULT_TEXT__DOCUMENT_RUNTIME", "torch")
    text = build_encoders(load_settings("offline", data_dir=tmp_path)).text
    assert text.prepare_documents(threads=1) == "torch" and not exported
    texts = _unit_texts()[:3]
    np.testing.assert_array_equal(text.encode_documents(texts), text.encode_texts(texts))


@pytest.fixture(scope="module")
def tiny_onnx_text(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A tiny sentence model with one ONNX Runtime session adopted for both questions and stored texts, as
    ``serve`` has it once its warm-up and an upload job's model load both ran."""
    from figvault.encoders.text import SentenceTextEncoder, resolve_text_spec
    from figvault.settings import load_settings
    from tests.encoders.tiny_text import build_tiny_sentence_model

    folder = build_tiny_sentence_model(tmp_path_factory.mktemp("tiny-text"))
    settings = load_settings("offline", data_dir=tmp_path_factory.mktemp("data"))
    settings.text.model = f"local-dir:{folder}"
    text = SentenceTextEncoder(resolve_text_spec(settings.text)).load()
    assert text.prepare_questions("auto", threads=1) == "onnxruntime"
    assert text.prepare_documents(threads=1) == "onnxruntime"
    assert text._questions is text._documents  # the shared session under test
    return text


def test_questions_from_threads_while_a_batch_is_encoded_on_the_same_session(tiny_onnx_text: Any) -> None:
    """Each thread's vectors are the serial ones of its own input: no cross-talk between concurrent runs of
    the one session (questions of several requests, unit texts of an upload job), and no error."""
    from concurrent.futures import ThreadPoolExecutor

    text = tiny_onnx_text
    units = _unit_texts()
    questions = [[f"question {i} " + "leader vote " * (i % 9)] for i in range(24)]
    serial_units = text.encode_documents(units)
    serial_questions = [text.encode_questions(q) for q in questions]

    def ask(i: int) -> np.ndarray:
        return text.encode_questions(questions[i % len(questions)])

    with ThreadPoolExecutor(max_workers=6) as pool:
        batch = pool.submit(text.encode_documents, units)
        answers = list(pool.map(ask, range(8 * len(questions))))
        stored = batch.result()
    np.testing.assert_array_equal(stored, serial_units)
    for i, answer in enumerate(answers):
        np.testing.assert_array_equal(answer, serial_questions[i % len(questions)], err_msg=f"question {i}")


def test_texts_encoded_at_once_on_several_threads_are_the_serial_vectors(tiny_onnx_text: Any) -> None:
    """``workers`` calls of the one session at once (the end of an ingest run): each text's vector is the
    one it gets alone, in its place, and the calls did run on several threads."""
    import threading

    runner, texts = tiny_onnx_text._documents, _unit_texts()
    run, threads = runner.session.run, set()

    class Recording:
        def run(self, *args: Any) -> Any:
            threads.add(threading.get_ident())
            return run(*args)

    serial = runner.encode_batched(texts)
    runner.session = Recording()
    try:
        together = runner.encode_batched(texts, workers=3)
    finally:
        runner.session = run.__self__
    np.testing.assert_array_equal(together, serial)
    assert len(threads) > 1
