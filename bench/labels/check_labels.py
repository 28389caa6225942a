"""Check the hand-made evaluation data in bench/labels/ (see README.md there).

    .venv/bin/python bench/labels/check_labels.py [--docs DIR] [--corpus DIR]

Checks: every line parses and has the documented fields; kinds are the corpus vocabulary; every box lies
inside its page (needs the documents: --docs, default ../shared/corpus-distractors/docs); every figure's
page is in pages.jsonl; split.json is what its seed and strata give; question ids are unique across files;
every answerable question names a labelled figure (doc, page, label, bbox; also its `also` figures)
and carries its part; every short query names the question it shortens and keeps its target and part.
Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
WORK = HERE.parents[2]
DEFAULT_DOCS = WORK / "shared" / "corpus-distractors" / "docs"
DEFAULT_CORPUS = WORK / "shared" / "corpus"

KINDS = {"raster", "vector", "mixed", "table-image", "text-listing"}
"""The values figures.jsonl of the labelled corpus uses."""
CONTENTS = {"chart", "diagram", "screenshot", "photo", "table", "infographic"}
FIGURE_FIELDS = ("doc", "page", "label", "caption", "title", "kind", "content", "bbox")
QUESTION_FIELDS = ("id", "query", "doc", "page", "label", "split")
PARTS = ("tune", "report")
EMU_PER_POINT = 12700
SLACK_PT = 1.0
"""Boxes may touch the page edge; rounding may put them a fraction of a point outside."""

# How split.json is made (the split is by document): the one document whose figures are uncaptioned vector
# charts goes to the reporting part by rule, so that the held-out target for that class can be measured;
# within every other stratum random.Random(SEED) shuffles the sorted names and the first `tune` go to tuning.
SEED = 13
FIXED_REPORT = ["k8s-production-readiness-survey-2020.pdf"]
STRATA: list[tuple[str, list[str], int]] = [
    (
        "slide decks exported to PDF",
        [
            "alz-community-call-2024-06.pdf",
            "chipseq-troubleshooting-lecture.pdf",
            "onnx-edge-workshop-2019.pdf",
            "opensearch-elasticsearch-benchmark-talk.pdf",
            "sonic-network-telemetry.pdf",
        ],
        3,
    ),
    (
        "other formats: whitepaper PDF, native PPTX",
        ["cncf-storage-whitepaper-v2.pdf", "omop-cdm-etl-tutorial.pptx"],
        1,
    ),
]


def expected_split() -> dict[str, list[str]]:
    rng = random.Random(SEED)
    tune: list[str] = []
    report = list(FIXED_REPORT)
    for _, docs, n_tune in STRATA:
        order = sorted(docs)
        rng.shuffle(order)
        tune += order[:n_tune]
        report += order[n_tune:]
    return {"tune": sorted(tune), "report": sorted(report)}


QUESTION_BATCHES: tuple[tuple[str, int], ...] = (("", SEED), ("u035", 14), ("u055", 15))
"""Questions added later form their own batch, so that adding some never moves earlier ones between parts:
(first id of the batch, its seed). u035-u054: 20 unanswerable questions added 2026-12-03 (issue 14);
u055-u094: 40 more added 2026-12-04 (issue 14)."""


def question_fields_ok(where: str, q: dict[str, Any], seen: set[str], bad: Report) -> bool:
    """The checks every question line gets: its fields (False when one is missing: nothing more to check),
    an id used once across the files, a query that is not empty."""
    missing = [k for k in QUESTION_FIELDS if k not in q]
    if missing:
        bad(where, f"missing {missing}")
        return False
    if q["id"] in seen:
        bad(where, f"id {q['id']} used twice")
    seen.add(q["id"])
    if not q["query"].strip():
        bad(where, "empty query")
    return True


SHORT_FILE = "short_queries.jsonl"
SHORT_SEED = 16
"""The short unanswerable queries (``su...``): their sorted ids shuffled with ``random.Random(SHORT_SEED)``,
the first half tunes. A short answerable query (``s-<id>``) is a search-box version of question ``<id>``
and takes its target and its part."""
SHORT_TARGET = ("doc", "page", "label", "split")


def check_short_queries(
    rows: list[dict[str, Any]], sources: dict[str, dict[str, Any]], seen: set[str], bad: Report
) -> None:
    """``s-<id>`` names a question of ``sources`` (dev, questions and corpus questions, each with its
    part) and keeps its target and part; ``su...`` are unanswerable, split by SHORT_SEED."""
    unanswerable = sorted(r.get("id", "") for r in rows if not r.get("id", "").startswith("s-"))
    order = list(unanswerable)
    random.Random(SHORT_SEED).shuffle(order)
    parts = {qid: ("tune" if i < len(order) // 2 else "report") for i, qid in enumerate(order)}
    for i, q in enumerate(rows, 1):
        where = f"{SHORT_FILE}:{i}"
        if not question_fields_ok(where, q, seen, bad):
            continue
        if q["id"] in parts:
            if (q["doc"], q["page"], q["label"]) != (None, None, None):
                bad(where, "an unanswerable query has doc, page and label null")
            if q["split"] != parts[q["id"]]:
                bad(where, f"split {q['split']!r}, expected {parts[q['id']]!r}")
            continue
        source = sources.get(q["id"].removeprefix("s-"))
        if source is None:
            bad(where, f"{q['id']} names no question")
            continue
        for key in (*SHORT_TARGET, "bbox"):
            if key in source and q.get(key) != source[key]:
                bad(where, f"{key} {q.get(key)!r}, its question's is {source[key]!r}")


def question_parts(ids: list[str]) -> dict[str, str]:
    """Per-question split of one question file: per batch, shuffle the sorted ids with the batch's seed,
    first half tunes."""
    parts: dict[str, str] = {}
    starts = [start for start, _ in QUESTION_BATCHES]
    for n, (start, seed) in enumerate(QUESTION_BATCHES):
        end = starts[n + 1] if n + 1 < len(starts) else None
        order = sorted(q for q in ids if q >= start and (end is None or q < end))
        random.Random(seed).shuffle(order)
        half = len(order) // 2
        parts.update({qid: ("tune" if i < half else "report") for i, qid in enumerate(order)})
    return parts


class Report:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def __call__(self, where: str, msg: str) -> None:
        self.problems.append(f"{where}: {msg}")


def read_jsonl(path: Path, bad: Report) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            bad(f"{path.name}:{n}", "empty line")
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            bad(f"{path.name}:{n}", f"does not parse ({exc})")
    return rows


def page_sizes(doc: Path) -> list[tuple[float, float]]:
    """(width, height) per page in points (PDF) or per slide in EMU (PPTX), hidden slides counted."""
    if doc.suffix.lower() == ".pptx":
        from pptx import Presentation

        prs = Presentation(str(doc))
        return [(float(prs.slide_width), float(prs.slide_height))] * len(prs.slides)
    import pymupdf

    with pymupdf.open(doc) as pdf:
        return [(page.rect.width, page.rect.height) for page in pdf]


def check_figures(
    figs: list[dict[str, Any]], pages: dict[str, set[int]], docs_dir: Path, bad: Report
) -> None:
    sizes: dict[str, list[tuple[float, float]]] = {}
    for i, f in enumerate(figs, 1):
        where = f"figures.jsonl:{i}"
        missing = [k for k in FIGURE_FIELDS if k not in f]
        if missing:
            bad(where, f"missing {missing}")
            continue
        if f["kind"] not in KINDS:
            bad(where, f"kind {f['kind']!r} not in {sorted(KINDS)}")
        if f["content"] not in CONTENTS:
            bad(where, f"content {f['content']!r} not in {sorted(CONTENTS)}")
        if f["page"] not in pages.get(f["doc"], set()):
            bad(where, f"{f['doc']} page {f['page']} is not in pages.jsonl")
        x0, y0, x1, y1 = f["bbox"]
        if not (x0 < x1 and y0 < y1):
            bad(where, f"empty box {f['bbox']}")
        path = docs_dir / f["doc"]
        if not path.exists():
            continue
        if f["doc"] not in sizes:
            sizes[f["doc"]] = page_sizes(path)
        if not 1 <= f["page"] <= len(sizes[f["doc"]]):
            bad(where, f"page {f['page']} outside 1..{len(sizes[f['doc']])}")
            continue
        w, h = sizes[f["doc"]][f["page"] - 1]
        slack = SLACK_PT * (EMU_PER_POINT if f["doc"].lower().endswith(".pptx") else 1)
        if x0 < -slack or y0 < -slack or x1 > w + slack or y1 > h + slack:
            bad(where, f"box {f['bbox']} outside the page ({w:g} x {h:g})")
    for doc, labelled in pages.items():
        path = docs_dir / doc
        if path.exists():
            n = len(sizes.get(doc) or page_sizes(path))
            if not labelled <= set(range(1, n + 1)):
                bad("pages.jsonl", f"{doc} lists pages outside 1..{n}")


def check_split(split: dict[str, Any], docs: set[str], bad: Report) -> dict[str, str]:
    want = expected_split()
    for part in PARTS:
        if sorted(split.get(part, [])) != want[part]:
            bad("split.json", f"{part} is {sorted(split.get(part, []))}, seed {SEED} gives {want[part]}")
    if split.get("seed") != SEED:
        bad("split.json", f"seed {split.get('seed')} != {SEED}")
    if set(want["tune"]) | set(want["report"]) != docs:
        bad("split.json", "the two parts do not cover exactly the labelled documents")
    return {d: part for part in PARTS for d in want[part]}


def figure_key(doc: str, page: int, bbox: Any) -> tuple[str, int, tuple[float, ...]]:
    return doc, page, tuple(float(v) for v in bbox)


def check_questions(
    name: str,
    rows: list[dict[str, Any]],
    figs: list[dict[str, Any]] | None,
    doc_part: dict[str, str] | None,
    seen: set[str],
    bad: Report,
) -> None:
    """figs None: unanswerable questions. doc_part None: the split is per question, by seed."""
    by_key = {figure_key(f["doc"], f["page"], f["bbox"]): f for f in figs or []}
    by_page: dict[tuple[str, int], list[dict[str, Any]]] = defaultdict(list)
    for f in figs or []:
        by_page[(f["doc"], f["page"])].append(f)
    parts = question_parts([r.get("id", "") for r in rows]) if doc_part is None else {}
    for i, q in enumerate(rows, 1):
        where = f"{name}:{i}"
        if not question_fields_ok(where, q, seen, bad):
            continue
        want = doc_part.get(q["doc"]) if doc_part is not None else parts[q["id"]]
        if q["split"] != want:
            bad(where, f"split {q['split']!r}, expected {want!r}")
        if figs is None:
            if q["doc"] is not None or q["page"] is not None or q["label"] is not None:
                bad(where, "an unanswerable question has doc, page and label null")
            continue
        for alt in q.get("also") or []:
            if figure_key(alt["doc"], alt["page"], alt["bbox"]) not in by_key:
                bad(where, f"'also' names no labelled figure: {alt}")
        if q.get("bbox") is not None:
            f = by_key.get(figure_key(q["doc"], q["page"], q["bbox"]))
            if f is None:
                bad(where, f"no labelled figure {q['doc']} p{q['page']} {q['bbox']}")
            elif f.get("label") != q["label"]:
                bad(where, f"label {q['label']!r} but the figure's is {f.get('label')!r}")
            continue
        same_page = [f for f in by_page.get((q["doc"], q["page"]), []) if f.get("label") == q["label"]]
        if len(same_page) != 1:
            bad(where, f"{len(same_page)} figures match {q['doc']} p{q['page']} {q['label']!r}; give a bbox")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=Path, default=DEFAULT_DOCS, help="folder holding the labelled documents")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="the labelled corpus (figures.jsonl)")
    args = ap.parse_args()
    bad = Report()
    if not args.docs.is_dir():
        print(f"note: {args.docs} not found; boxes are not checked against page sizes")

    figs = read_jsonl(HERE / "figures.jsonl", bad)
    pages = {r["doc"]: set(r["pages"]) for r in read_jsonl(HERE / "pages.jsonl", bad)}
    check_figures(figs, pages, args.docs, bad)
    doc_part = check_split(json.loads((HERE / "split.json").read_text()), set(pages), bad)

    seen: set[str] = set()
    files = [("questions.jsonl", figs, doc_part), ("unanswerable.jsonl", None, None)]
    corpus_figs = args.corpus / "figures.jsonl"
    if corpus_figs.exists():
        files.append(("corpus_questions.jsonl", read_jsonl(corpus_figs, bad), None))
    elif (HERE / "corpus_questions.jsonl").exists():
        print(f"note: {corpus_figs} not found; corpus_questions.jsonl is not checked")
    sources: dict[str, dict[str, Any]] = {}
    for name, targets, part_of in files:
        if (HERE / name).exists():
            rows = read_jsonl(HERE / name, bad)
            check_questions(name, rows, targets, part_of, seen, bad)
            sources.update({r["id"]: r for r in rows if r.get("doc")})
    dev = args.corpus / "dev_queries.jsonl"
    if dev.exists() and (HERE / SHORT_FILE).exists():
        dev_part = {
            qid: half for half in PARTS for qid in json.loads((HERE / "dev_split.json").read_text())[half]
        }
        sources.update({r["id"]: {**r, "split": dev_part.get(r["id"])} for r in read_jsonl(dev, bad)})
        check_short_queries(read_jsonl(HERE / SHORT_FILE, bad), sources, seen, bad)
    elif (HERE / SHORT_FILE).exists():
        print(f"note: {dev} not found; {SHORT_FILE} is not checked")

    for line in bad.problems:
        print(line)
    n_pages = sum(len(p) for p in pages.values())
    print(
        f"{len(figs)} figures on {n_pages} labelled pages of {len(pages)} documents, {len(seen)} questions: "
        f"{len(bad.problems)} problem(s)"
    )
    return 1 if bad.problems else 0


if __name__ == "__main__":
    sys.exit(main())
