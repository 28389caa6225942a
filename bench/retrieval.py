"""Retrieval quality: tuning half beside reporting half, on the labelled corpus and at realistic size.

Ingests the labelled corpus (``$FIGVAULT_CORPUS``, default ``../shared/corpus``) and, for the realistic size,
the corpus plus all 65 distractor documents (``$FIGVAULT_DISTRACTORS``) into data folders that are cached
under ``--data-root`` (default ``/tmp/figvault-bench``) and reused: the folder name carries the profile, the
configured embedding version, the extraction settings and the git trees of the code that decides what is
indexed; ``--reingest`` starts over. Then every question runs through ``SearchEngine.search`` (what
``figvault search`` and ``POST /v1/search`` run) and, for comparison, through each channel alone.

Questions: the shared dev questions split by ``bench/labels/dev_split.json`` (fixed seed, see
``bench/dev_split.py``) and, when present, ``bench/labels/{questions,corpus_questions,unanswerable}.jsonl``
(each line carries its own ``split``). Questions whose answer lies in a distractor document only count at the
realistic size. ``bench/labels/short_queries.jsonl`` (search-box queries) is reported on lines of its own
(``APART``), outside the totals; the dump and the tuners read it with the rest. Printed per size: R@1/5/10 and
MRR per half, the questions whose answer shares a document or a page with another figure, the no-match flags,
and search latency. ``--dump`` writes one line per question and size: its ranks, every channel's top 50 with
scores and rows (what the tuners replay), and ``store_rows``, the units the bench's caller sees (the no-match
decision's N).

    .venv/bin/python bench/retrieval.py [--profile offline] [--size labelled|full|both] [--reingest]
        [--dump /tmp/retrieval/bench.jsonl] [--halves tune|report|both]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dev_split import load_split  # noqa: E402

from figvault.access import local_operator  # noqa: E402
from figvault.encoders.factory import configured_embedding_version  # noqa: E402
from figvault.pipeline.ingest_pipeline import ingest_paths  # noqa: E402
from figvault.retrieval.acl import in_list  # noqa: E402
from figvault.retrieval.evaluation import (  # noqa: E402
    EvalQuery,
    first_hit_rank,
    is_hit,
    load_queries,
    rank_metrics,
)
from figvault.retrieval.schema import (  # noqa: E402
    F_CAPTION,
    F_CONTEXT,
    F_DOC,
    F_FIGURE_TEXT,
    F_GEOMETRY,
    F_ID,
    F_KIND,
    F_LABEL,
    F_META,
    F_PAGE,
    LEXICAL,
    OUTPUT_FIELDS,
)
from figvault.retrieval.search import LexicalArgs, SearchEngine  # noqa: E402
from figvault.search_models import SearchRequest  # noqa: E402
from figvault.settings import Settings, load_settings  # noqa: E402

CORPUS = Path(os.environ.get("FIGVAULT_CORPUS", REPO.parent / "shared" / "corpus"))
DISTRACTORS = Path(os.environ.get("FIGVAULT_DISTRACTORS", REPO.parent / "shared" / "corpus-distractors"))
LABELS = REPO / "bench" / "labels"
LABEL_SETS = ("questions", "corpus_questions", "unanswerable", "short_queries")
"""Question files the label engineer lands in bench/labels/ (each line has its own split)."""
APART = ("short_queries",)
"""Sets reported on their own lines, outside the headline totals (which stay comparable with earlier runs):
search-box queries of 2-6 words written from the labelled corpus's questions, and short unanswerable ones."""
INDEXING_CODE = ("ingest", "retrieval/schema.py")
"""What decides the stored units (the cache key carries their git trees); what changes vectors is in the
embedding version. ``--reingest`` when another change matters."""
EXTRACT_NOT_IN_UNITS = ("workers", "worker_nice")
"""Extraction settings that change how fast, not what is stored: every other one (``ocr_max_per_page``, the
time limits that cut a read or a document) is in the cache key."""
HALVES = ("tune", "report")
TOKEN = re.compile(r"\w+")


@dataclass
class Question:
    query: EvalQuery
    source: str
    """dev, questions, corpus_questions or unanswerable."""

    @property
    def answerable(self) -> bool:
        return self.query.doc is not None


@dataclass
class Outcome:
    question: Question
    ranks: dict[str, int | None] = field(default_factory=dict)
    """mode -> first hit rank within top_k (None: missed)."""
    no_match: bool = False
    neighbours: str = ""
    """"page" when another figure shares the answer's page, "doc" when only its document, else ""."""
    latency_ms: float = 0.0
    top: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    reachable: bool = False
    """The answer is among the stored units (extraction found it)."""


# ------------------------------------------------------------------------------------------- questions
def load_questions(corpus: Path) -> list[Question]:
    split = load_split()
    questions = []
    for q in load_queries(corpus / "dev_queries.jsonl"):
        questions.append(Question(q.model_copy(update={"split": split[q.id]}), "dev"))
    for name in LABEL_SETS:
        path = LABELS / f"{name}.jsonl"
        if path.is_file():
            questions += [Question(q, name) for q in load_queries(path)]
    missing = [q.query.id for q in questions if q.query.split not in HALVES]
    if missing:
        raise SystemExit(f"questions without a tune/report split: {', '.join(missing[:10])}")
    return questions


# ---------------------------------------------------------------------------------------------- ingest
def git_tree(path: str) -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", f"HEAD:{path}"], cwd=REPO, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", path], cwd=REPO, capture_output=True, text=True, check=True
        )
        return out.stdout.strip()[:12] + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "nogit"


def cache_dir(root: Path, profile: str, size: str, files: list[Path], settings: Settings) -> Path:
    key = {
        "version": configured_embedding_version(settings),
        "code": {p: git_tree(p) for p in INDEXING_CODE},
        "extract": settings.extract.model_dump(mode="json", exclude=set(EXTRACT_NOT_IN_UNITS)),
        "files": [(f.name, f.stat().st_size) for f in files],
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return root / f"{profile}-{size}-{digest}"


def ingest(settings: Settings, files: list[Path]) -> None:
    started = time.perf_counter()
    report = ingest_paths(settings, files, groups=[], tenant="default", progress=False)
    print(f"  ingest: {report.summary()} in {time.perf_counter() - started:.0f} s")
    for failed in report.failed:
        print(f"  FAILED {failed.path}: {failed.error}")


# --------------------------------------------------------------------------------------------- running
def stored_units(engine: SearchEngine, collection: str) -> list[dict[str, Any]]:
    return engine.store.query_rows(collection, f'{F_ID} != ""', [F_ID, F_DOC, F_PAGE, F_LABEL, F_GEOMETRY])


def reachable(q: EvalQuery, rows: list[dict[str, Any]]) -> bool:
    """Whether any stored unit is the answer (else extraction missed it and no ranking can find it)."""
    return any(
        is_hit(q, r[F_DOC], int(r[F_PAGE]), r.get(F_LABEL) or None, (r.get(F_GEOMETRY) or {}).get("bbox"))
        for r in rows
        if r[F_DOC] == q.doc or any(t.doc == r[F_DOC] for t in q.also)
    )


def neighbours_of(q: EvalQuery, pages: dict[tuple[str, int], int]) -> str:
    if q.doc is None:
        return ""
    if pages.get((q.doc, q.page or 0), 0) > 1:
        return "page"
    return "doc" if sum(n for (d, _), n in pages.items() if d == q.doc) > 1 else ""


def run_questions(
    engine: SearchEngine, questions: list[Question], top_k: int, *, with_candidates: bool = False
) -> list[Outcome]:
    served = engine.served()
    assert served is not None, "nothing indexed"
    collection, layout, encoders = served
    principal = local_operator()
    expr = engine.filter_for(principal, None)
    assert expr is not None
    rows = stored_units(engine, collection)
    pages = dict(Counter((r[F_DOC], int(r[F_PAGE])) for r in rows))
    candidate_k = max(engine.settings.search.candidate_k, top_k)
    outcomes = []
    for question in questions:
        q = question.query
        outcome = Outcome(question, neighbours=neighbours_of(q, pages))
        outcome.reachable = q.doc is not None and reachable(q, rows)
        start = time.perf_counter()
        response = engine.search(principal, SearchRequest(query=q.query, top_k=top_k, rerank=False))
        outcome.latency_ms = (time.perf_counter() - start) * 1000
        outcome.no_match = response.no_match
        outcome.ranks["search"] = first_hit_rank(q, response.results)
        outcome.top = [
            {"doc": h.doc, "page": h.page, "label": h.label, "score": h.score, "channels": h.channel_scores}
            for h in response.results[:5]
        ]
        vectors = engine.encode_question(encoders, q.query)
        queries: dict[str, Any] = {c.name: vectors[c.name] for c in layout.dense}
        if layout.lexical or encoders.lexical:
            queries[LEXICAL] = q.query
        lexical = engine.lexical_args(principal, None, None)
        for channel, query in queries.items():
            ranked = engine.recall(collection, {channel: query}, expr, candidate_k, lexical)
            hits = engine.materialize(collection, principal, ranked[:top_k], {channel: query})
            outcome.ranks[channel] = first_hit_rank(q, hits)
        if with_candidates:
            outcome.candidates = first_stage(engine, collection, queries, expr, candidate_k, lexical)
        outcomes.append(outcome)
    return outcomes


CANDIDATE_FIELDS = (
    F_ID,
    F_DOC,
    F_PAGE,
    F_GEOMETRY,
    F_KIND,
    F_LABEL,
    F_CAPTION,
    F_CONTEXT,
    F_FIGURE_TEXT,
    F_META,
)


def first_stage(
    engine: SearchEngine,
    collection: str,
    queries: dict[str, Any],
    expr: str,
    limit: int,
    lexical: LexicalArgs,
) -> list[dict[str, Any]]:
    """The fused candidates before any reordering, with their rows: what bench/tune_retrieval.py replays."""
    # Every channel's whole top ``limit`` (the fused list keeps up to channels x limit units), so that
    # bench/tune_retrieval.py can fuse them again with other weights exactly. The lexical channel is
    # figvault's own BM25F index (not Milvus), asked as the engine asks it.
    per_channel = {
        c: engine._lexical_hits(collection, str(q), lexical, limit)
        if c == LEXICAL
        else engine.store.search_channel(collection, c, q, expr, limit, output_fields=[F_ID])
        for c, q in queries.items()
    }
    ranked = engine._fused(per_channel, limit * len(queries))
    fields = [f for f in (*CANDIDATE_FIELDS, "title") if f in OUTPUT_FIELDS]  # title: once units have it
    rows = {
        r[F_ID]: r
        for r in engine.store.get_rows(collection, in_list(F_ID, [u.unit_id for u in ranked]), fields=fields)
    }
    return [
        {"unit_id": u.unit_id, "fused": u.fused, "channels": u.channel_scores, "row": rows[u.unit_id]}
        for u in ranked
        if u.unit_id in rows
    ]


# ------------------------------------------------------------------------------------ page-level BM25
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


def page_bm25(files: list[Path], outcomes: list[Outcome], depth: int) -> None:
    """What users have without figvault: BM25 over whole pages, a hit is the answer's page."""
    from rank_bm25 import BM25Okapi

    keys: list[tuple[str, int]] = []
    corpus: list[list[str]] = []
    for path in files:
        for page, text in page_texts(path):
            keys.append((path.name, page))
            corpus.append(tokens(text) or ["<empty>"])
    bm25 = BM25Okapi(corpus)
    for outcome in outcomes:
        q = outcome.question.query
        if q.doc is None:
            continue
        scores = bm25.get_scores(tokens(q.query))
        order = sorted(range(len(keys)), key=lambda i: -scores[i])[:depth]
        outcome.ranks["page BM25"] = next(
            (r for r, i in enumerate(order, start=1) if keys[i] == (q.doc, q.page)), None
        )


# --------------------------------------------------------------------------------------------- tables
def cells(outcomes: Iterable[Outcome], mode: str) -> str:
    ranks = [o.ranks.get(mode) for o in outcomes]
    if not ranks:
        return " — | — | — | — | 0 "
    m = rank_metrics(ranks)
    return " | ".join(f"{m[k]:.3f}" for k in ("R@1", "R@5", "R@10", "MRR")) + f" | {len(ranks)}"


def halves(outcomes: list[Outcome]) -> dict[str, list[Outcome]]:
    return {h: [o for o in outcomes if o.question.query.split == h] for h in HALVES}


def print_tables(title: str, outcomes: list[Outcome], modes: list[str]) -> None:
    apart = [o for o in outcomes if o.question.source in APART]
    outcomes = [o for o in outcomes if o.question.source not in APART]
    answerable = [o for o in outcomes if o.question.answerable]
    head = "| {0} R@1 | {0} R@5 | {0} R@10 | {0} MRR | {0} n "
    print(f"\n### {title}\n")
    print(f"| method / questions {head.format('tune')}{head.format('report')}|")
    print("| --- " + "| --- " * 10 + "|")

    def row(name: str, subset: list[Outcome], mode: str) -> None:
        split = halves(subset)
        print(f"| {name} | {cells(split['tune'], mode)} | {cells(split['report'], mode)} |")

    for mode in modes:
        row(f"{mode}: all answerable", answerable, mode)
    sources = sorted({o.question.source for o in answerable})
    for source in sources if len(sources) > 1 else []:
        row(f"search: {source}", [o for o in answerable if o.question.source == source], "search")
    row("search: answer among the stored units", [o for o in answerable if o.reachable], "search")
    row("search: answer shares its page", [o for o in answerable if o.neighbours == "page"], "search")
    row("search: shares its document only", [o for o in answerable if o.neighbours == "doc"], "search")
    row("search: alone in its document", [o for o in answerable if not o.neighbours], "search")
    for source in APART:
        of_source = [o for o in apart if o.question.source == source]
        row(f"search: {source} (apart)", [o for o in of_source if o.question.answerable], "search")
    print()
    print_no_match("", outcomes)
    for source in APART:
        print_no_match(f" ({source})", [o for o in apart if o.question.source == source])
    latency = sorted(o.latency_ms for o in outcomes)
    if latency:
        p50, p95 = latency[len(latency) // 2], latency[min(len(latency) - 1, int(0.95 * len(latency)))]
        print(f"search latency (encode, recall, fetch): p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    misses = [
        o.question.query.id
        for o in answerable
        if o.question.query.split == "tune" and (o.ranks["search"] or 99) > 1
    ]
    print(f"tune questions not at rank 1: {', '.join(misses) or 'none'}")


def print_no_match(name: str, outcomes: list[Outcome]) -> None:
    """Per half: unanswerable questions caught and answerable ones wrongly refused."""
    for half, subset in halves(outcomes).items():
        refused = [o for o in subset if o.question.answerable and o.no_match]
        unanswerable = [o for o in subset if not o.question.answerable]
        caught = sum(o.no_match for o in unanswerable)
        print(
            f"no_match{name}, {half}: unanswerable caught {caught}/{len(unanswerable)}, answerable wrongly "
            f"refused {len(refused)}/{sum(o.question.answerable for o in subset)}"
        )


# ------------------------------------------------------------------------------------------------ main
def run_size(args: argparse.Namespace, size: str, questions: list[Question]) -> list[Outcome]:
    files = sorted((CORPUS / "docs").iterdir())
    if size == "full":
        files += sorted((DISTRACTORS / "docs").iterdir())
    names = {f.name for f in files}
    settings = load_settings(args.profile, data_dir=args.data_root / "hashes")
    data_dir = cache_dir(args.data_root, args.profile, size, files, settings)
    if args.reingest and data_dir.exists():
        import shutil

        shutil.rmtree(data_dir)
    settings = load_settings(args.profile, data_dir=data_dir)
    print(f"\n## {size}: {len(files)} files, data folder {data_dir}")
    ingest(settings, files)
    engine = SearchEngine.from_settings(settings)
    engine.encoders.load()  # before the first question: a load on a busy machine outlasts the question's wait
    asked = [q for q in questions if q.query.doc is None or q.query.doc in names]
    outcomes = run_questions(engine, asked, args.top_k, with_candidates=args.dump is not None)
    page_bm25(files, outcomes, args.top_k)
    modes = [
        "search",
        *[m for m in ("text", "clip", LEXICAL, "page BM25") if any(m in o.ranks for o in outcomes)],
    ]
    units = engine.count(local_operator(), None)
    print_tables(f"{size}: {len(files)} files, {units} units, profile {args.profile}", outcomes, modes)
    if args.dump:
        with args.dump.open("a", encoding="utf-8") as out:
            for o in outcomes:
                q = o.question.query
                line = {
                    "size": size,
                    "id": q.id,
                    "source": o.question.source,
                    "split": q.split,
                    "ranks": o.ranks,
                    "no_match": o.no_match,
                    "neighbours": o.neighbours,
                    "reachable": o.reachable,
                    "top": o.top,
                    "query": q.model_dump(),
                    "candidates": o.candidates,
                    "store_rows": units,
                }
                out.write(json.dumps(line) + "\n")
    return outcomes


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--size", choices=["labelled", "full", "both"], default="both")
    parser.add_argument("--data-root", type=Path, default=Path("/tmp/figvault-bench"))
    parser.add_argument("--reingest", action="store_true", help="Drop the cached data folder first.")
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--dump", type=Path, help="Append one JSON line per question and size here.")
    parser.add_argument(
        "--halves",
        choices=["both", *HALVES],
        default="both",
        help="Ask only this half's questions (tune while deciding; report once, after).",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    for name in ("pymilvus", "milvus_lite", "httpx", "sentence_transformers", "grpc"):
        logging.getLogger(name).setLevel(logging.ERROR)
    print(f"load average at start: {os.getloadavg()}")
    questions = [q for q in load_questions(CORPUS) if args.halves in ("both", q.query.split)]
    counts = Counter((q.source, q.query.split) for q in questions)
    print("questions: " + ", ".join(f"{s}/{h} {n}" for (s, h), n in sorted(counts.items())))
    for size in ("labelled", "full") if args.size == "both" else (args.size,):
        run_size(args, size, questions)
    print(f"\nload average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
