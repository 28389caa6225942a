"""Questions on ONNX Runtime (encoders/onnx_questions.py) give the vectors sentence-transformers gives, on the
offline profile's real MiniLM, and only a serving process's warm-up switches them over."""

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
