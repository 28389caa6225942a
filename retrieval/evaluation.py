"""Figure-level retrieval evaluation: recall@1/5/10 and MRR over a JSONL file of questions.

A query line: ``{"id", "query", "doc", "page", "label", "bbox", "split", "also"}``. A result is a hit
when it has the same document and page, the same label when the query names one, and a box overlapping the
query's ``bbox`` (IoU >= ``MATCH_IOU``, the extraction scoring's rule) when it names one: a page can hold
several figures that have no label. ``also`` lists copies of the answer (``{"doc", "page", "label",
"bbox"}``, a repeated slide) that count as hits too, and so does a result whose collapsed ``also_in`` holds
the answer or a copy (one figure shown once, ``retrieval/duplicates.py``). Queries whose ``doc`` is null
have no answer in the corpus: they are counted apart (how often search said "no match" for them).
``split`` ("tune" or "report") says which half a question belongs to: thresholds and weights are chosen on
"tune" questions only, and "report" questions are only ever reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ValidationError

from figvault.errors import FigvaultError
from figvault.geometry import MATCH_IOU, Box, iou, label_box_points
from figvault.search_models import SearchHit, SearchResponse

CUTOFFS = (1, 5, 10)


class Target(BaseModel):
    """Another figure that answers a question equally (a repeated slide, a pixel-identical copy)."""

    doc: str
    page: int
    label: str | None = None
    bbox: Box | None = None


class EvalQuery(BaseModel):
    id: str
    query: str
    doc: str | None = None
    page: int | None = None
    label: str | None = None
    bbox: Box | None = None
    """The answer's box, top-left origin, as the label files give boxes: points for a PDF, EMU for a PPTX
    (as ``figures.jsonl``); for pages with several figures."""
    split: Literal["tune", "report"] | None = None
    also: list[Target] = []
    """Copies of the answer elsewhere; a result matching any of them is a hit too."""


def load_queries(path: Path) -> list[EvalQuery]:
    queries: list[EvalQuery] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise FigvaultError(f"cannot read {path}: {exc.strerror or exc}") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            queries.append(EvalQuery.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise FigvaultError(f"{path}:{number}: {first['loc']}: {first['msg']}") from None
    return queries


def _norm_label(label: str | None) -> str:
    return re.sub(r"\s+", " ", (label or "").strip().rstrip(":.")).lower()


def is_hit(query: EvalQuery, doc: str, page: int, label: str | None, bbox: Box | None = None) -> bool:
    if query.doc is None:
        return False
    targets = [Target(doc=query.doc, page=query.page or 0, label=query.label, bbox=query.bbox), *query.also]
    return any(_matches(t, doc, page, label, bbox) for t in targets)


def _matches(target: Target, doc: str, page: int, label: str | None, bbox: Box | None) -> bool:
    if doc != target.doc or page != target.page:
        return False
    if target.label is not None and _norm_label(label) != _norm_label(target.label):
        return False
    if target.bbox is None:
        return True
    return bbox is not None and iou(label_box_points(target.doc, target.bbox), bbox) >= MATCH_IOU


def first_hit_rank(query: EvalQuery, hits: Sequence[SearchHit]) -> int | None:
    for rank, hit in enumerate(hits, start=1):
        places = [(hit.doc, hit.page, hit.label, hit.bbox)]
        places += [(ref.doc, ref.page, ref.label, ref.bbox) for ref in hit.also_in]
        if any(is_hit(query, *place) for place in places):
            return rank
    return None


def rank_metrics(ranks: Sequence[int | None]) -> dict[str, float]:
    """Recall at each of ``CUTOFFS`` (``R@k``) and the mean reciprocal rank (``MRR``) of first-hit ranks
    (None: not found), over every query of ``ranks``."""
    n = len(ranks) or 1
    out = {f"R@{k}": sum(1 for r in ranks if r is not None and r <= k) / n for k in CUTOFFS}
    out["MRR"] = sum(1.0 / r for r in ranks if r is not None) / n
    return out


def select_split(queries: Iterable[EvalQuery], split: str | None) -> list[EvalQuery]:
    """The queries of one half (all of them when ``split`` is None)."""
    return [q for q in queries if split is None or q.split == split]


@dataclass
class EvalResult:
    answerable: int = 0
    unanswerable: int = 0
    unanswerable_no_match: int = 0
    """Unanswerable queries for which search said no_match (the right answer)."""
    hits_at: dict[int, int] = field(default_factory=lambda: dict.fromkeys(CUTOFFS, 0))
    reciprocal_rank_sum: float = 0.0
    per_query: list[dict[str, Any]] = field(default_factory=list)

    def recall(self, k: int) -> float:
        return self.hits_at[k] / self.answerable if self.answerable else 0.0

    @property
    def mrr(self) -> float:
        return self.reciprocal_rank_sum / self.answerable if self.answerable else 0.0

    def metrics(self) -> dict[str, Any]:
        return {
            "queries": self.answerable + self.unanswerable,
            "answerable": self.answerable,
            **{f"recall@{k}": round(self.recall(k), 4) for k in CUTOFFS},
            "mrr": round(self.mrr, 4),
            "unanswerable": self.unanswerable,
            "unanswerable_no_match": self.unanswerable_no_match,
        }

    def add(self, query: EvalQuery, response: SearchResponse) -> None:
        rank = None
        if query.doc is None:
            self.unanswerable += 1
            self.unanswerable_no_match += int(response.no_match)
        else:
            self.answerable += 1
            rank = first_hit_rank(query, response.results)
            if rank is not None:
                for k in CUTOFFS:
                    self.hits_at[k] += int(rank <= k)
                self.reciprocal_rank_sum += 1.0 / rank
        self.per_query.append({"id": query.id, "rank": rank, "no_match": response.no_match})


def result_line(query: EvalQuery, response: SearchResponse, top_k: int | None = None) -> dict[str, Any]:
    """One ``--results`` line (stable format): the first ``top_k`` results (None: all)."""
    return {
        "id": query.id,
        "results": [
            {
                "unit_id": h.unit_id,
                "doc": h.doc,
                "page": h.page,
                "label": h.label,
                "bbox": list(h.bbox),
                "score": h.score,
                "also_in": [
                    {
                        "unit_id": c.unit_id,
                        "doc": c.doc,
                        "page": c.page,
                        "label": c.label,
                        "bbox": list(c.bbox),
                    }
                    for c in h.also_in
                ],
            }
            for h in response.results[:top_k]
        ],
        "no_match": response.no_match,
    }


def evaluate(
    queries: Iterable[EvalQuery],
    run_query: Callable[[EvalQuery], SearchResponse],
    *,
    results_out: Any | None = None,
    results_top_k: int | None = None,
) -> EvalResult:
    """Run every query through ``run_query``; write ``--results`` lines to ``results_out`` if given, each with
    its first ``results_top_k`` results (None: all; the scores read every result the query returned)."""
    result = EvalResult()
    for query in queries:
        response = run_query(query)
        result.add(query, response)
        if results_out is not None:
            line = result_line(query, response, results_top_k)
            results_out.write(json.dumps(line, ensure_ascii=False) + "\n")
    return result
