"""The text model's ONNX Runtime export kept on disk, so that a process does not export it again (about
1 CPU-s) and a batch job need not load sentence-transformers at all to encode the texts it stores (its
imports alone cost about 4 CPU-s: docs/jobs.md).

An entry is a folder named by its key, which covers everything that pins the export's vectors: the model's
embedding version (weights sha256, config files, token limit, precision), the versions of torch,
transformers, sentence-transformers, onnx, onnxruntime and tokenizers, the opset and ``FORMAT``. It holds
``model.onnx``, ``tokenizer.json`` (the model's own fast tokenizer, truncation included) and ``meta.json``
(pooling, the probes' vectors from sentence-transformers). It is written only after the export passed the
probe check (``text._onnx``) and the saved tokenizer gave sentence-transformers' token ids for every probe,
and used only after its probes, run through it, give those vectors again within ``TOLERANCE``. Anything
else (no entry, a partial or damaged one, another vector) and the caller exports afresh from the torch
model: the cache can cost a second, never a wrong vector.

The probe check compares an entry with its own ``meta.json``: whoever can write an entry chooses the vectors
of every question and stored text (a model that gives the recorded probe vectors and anything else for
other texts). So an entry is read, and written, only where no one but this service can change it: the
cache folder and the entry are folders of its user, not links, with no write for others or another group
(``only_mine``); they are made so (0700). A group folder of a group the service is in (an ops team's setgid
2775 folder) is such a place too. Elsewhere (a cache folder another user made first, under ``/tmp``; one
another group or everyone may write) the cache is not used and the export is made in memory each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from figvault.encoders.onnx_questions import MODEL_FILE as MODEL
from figvault.encoders.onnx_questions import OPSET, TOLERANCE, OnnxQuestions, session_for
from figvault.private_dirs import make_private_dirs, only_mine, shared_folder_above

log = logging.getLogger(__name__)

FORMAT = 1
"""Raised when what an entry holds or how it is read changes: older entries are then never read."""
PACKAGES = ("torch", "transformers", "sentence-transformers", "onnx", "onnxruntime", "tokenizers")
"""The libraries whose versions pin an export (the exporter, the tokenizer, the runtime)."""
TOKEN_CHECKS = (
    "Ünïcödé naïve café – 数据表格 ΑΒΓ",
    "  UPPER lower\tTabs\nnew lines  ",
    "e-mail a.b@c.de, 3.14 %, (x+y)², don't",
)
"""Texts beside the probes on which the saved tokenizer must give the model's own ids: case, accents, CJK,
whitespace, punctuation."""
TOKENIZER, META = "tokenizer.json", "meta.json"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


def entry_key(embedding_version: str, max_seq_length: int | None) -> str:
    """The folder name of the entry for a model of ``embedding_version`` under today's libraries."""
    pins = {
        "format": FORMAT,
        "opset": OPSET,
        "embedding_version": embedding_version,
        "max_seq_length": max_seq_length,
        "packages": {name: _version(name) for name in PACKAGES},
    }
    return hashlib.sha256(json.dumps(pins, sort_keys=True).encode()).hexdigest()[:32]


def light_tokenizer(path: Path, pad_id: int) -> Callable[[list[str]], tuple[np.ndarray, np.ndarray]]:
    """(input_ids, attention_mask) of texts from a saved fast tokenizer, padded right with ``pad_id``: what
    sentence-transformers' preprocessing gives for a BERT-style model, without importing it."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_padding()  # padded here, to the longest text of the call

    def tokenize(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        encodings = tokenizer.encode_batch(texts)
        width = max((len(e.ids) for e in encodings), default=0)
        ids = np.full((len(texts), width), pad_id, dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        return ids, mask

    return tokenize


def _trusted(folder: Path) -> bool:
    """Whether the entry in ``folder`` (and the cache folder holding it) may be changed by no one but this
    service (its user, or a group it is in); an entry that may is left alone, with a warning saying why (it
    is not ours to remove)."""
    reason = _others_may_change(folder)
    if reason is None:
        return True
    log.warning(
        "ONNX export cache entry %s not used: %s (export again; make the folder this user's own, or its"
        " group one this service is in, with no write for others, or set text.export_cache)",
        folder.name,
        reason,
    )
    return False


def _others_may_change(folder: Path) -> str | None:
    """Why users other than this service may change the entry ``folder``, or None."""
    files = [f for f in (folder / name for name in (MODEL, TOKENIZER, META)) if os.path.lexists(f)]
    for path, is_folder in ((folder.parent, True), (folder, True), *((f, False) for f in files)):
        if not only_mine(path, folder=is_folder):
            return f"other users may change {path}"
    # The folders above too: where another user may rename entries (a data folder open to their
    # writes), they could move ours away between this check and the open and plant their own under its name.
    shared = shared_folder_above(folder.parent)
    return None if shared is None else f"other users may rename what is in {shared}"


def load(folder: Path, threads: int, probes: Sequence[str]) -> OnnxQuestions | None:
    """The entry in ``folder`` as a runner of its own tokenizer (no torch model), or None when there is
    none, others may change it (``_trusted``) or it does not give its recorded probe vectors (``probes``:
    the PROBES as the encoder clips them)."""
    if not folder.exists() or not _trusted(folder):
        return None
    try:
        meta = json.loads((folder / META).read_text())
        if meta.get("format") != FORMAT or list(meta["probes"]) != list(probes):
            return None
        tokenize = light_tokenizer(folder / TOKENIZER, int(meta["pad_id"]))
        runner = OnnxQuestions(tokenize, session_for(folder / MODEL, threads), str(meta["pooling"]))
        difference = float(np.abs(runner.encode(list(probes)) - np.asarray(meta["vectors"])).max())
    except FileNotFoundError:
        return None
    except Exception as exc:  # a damaged entry: export again
        log.info("ONNX export cache entry %s unusable (%s): exported again", folder.name, exc)
        return _discard(folder)
    if difference > TOLERANCE:
        log.warning("ONNX export cache entry %s differs by %.2g: exported again", folder.name, difference)
        return _discard(folder)
    return runner


def _discard(folder: Path) -> None:
    """Move an unusable entry aside and remove it, so that the next export takes its place."""
    with contextlib.suppress(OSError):
        aside = Path(tempfile.mkdtemp(prefix=f".{folder.name}-old-", dir=folder.parent))
        os.replace(folder, aside / folder.name)
        shutil.rmtree(aside, ignore_errors=True)


def save(folder: Path, model: Any, export: Path, pooling: str, probes: Sequence[str], vectors: Any) -> bool:
    """Keep ``export`` (already checked against ``vectors``, sentence-transformers' of ``probes``) with the
    model's tokenizer in ``folder``, written whole or not at all; whether it was kept. Only where the saved
    tokenizer gives the model's own token ids for every probe (else nothing is kept)."""
    try:
        backend = model[0].tokenizer.backend_tokenizer
        pad_id = int(model[0].tokenizer.pad_token_id or 0)
        make_private_dirs(folder.parent)
        shared = shared_folder_above(folder.parent)
        if not only_mine(folder.parent) or shared is not None:
            log.warning("ONNX export not cached: other users may change %s", shared or folder.parent)
            return False
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            backend.save(str(staging / TOKENIZER))
            if not _same_tokens(model, light_tokenizer(staging / TOKENIZER, pad_id), probes):
                log.info("ONNX export not cached: the saved tokenizer differs from the model's")
                return False
            shutil.copyfile(export, staging / MODEL)
            meta = {"format": FORMAT, "pooling": pooling, "pad_id": pad_id, "probes": list(probes)}
            meta["vectors"] = np.asarray(vectors, dtype=np.float64).tolist()
            (staging / META).write_text(json.dumps(meta))
            with contextlib.suppress(FileExistsError, OSError):
                os.rename(staging, folder)  # another process may have kept the same entry first
                return True
            return False
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except Exception as exc:  # a read-only or full disk costs the next process an export, nothing more
        log.info("ONNX export not cached (%s)", exc)
        return False


def _same_tokens(model: Any, tokenize: Callable[[list[str]], Any], probes: Sequence[str]) -> bool:
    from figvault.encoders.onnx_questions import _tokenize

    texts = [*probes, *TOKEN_CHECKS]
    for text in [*texts, texts]:  # each alone (as documents go), then all together (padding)
        texts = text if isinstance(text, list) else [text]
        features = _tokenize(model, texts)
        ids, mask = tokenize(texts)
        if not (
            np.array_equal(features["input_ids"].numpy(), ids)
            and np.array_equal(features["attention_mask"].numpy(), mask)
        ):
            return False
    return True
