"""Score extracted figure units against a gold list (``figures.jsonl``): recall, precision, caption accuracy.

Rules (bench/extraction.py and the corpus regression test use the same):
- a unit matches a gold figure on the same doc and page when their boxes overlap with IoU >= 0.4, one to
  one (greedy, best IoU first);
- recall: matched gold / all gold;
- precision: matched units / units on pages that have gold figures (other pages have no ground truth);
- caption accuracy, over matched gold figures that have a label or caption: the unit's caption carries the
  gold label or the first words of the gold caption (case and spacing ignored);
- title accuracy, over matched gold figures that have a ``title`` (bench/labels): the unit's title has the
  same words (case and punctuation ignored), or starts with the gold title's first 4 words when it is longer;
- with ``labelled_pages`` (pages labelled completely, bench/labels/pages.jsonl), precision counts the units on
  all those pages, also the pages without any figure.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from figvault.geometry import MATCH_IOU, Box, iou, label_box_points

IOU_THRESHOLD = MATCH_IOU
CAPTION_PREFIX_WORDS = 4


@dataclass(frozen=True)
class GoldFigure:
    doc: str
    page: int
    bbox: Box
    kind: str
    label: str | None
    caption: str | None
    title: str | None = None
    content: str | None = None
    """What the figure shows (bench/labels: chart, diagram, screenshot, ...); None in the shared corpus."""


@dataclass(frozen=True)
class Prediction:
    doc: str
    page: int
    bbox: Box
    kind: str
    label: str | None
    caption: str
    title: str = ""


@dataclass
class Tally:
    gold: int = 0
    matched: int = 0
    predicted: int = 0
    """Units on pages that have gold figures."""
    matched_units: int = 0
    captioned: int = 0
    """Matched gold figures that have a label or caption."""
    caption_ok: int = 0
    titled: int = 0
    """Matched gold figures that have a title."""
    title_ok: int = 0

    @property
    def recall(self) -> float:
        return self.matched / self.gold if self.gold else 0.0

    @property
    def precision(self) -> float:
        return self.matched_units / self.predicted if self.predicted else 0.0

    @property
    def caption_accuracy(self) -> float:
        return self.caption_ok / self.captioned if self.captioned else 1.0

    @property
    def title_accuracy(self) -> float:
        return self.title_ok / self.titled if self.titled else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            "gold": self.gold,
            "matched": self.matched,
            "units_on_gold_pages": self.predicted,
            "recall": round(self.recall, 4),
            "precision": round(self.precision, 4),
            "captioned": self.captioned,
            "caption_ok": self.caption_ok,
            "caption_accuracy": round(self.caption_accuracy, 4),
            "titled": self.titled,
            "title_ok": self.title_ok,
            "title_accuracy": round(self.title_accuracy, 4),
        }


@dataclass
class Score:
    total: Tally = field(default_factory=Tally)
    by_kind: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_doc: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_content: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    """Gold figures by what they show (only for gold lists that say it)."""
    misses: list[GoldFigure] = field(default_factory=list)
    false_units: list[Prediction] = field(default_factory=list)
    wrong_captions: list[tuple[GoldFigure, Prediction]] = field(default_factory=list)
    wrong_titles: list[tuple[GoldFigure, Prediction]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total.as_dict(),
            "by_kind": {k: t.as_dict() for k, t in sorted(self.by_kind.items())},
            "by_doc": {k: t.as_dict() for k, t in sorted(self.by_doc.items())},
            "by_content": {k: t.as_dict() for k, t in sorted(self.by_content.items())},
        }


def load_gold(path: Path, docs: Iterable[str] | None = None) -> list[GoldFigure]:
    wanted = set(docs) if docs is not None else None
    gold = []
    for line in path.read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if wanted is not None and row["doc"] not in wanted:
            continue
        bbox = label_box_points(row["doc"], tuple(float(v) for v in row["bbox"]))
        gold.append(
            GoldFigure(
                doc=row["doc"],
                page=int(row["page"]),
                bbox=bbox,
                kind=row.get("kind") or "unknown",
                label=row.get("label"),
                caption=row.get("caption"),
                title=row.get("title"),
                content=row.get("content"),
            )
        )
    return gold


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def caption_matches(gold: GoldFigure, caption: str) -> bool:
    have = _squash(caption)
    if not have:
        return False
    if gold.label and re.search(rf"{re.escape(_squash(gold.label))}(?!\d)", have):
        return True
    if gold.caption:
        prefix = " ".join(_squash(gold.caption).split()[:CAPTION_PREFIX_WORDS])
        return bool(prefix) and prefix in have
    return False


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def title_matches(gold: GoldFigure, title: str) -> bool:
    want, have = _words(gold.title or ""), _words(title)
    if not want or not have:
        return False
    n = CAPTION_PREFIX_WORDS
    return have == want or (len(want) > n and have[:n] == want[:n])


def score(
    gold: list[GoldFigure],
    predictions: list[Prediction],
    labelled_pages: Iterable[tuple[str, int]] | None = None,
) -> Score:
    """Match units to gold figures; ``labelled_pages``: also score pages labelled as having no figure."""
    result = Score()
    gold_pages: dict[tuple[str, int], list[GoldFigure]] = defaultdict(list)
    for key in labelled_pages or ():
        gold_pages[key] = []
    for g in gold:
        gold_pages[(g.doc, g.page)].append(g)
    pred_pages: dict[tuple[str, int], list[Prediction]] = defaultdict(list)
    for p in predictions:
        pred_pages[(p.doc, p.page)].append(p)
    for key, golds in gold_pages.items():
        _score_page(result, key[0], golds, pred_pages.get(key, []))
    return result


def _score_page(result: Score, doc: str, golds: list[GoldFigure], preds: list[Prediction]) -> None:
    """Add one page's gold figures and units to ``result``."""
    used_g = _match(golds, preds)
    used_p = set(used_g.values())
    doc_tally = result.by_doc[doc]
    for tally in (result.total, doc_tally):
        tally.predicted += len(preds)
        tally.matched_units += len(used_p)
    for gi, g in enumerate(golds):
        tallies: tuple[Tally, ...] = (result.total, doc_tally, result.by_kind[g.kind])
        if g.content:
            tallies += (result.by_content[g.content],)
        for tally in tallies:
            tally.gold += 1
        if gi not in used_g:
            result.misses.append(g)
            continue
        _score_match(result, tallies, g, preds[used_g[gi]])
    for pi, p in enumerate(preds):
        if pi not in used_p:
            result.false_units.append(p)


def _match(golds: list[GoldFigure], preds: list[Prediction]) -> dict[int, int]:
    """Gold index -> unit index, one to one, greedily by overlap (at least IOU_THRESHOLD)."""
    # Best overlap first; between equal overlaps (two gold figures sharing one box), the pair whose
    # caption agrees wins, so that the tie does not decide the caption score.
    pairs = sorted(
        (
            (round(iou(g.bbox, p.bbox), 6), caption_matches(g, p.caption), gi, pi)
            for gi, g in enumerate(golds)
            for pi, p in enumerate(preds)
        ),
        key=lambda t: (t[0], t[1], -t[2], -t[3]),
        reverse=True,
    )
    used_g: dict[int, int] = {}
    used_p: set[int] = set()
    for overlap, _, gi, pi in pairs:
        if overlap < IOU_THRESHOLD:
            break
        if gi in used_g or pi in used_p:
            continue
        used_g[gi] = pi
        used_p.add(pi)
    return used_g


def _score_match(result: Score, tallies: tuple[Tally, ...], g: GoldFigure, pred: Prediction) -> None:
    """Count gold figure ``g`` found as unit ``pred``: matched, and its caption and title right or not."""
    has_caption = bool(g.label or g.caption)
    ok = has_caption and caption_matches(g, pred.caption)
    for tally in tallies:
        tally.matched += 1
        if has_caption:
            tally.captioned += 1
            tally.caption_ok += int(ok)
    if has_caption and not ok:
        result.wrong_captions.append((g, pred))
    if g.title:
        title_ok = title_matches(g, pred.title)
        for tally in tallies:
            tally.titled += 1
            tally.title_ok += int(title_ok)
        if not title_ok:
            result.wrong_titles.append((g, pred))
