"""The text model through ONNX Runtime: the same tokenizer, transformer, pooling and L2 norm as
sentence-transformers, about twice as fast for one short question on this CPU (docs/service.md), and about
half the CPU for a batch job's unit texts on one thread, one text a call (docs/jobs.md).

For questions in a serving process (``SentenceTextEncoder.prepare_questions``, called by the warm-up) and
for the texts a batch job stores (``prepare_documents``, asked by ingest and re-encode engines when they load
their models): exporting the transformer takes about a second, which a one-shot CLI search should not pay.
Adopted only when the module chain is one this reproduces (Transformer, then mean or CLS Pooling, then at
most Normalize) and the vectors of ``PROBES`` agree with sentence-transformers' to ``TOLERANCE``; otherwise
torch stays. Equal vectors within float rounding (measured: at most 2e-7 a component, as much as torch's own
vectors of one text differ between batches): the channel's ``embedding_version`` is unchanged.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

MODEL_FILE = "model.onnx"
"""The export's file name (in a temporary folder, or a cache entry: ``encoders/onnx_cache.py``)."""
OPSET = 17
"""The ONNX opset of the export (part of a cached export's key: ``encoders/onnx_cache.py``)."""
TOLERANCE = 1e-4
"""Largest absolute difference per vector component against sentence-transformers (measured: < 1e-6)."""
DOCUMENT_BATCH = 1
"""Texts per ONNX Runtime call in ``encode_batched``: one, so that no text is padded. The graph's cost is its
matrix products over every position of the batch, padding included, and one text's rows already fill them:
the 904 distinct unit texts of corpus + distractors, 1 thread, A B B A, load 5.3-10.7: 27.2 / 22.5 / 21.8 /
27.7 CPU-s in batches of 8 / 1 / 1 / 8 (0.81x), 25.3 in batches of 4 (docs/jobs.md). Its CPU arena keeps the
largest call's activations for good (64 texts of up to 256 tokens: +1,042 MB resident, 8: +124 MB)."""
PROBES = (
    "quarterly revenue by region",
    "Figure 3: the leader election timeline with terms, votes and timeouts in a five-server cluster",
    "x",
    "architecture " * 400,  # past the model's token limit: truncation must match too
)


def _pooling_mode(model: Any) -> str | None:
    names = [type(module).__name__ for module in model]
    if len(names) < 2 or names[:2] != ["Transformer", "Pooling"] or set(names[2:]) - {"Normalize"}:
        return None
    config = model[1].get_config_dict() if hasattr(model[1], "get_config_dict") else {}
    mode = str(config.get("pooling_mode", ""))
    return mode if mode in ("mean", "cls") else None


def _tokenize(model: Any, texts: list[str]) -> dict[str, Any]:
    """sentence-transformers' own preprocessing and truncation (``preprocess`` from version 6 on)."""
    return (model.preprocess if hasattr(model, "preprocess") else model.tokenize)(texts)


def export_transformer(model: Any, path: Path) -> None:
    """Write ``model``'s transformer (its first module) to ``path`` as ONNX: (input_ids, attention_mask) ->
    the last hidden state ``hidden`` [batch, tokens, dim]; pooling and norm stay with the caller."""
    import torch

    class Hidden(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    sample = _tokenize(model, ["a question"])
    axes = {name: {0: "batch", 1: "tokens"} for name in ("input_ids", "attention_mask", "hidden")}
    with warnings.catch_warnings():
        # The tracer warns about shapes it treats as constant; the probe check (OnnxQuestions) is what counts.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            Hidden(model[0].auto_model).eval(),
            (sample["input_ids"], sample["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["hidden"],
            dynamic_axes=axes,
            opset_version=OPSET,
            dynamo=False,
        )


Tokenize = Callable[[list[str]], tuple[np.ndarray, np.ndarray]]
"""texts -> (input_ids, attention_mask), int64 [n, tokens], padded to the longest."""


def model_tokenizer(model: Any) -> Tokenize:
    """sentence-transformers' own tokenization of ``model`` as numpy arrays."""

    def tokenize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        features = _tokenize(model, texts)
        ids = features["input_ids"].numpy().astype(np.int64)
        return ids, features["attention_mask"].numpy().astype(np.int64)

    return tokenize


def session_for(path: Path, threads: int) -> Any:
    """An ONNX Runtime CPU session of the export at ``path`` on ``threads`` intra-op threads."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, threads)
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxQuestions:
    """``encode(texts)`` -> float32 [n, dim], L2-normalised, from an export of a model's transformer and
    that model's tokenizer (its sentence-transformers object, or the tokenizer saved with a cached export)."""

    def __init__(self, tokenize: Tokenize, session: Any, pooling: str) -> None:
        self.tokenize = tokenize
        self.session = session
        self.pooling = pooling

    @classmethod
    def build(cls, model: Any, threads: int, path: Path) -> OnnxQuestions:
        """Export to ``path`` and load; ValueError when the module chain is not one this reproduces."""
        pooling = _pooling_mode(model)
        if pooling is None:
            raise ValueError(
                f"module chain {[type(m).__name__ for m in model]} is not Transformer + mean/CLS"
            )
        export_transformer(model, path)
        return cls(model_tokenizer(model), session_for(path, threads), pooling)

    def encode_batched(
        self, texts: list[str], batch_size: int = DOCUMENT_BATCH, workers: int = 1
    ) -> np.ndarray:
        """``encode`` in batches of ``batch_size`` texts of similar length (longest first, as
        sentence-transformers batches them), in input order: a batch pads to its longest text (the
        default, one text a call, pads none). ``workers`` threads run batches at once (the session's
        ``run`` is thread-safe, each on its own intra-op threads): a batch's vectors do not depend on it."""
        order = np.argsort([-len(text) for text in texts], kind="stable")
        chosen = [order[start : start + batch_size] for start in range(0, len(texts), batch_size)]

        def one(rows: np.ndarray) -> np.ndarray:
            return self.encode([texts[i] for i in rows])

        if workers > 1 and len(chosen) > 1:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="figvault-onnx") as pool:
                results = list(pool.map(one, chosen))
        else:
            results = [one(rows) for rows in chosen]
        out = np.empty((len(texts), results[0].shape[1] if results else 0), dtype=np.float32)
        for rows, vectors in zip(chosen, results, strict=True):
            out[rows] = vectors
        return out

    def encode(self, texts: list[str]) -> np.ndarray:
        ids, mask = self.tokenize(texts)
        feed = {"input_ids": ids, "attention_mask": mask}
        (hidden,) = self.session.run(["hidden"], feed)
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.ascontiguousarray(pooled / np.maximum(norms, 1e-12), dtype=np.float32)
