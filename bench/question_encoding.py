"""Question encoding: fp32 (as served) against bf16 weights, ONNX Runtime and ONNX int8: speed and sameness.

Speed, interleaved (each round runs every variant once, so machine noise hits all of them): ms for one
question alone, and per question in a batch of 8 and 16 (what micro-batching gives under load). Sameness:
each variant's question vectors against fp32's (cosine), and the top 10 units of the text channel and of
the fused search (text + lexical) on a stored corpus, question by question, against fp32's top 10.

    .venv/bin/python bench/question_encoding.py [--data-dir DIR] [--rounds 5] [--threads 1]

``--data-dir``: a data folder with the corpus ingested (offline profile), e.g. the one bench/http_load.py
builds (``<cache>/corpus-lite``); without it only speed and cosine are measured. The text model is the
offline profile's, or ``FIGVAULT_TEXT__MODEL``.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.access import local_operator  # noqa: E402
from figvault.encoders.factory import build_encoders  # noqa: E402
from figvault.encoders.onnx_questions import export_transformer  # noqa: E402
from figvault.retrieval.schema import LEXICAL  # noqa: E402
from figvault.settings import load_settings  # noqa: E402


def dev_questions() -> list[str]:
    for root in (REPO.parent / "shared", Path("/work/shared")):
        path = root / "corpus/dev_queries.jsonl"
        if path.exists():
            return [json.loads(line)["query"] for line in path.open()]
    raise SystemExit("dev_queries.jsonl not found")


def _mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    weights = mask[..., None].astype(np.float32)
    pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


def variants(st: Any, threads: int) -> dict[str, Any]:
    """name -> encode(list of texts) -> float32 [n, dim], L2-normalised."""
    out: dict[str, Any] = {
        "fp32": lambda texts: st.encode(texts, normalize_embeddings=True, convert_to_numpy=True),
    }
    st16 = copy.deepcopy(st).to(torch.bfloat16)
    out["bf16"] = lambda texts: st16.encode(texts, normalize_embeddings=True, convert_to_numpy=True).astype(
        np.float32
    )
    pooling = [type(m).__name__ for m in st]
    mean = (
        "mean" in str(getattr(st[1], "get_config_dict", dict)().get("pooling_mode", ""))
        if len(st) > 1
        else False
    )
    if pooling[:2] != ["Transformer", "Pooling"] or not mean:
        print(f"ONNX Runtime skipped: the module chain {pooling} is not Transformer + mean Pooling")
        return out
    import onnxruntime as ort

    path = Path(tempfile.mkdtemp()) / "question.onnx"
    export_transformer(st, path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    out["onnxruntime"] = _ort_encoder(st, session)
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # int8 weights, activations quantised per call (dynamic): a different function, so a different
    # embedding_version if it were ever served (it would need a re-encode).
    int8_path = path.with_name("question-int8.onnx")
    quantize_dynamic(str(path), str(int8_path), weight_type=QuantType.QInt8)
    int8 = ort.InferenceSession(str(int8_path), options, providers=["CPUExecutionProvider"])
    out["onnx-int8"] = _ort_encoder(st, int8)
    return out


def _ort_encoder(st: Any, session: Any) -> Any:
    """encode(texts) through an ONNX Runtime ``session`` of ``st``'s transformer, then mean pooling."""
    limit = st.max_seq_length

    def run(texts: list[str]) -> np.ndarray:
        enc = st.tokenizer(texts, padding=True, truncation=True, max_length=limit, return_tensors="np")
        feed = {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": enc["attention_mask"]}
        feed["attention_mask"] = feed["attention_mask"].astype(np.int64)
        (hidden,) = session.run(["hidden"], feed)
        return _mean_pool(hidden, enc["attention_mask"])

    return run


def speed(encoders: dict[str, Any], questions: list[str], rounds: int) -> dict[str, dict[str, list[float]]]:
    times: dict[str, dict[str, list[float]]] = {name: {"1": [], "8": [], "16": []} for name in encoders}
    for fn in encoders.values():  # warm-up
        fn(questions[:16])
    for r in range(rounds):
        for name, fn in encoders.items():
            for size in ("1", "8", "16"):
                n = int(size)
                for start in range(0, len(questions) - n + 1, n):
                    batch = questions[start : start + n]
                    t = time.perf_counter()
                    fn(batch)
                    times[name][size].append((time.perf_counter() - t) * 1000 / n)
        print(f"round {r + 1}/{rounds} done (load {os.getloadavg()[0]:.2f})", flush=True)
    return times


def top10(data_dir: Path, vectors: dict[str, np.ndarray], questions: list[str]) -> dict[str, Any]:
    from figvault.retrieval.search import SearchEngine

    settings = load_settings("offline", data_dir=data_dir)
    engine = SearchEngine.from_settings(settings)
    collection, layout, _ = engine.served()
    expr = engine.filter_for(local_operator(), None)
    lexical = engine.lexical_args(local_operator(), None, None)  # the operator's scope: all of it
    ranked: dict[str, dict[str, list[list[str]]]] = {}
    for name, matrix in vectors.items():
        text_only, fused = [], []
        for q, vec in zip(questions, matrix, strict=True):
            text_only.append([u.unit_id for u in engine.recall(collection, {"text": vec}, expr, 10)])
            queries: dict[str, Any] = {"text": vec}
            if layout.lexical:
                queries[LEXICAL] = q
            fused.append([u.unit_id for u in engine.recall(collection, queries, expr, 10, lexical)])
        ranked[name] = {"text": text_only, "fused": fused}
    return ranked


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch / ORT intra-op threads (serve: half)")
    args = parser.parse_args()
    os.environ["HF_HUB_OFFLINE"] = "1"
    torch.set_num_threads(args.threads)
    settings = load_settings("offline", data_dir=Path(tempfile.mkdtemp()))
    encoder = build_encoders(settings).text.load()
    questions = dev_questions()
    print(f"{encoder.spec.weights.label}, {len(questions)} dev questions, {args.threads} thread(s)")
    encoders = variants(encoder._model, args.threads)
    times = speed(encoders, questions, args.rounds)
    vectors = {name: fn(questions) for name, fn in encoders.items()}
    print(f"\nms per question (median; 1 alone, and in batches of 8 / 16), load {os.getloadavg()[0]:.2f}")
    print(f"{'variant':<12}{'1':>8}{'8':>8}{'16':>8}{'cos min':>10}{'cos mean':>10}")
    for name in encoders:
        cos = (vectors[name] * vectors["fp32"]).sum(axis=1)
        med = [statistics.median(times[name][s]) for s in ("1", "8", "16")]
        print(f"{name:<12}{med[0]:>8.2f}{med[1]:>8.2f}{med[2]:>8.2f}{cos.min():>10.5f}{cos.mean():>10.5f}")
    if args.data_dir is None:
        return
    ranked = top10(args.data_dir, vectors, questions)
    print("\ntop 10 against fp32's, per dev question: identical lists / same set / mean overlap")
    for name in encoders:
        for channel in ("text", "fused"):
            mine, ref = ranked[name][channel], ranked["fp32"][channel]
            same = sum(a == b for a, b in zip(mine, ref, strict=True))
            same_set = sum(set(a) == set(b) for a, b in zip(mine, ref, strict=True))
            overlap = statistics.mean(len(set(a) & set(b)) / 10 for a, b in zip(mine, ref, strict=True))
            print(f"{name:<12}{channel:<7}{same:>4}/{len(ref)}{same_set:>6}/{len(ref)}{overlap:>8.3f}")


if __name__ == "__main__":
    main()
