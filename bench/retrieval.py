"""Retrieval quality on the dev queries: per channel and fused, beside a page-level BM25 baseline.

Ingests the corpus (``../shared/corpus``; ``--distractors`` adds ``../shared/corpus-distractors``) into a
temporary data folder with a profile (default: offline = MiniLM text + BM25), runs every dev query and prints
figure-level recall@1/5/10 and MRR for the text channel alone, the lexical channel alone and the fusion, and
the same numbers for BM25 over whole pages' text (page-level hits: what users have today). Also prints the
end-to-end ingest rate.

    .venv/bin/python bench/retrieval.py [--profile offline] [--distractors] [--keep DIR]
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.access import local_operator  # noqa: E402
from figvault.pipeline.ingest_pipeline import ingest_paths  # noqa: E402
from figvault.retrieval.evaluation import CUTOFFS, EvalQuery, first_hit_rank, load_queries  # noqa: E402
from figvault.retrieval.schema import LEXICAL  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.settings import load_settings  # noqa: E402

TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def page_texts(path: Path) -> list[tuple[int, str]]:
    """(page or slide number, its whole text) for a PDF or PPTX."""
    if path.suffix.lower() == ".pdf":
        import pymupdf

        with pymupdf.open(path) as doc:
            return [(i + 1, page.get_text()) for i, page in enumerate(doc)]
    from pptx import Presentation

    pages = []
    for i, slide in enumerate(Presentation(str(path)).slides, start=1):
        parts = [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        if slide.has_notes_slide:
            parts.append(slide.notes_slide.notes_text_frame.text)
        pages.append((i, "\n".join(parts)))
    return pages


def metrics(ranks: list[int | None]) -> dict[str, float]:
    n = len(ranks) or 1
    out = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in CUTOFFS}
    out["MRR"] = sum(1.0 / r for r in ranks if r is not None) / n
    return out


def page_bm25_ranks(files: list[Path], queries: list[EvalQuery], depth: int) -> list[int | None]:
    from rank_bm25 import BM25Okapi

    keys: list[tuple[str, int]] = []
    corpus: list[list[str]] = []
    for path in files:
        for page, text in page_texts(path):
            keys.append((path.name, page))
            corpus.append(tokens(text) or ["<empty>"])
    bm25 = BM25Okapi(corpus)
    ranks: list[int | None] = []
    for q in queries:
        scores = bm25.get_scores(tokens(q.query))
        order = sorted(range(len(keys)), key=lambda i: -scores[i])[:depth]
        rank = next((r for r, i in enumerate(order, start=1) if keys[i] == (q.doc, q.page)), None)
        ranks.append(rank)
    return ranks


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--distractors", action="store_true")
    parser.add_argument("--keep", type=Path, help="Data folder to use and keep (reused if already ingested).")
    parser.add_argument("--top-k", type=int, default=10)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("pymilvus", "milvus_lite", "httpx", "sentence_transformers", "grpc"):
        logging.getLogger(name).setLevel(logging.ERROR)

    data_dir = args.keep or Path(tempfile.mkdtemp(prefix="figvault-bench-"))
    settings = load_settings(args.profile, data_dir=data_dir)
    files = sorted((args.corpus / "docs").iterdir())
    if args.distractors:
        files += sorted((args.corpus.parent / "corpus-distractors" / "docs").iterdir())
    queries = [q for q in load_queries(args.corpus / "dev_queries.jsonl") if q.doc is not None]

    report = ingest_paths(settings, files, groups=[], tenant="default", progress=False)
    t = report.timings
    print(f"ingest: {report.summary()}")
    for failed in report.failed:
        print(f"  FAILED {failed.path}: {failed.error}")
    print("  phase seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in t.items()))

    engine = SearchEngine.from_settings(settings)
    served = engine.served()
    assert served is not None
    collection, layout, encoders = served
    principal = local_operator()
    expr = engine.filter_for(principal, None)
    assert expr is not None
    candidate_k = max(settings.search.candidate_k, args.top_k)
    modes: dict[str, list[str]] = {c.name: [c.name] for c in layout.dense}
    if layout.lexical:
        modes[LEXICAL] = [LEXICAL]
    modes["fused"] = layout.channels
    ranks: dict[str, list[int | None]] = {m: [] for m in modes}
    latency: list[float] = []
    for q in queries:
        vectors = engine.encode_question(encoders, q.query)
        encoded: dict[str, Any] = {c.name: vectors[c.name] for c in layout.dense}
        if layout.lexical:
            encoded[LEXICAL] = q.query
        for mode, channels in modes.items():
            start = time.perf_counter()
            channel_queries = {c: encoded[c] for c in channels}
            ranked = engine.recall(collection, channel_queries, expr, candidate_k)
            hits = engine.materialize(collection, principal, ranked[: args.top_k], channel_queries)
            if mode == "fused":
                latency.append((time.perf_counter() - start) * 1000)
            ranks[mode].append(first_hit_rank(q, hits[: args.top_k]))
    baseline = page_bm25_ranks(files, queries, args.top_k)

    print(f"\n{len(queries)} answerable dev queries, {len(files)} files, profile {args.profile}")
    print(f"{'method':32} {'R@1':>6} {'R@5':>6} {'R@10':>6} {'MRR':>6}")
    for mode, values in ranks.items():
        m = metrics(values)
        print(f"{'figure-level ' + mode:32} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['R@10']:6.3f} {m['MRR']:6.3f}")
    m = metrics(baseline)
    print(
        f"{'page-level BM25 (baseline)':32} {m['R@1']:6.3f} {m['R@5']:6.3f} {m['R@10']:6.3f} {m['MRR']:6.3f}"
    )
    latency.sort()
    print(f"\nfused recall latency p50 {latency[len(latency) // 2]:.1f} ms (candidate_k {candidate_k})")
    total = t.get("total", 0.0)
    if total:
        print(f"ingest end to end: {report.pages / total:.2f} pages/s, {report.units / total:.2f} units/s")
    missed = [q.id for q, r in zip(queries, ranks["fused"], strict=True) if r is None or r > 5]
    print(f"fused misses at 5: {', '.join(missed) or 'none'}")
    print(f"data folder: {data_dir}")


if __name__ == "__main__":
    main()
