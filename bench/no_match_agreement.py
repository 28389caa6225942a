"""Agreement under perturbation: does the top hold when the question is shaken? Tuning half only.

An answerable question whose figure lost its words scores low on every magnitude feature the no_match
decision reads (docs/retrieval.md, "Issue 14, 2026-12-05 late afternoon"), so to that decision it looks
unanswerable. This measures a different kind of evidence: how *stable* the top is. For every tuning-half
question of one size of a dump (``bench/retrieval.py --dump``) it recalls from the store in ``--data-dir``
(the folder that run printed) through ``SearchEngine.recall`` (the fused channels ``figvault search`` and
``POST /v1/search`` recall before they fetch rows and apply the priors) with each content word dropped in
turn, the variants encoded in one batch, and recalls the question through the text channel alone and BM25
alone. It writes one line per question (``AGREEMENT``: how often the top unit or
document survives a dropped word, where the original top ranks then, the top-5 overlap, the original top's
margin; whether the channels' tops share a document) to the dump's sidecar (``agreement_path``), which
``bench/no_match_shift.py`` merges into its feature rows, and prints what the variants cost per question.
The reporting half is never read (lines of other splits are dropped on load).

    .venv/bin/python bench/no_match_agreement.py DUMP --data-dir DIR [--size full] [--profile offline]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from figvault.access import local_operator  # noqa: E402
from figvault.retrieval.evidence import terms  # noqa: E402
from figvault.retrieval.schema import F_DOC, F_ID, LEXICAL  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.settings import load_settings  # noqa: E402

TOP_K = 10
AGREEMENT = (
    "drop: top unit kept",
    "drop: top document kept",
    "drop: worst reciprocal rank of the top",
    "drop: mean reciprocal rank of the top",
    "drop: top-5 overlap",
    "drop: the top's margin",
    "channels: text and BM25 tops one document",
    "channels: the top's document is each channel's top",
)
"""The features this writes, each in [-1, 1], higher = steadier (what ``bench/no_match_shift.py`` adds)."""
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Hit:
    """One recalled unit: what the features read of it."""

    unit_id: str
    doc: str
    score: float


def agreement_path(dump: Path) -> Path:
    """Where the agreement features of ``dump``'s questions are written (beside it)."""
    return dump.with_name(dump.stem + ".agreement.jsonl")


def dropped_variants(question: str) -> list[str]:
    """``question`` with each of its content terms (``evidence.terms``) left out in turn; none when fewer
    than two (a question of one content word cannot lose one and stay a question)."""
    asked = sorted(terms(question))
    if len(asked) < 2:
        return []
    return [" ".join(_without(question, term).split()) for term in asked]


def _without(question: str, term: str) -> str:
    return _WORD.sub(lambda m: "" if terms(m.group(0)) == {term} else m.group(0), question)


def _reciprocal_rank(unit: str, hits: Sequence[Hit]) -> float:
    return next((1.0 / r for r, h in enumerate(hits, start=1) if h.unit_id == unit), 0.0)


def _margin(unit: str, hits: Sequence[Hit]) -> float:
    """The original top's score above the best other hit of a variant, relative to the variant's top score
    (negative when another unit leads; -1 when the original top is gone)."""
    if not hits or not hits[0].score:
        return -1.0
    own = next((h.score for h in hits if h.unit_id == unit), None)
    if own is None:
        return -1.0
    other = max((h.score for h in hits if h.unit_id != unit), default=0.0)
    return (own - other) / hits[0].score


def drop_features(top: Sequence[Hit], variants: Sequence[Sequence[Hit]]) -> dict[str, float]:
    """How the original ``top`` (its hits, best first) holds across the word-dropped ``variants``' hits;
    the steadiest values when there is no variant or no top (nothing was shaken)."""
    if not variants or not top:
        return dict(zip(AGREEMENT[:6], (1.0, 1.0, 1.0, 1.0, 1.0, 0.0), strict=True))
    unit, doc = top[0].unit_id, top[0].doc
    first5 = {h.unit_id for h in top[:5]}
    rr = [_reciprocal_rank(unit, v) for v in variants]
    return {
        "drop: top unit kept": float(np.mean([bool(v) and v[0].unit_id == unit for v in variants])),
        "drop: top document kept": float(np.mean([bool(v) and v[0].doc == doc for v in variants])),
        "drop: worst reciprocal rank of the top": min(rr),
        "drop: mean reciprocal rank of the top": float(np.mean(rr)),
        "drop: top-5 overlap": float(
            np.mean([len(first5 & {h.unit_id for h in v[:5]}) / 5 for v in variants])
        ),
        "drop: the top's margin": float(np.mean([_margin(unit, v) for v in variants])),
    }


class Shaker:
    """One store's engine, recalled as ``figvault search`` recalls (every channel, fused), the question and
    its word-dropped variants encoded in one batch (what a shipped version would run: no rows fetched)."""

    def __init__(self, data_dir: Path, profile: str) -> None:
        self.engine = SearchEngine.from_settings(load_settings(profile, data_dir=data_dir))
        self.engine.encoders.load()
        served = self.engine.served()
        if served is None:
            raise SystemExit(f"nothing indexed in {data_dir}")
        self.collection, self.layout, self.encoders = served
        principal = local_operator()
        expr = self.engine.filter_for(principal, None)
        assert expr is not None, "the local operator sees everything"
        self.expr = expr
        self.lexical = self.engine.lexical_args(principal, None, None)
        rows = self.engine.store.query_rows(self.collection, f'{F_ID} != ""', [F_ID, F_DOC])
        self.doc_of = {r[F_ID]: r[F_DOC] for r in rows}

    def encode(self, texts: Sequence[str]) -> list[dict[str, Any]]:
        """Every text's queries by channel, each dense channel's texts in one batch."""
        queries: list[dict[str, Any]] = [{} for _ in texts]
        for channel in self.layout.dense:
            encoder = getattr(self.encoders, channel.name)
            encode = getattr(encoder, "encode_questions", encoder.encode_texts)
            for query, vector in zip(queries, encode(list(texts)), strict=True):
                query[channel.name] = vector
        for query, text in zip(queries, texts, strict=True):
            query[LEXICAL] = text
        return queries

    def recall(self, queries: dict[str, Any]) -> list[Hit]:
        ranked = self.engine.recall(self.collection, queries, self.expr, TOP_K, self.lexical)
        return [Hit(u.unit_id, self.doc_of.get(u.unit_id, ""), u.fused) for u in ranked]

    def features(self, question: str) -> tuple[dict[str, float], float, float]:
        """``question``'s agreement features; the ms of its own encode and recall, and of its variants'."""
        variants = dropped_variants(question)
        t = time.perf_counter()
        own = self.encode([question])[0]
        top = self.recall(own)
        own_ms = (time.perf_counter() - t) * 1000
        t = time.perf_counter()
        shaken = [self.recall(q) for q in self.encode(variants)] if variants else []
        variant_ms = (time.perf_counter() - t) * 1000
        row = drop_features(top, shaken)
        text, bm25 = (self.recall({c: own[c]}) for c in ("text", LEXICAL))
        doc = top[0].doc if top else None
        text_doc, bm25_doc = (hits[0].doc if hits else None for hits in (text, bm25))
        row["channels: text and BM25 tops one document"] = float(
            text_doc is not None and text_doc == bm25_doc
        )
        row["channels: the top's document is each channel's top"] = (
            float(text_doc == doc) + float(bm25_doc == doc)
        ) / 2
        return row, own_ms, variant_ms


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dump", type=Path)
    parser.add_argument("--data-dir", type=Path, required=True, help="The size's data folder.")
    parser.add_argument("--size", default="full")
    parser.add_argument("--profile", default="offline")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    lines = tuning_questions(args.dump, args.size)
    shaker = Shaker(args.data_dir, args.profile)
    print(f"load average at start: {os.getloadavg()}; {len(lines)} tuning questions at size {args.size}")
    own, added, counts = [], [], []
    out_path = agreement_path(args.dump)
    kept = [x for x in _read(out_path) if x["size"] != args.size]
    with out_path.open("w", encoding="utf-8") as out:
        for x in kept:
            out.write(json.dumps(x) + "\n")
        for line in lines:
            question = line["query"]["query"]
            row, own_ms, variant_ms = shaker.features(question)
            own.append(own_ms)
            added.append(variant_ms)
            counts.append(len(dropped_variants(question)))
            out.write(json.dumps({"size": args.size, "id": line["id"], "features": row}) + "\n")
    print(
        f"search p50 {np.median(own):.1f} ms; word-dropped variants per question: {np.mean(counts):.1f} "
        f"(median {np.median(counts):.0f}), their searches p50 {np.median(added):.1f} ms, "
        f"p95 {np.quantile(added, 0.95):.1f} ms per question, {np.sum(added) / np.sum(counts):.1f} ms each"
    )
    print(f"load average at end: {os.getloadavg()}; wrote {out_path}")


def tuning_questions(dump: Path, size: str) -> list[dict[str, Any]]:
    """``size``'s tuning-half lines of ``dump`` (the other splits are dropped before anything reads them)."""
    return [x for x in _read(dump) if x["size"] == size and x["split"] == "tune"]


def _read(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


if __name__ == "__main__":
    main()
