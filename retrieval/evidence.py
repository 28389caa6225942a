"""What a search knows about its top candidates besides the channel scores, and how it reorders them.

- **Hints** a question states explicitly: that it wants a slide (a landscape page or a PPTX slide) or a page
  of a paper or report (portrait), a photo or screenshot (a picture), and which document (its name words).
  They are soft priors: a matching candidate's fused score is raised by a tuned factor, nothing is removed.
- **Own words**: the share of the question's content terms that a figure's own text carries (label, title,
  caption, the words inside it, OCR included). Figures of one page share their page text and document name,
  so a soft prior on the own words raises the figure that itself says what was asked over its neighbours
  ("tell neighbours apart"); the older neighbour rule (the leading candidates of one document reordered by
  their own words) stays, off.
- **Document support**: a document several of whose figures the channels recalled near the top is more
  likely the one asked about; a soft prior raises each candidate by its document's share of the fetched
  candidates' fused score (relative to the best document's), against look-alike figures of other documents.
- **Coverage and agreement**, the features of the offline "no good match" decision (``no_match.py``).

Everything here reads only the caller's own candidates (their rows came out of the caller's filtered
search), so what other callers upload cannot change it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from figvault.search_names import PRIOR_KEYS
from figvault.settings import SearchSettings

_WORD = re.compile(r"\w+", re.UNICODE)


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _words(
    """a an and are as at be but by can do does for from has have how if in into is it its itself me my no
    not of on or our show shows showing such than that the their them then there these they this those to
    vs was were what when where which who why will with within without you your one two where's
    figure figures fig picture pictures image images diagram diagrams chart charts plot plots graph
    slide slides deck paper report page"""
)
"""Function words, and the words every figure question uses ("figure", "slide", "chart"): they say what
kind of thing is wanted (see HINTS) but not which one."""

SLIDE_WORDS = _words("slide slides deck decks talk presentation keynote webinar call")
PAPER_WORDS = _words("paper papers report whitepaper handbook spec specification guide manual article")
PICTURE_WORDS = _words("photo photos photograph screenshot screenshots screen picture")
PICTURE_KINDS = frozenset({"raster", "picture"})
LANDSCAPE = 1.2
"""A page this much wider than tall is a slide (decks exported to PDF keep the slide's shape)."""


def doc_name_words(doc: str) -> str:
    """A file name as words, as the lexical field has it: no extension, ``-`` and ``_`` as spaces."""
    return doc.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")


def terms(text: str) -> set[str]:
    """Lowercased word stems (a plural's s dropped) without stop words."""
    out = set()
    for word in _WORD.findall(text.lower()):
        if word in STOP_WORDS or len(word) < 2:
            continue
        out.add(word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word)
    return out


PRIORS = PRIOR_KEYS
"""The keys of ``search.priors`` (settings refuse any other); each sets ``EvidenceParams.<key>_prior``."""


@dataclass(frozen=True)
class EvidenceParams:
    """Tuned on the tuning half only (bench/tune_retrieval.py); defaults are in ``SearchSettings``."""

    slide_prior: float = 0.0
    paper_prior: float = 0.0
    picture_prior: float = 0.0
    document_prior: float = 0.0
    own_words_prior: float = 0.0
    """A fused score is raised by this times the share of the question's content terms in the figure's own
    words (``Candidate.own_text``)."""
    document_support_prior: float = 0.0
    """A fused score is raised by this times its document's support among the candidates
    (``document_support``)."""
    neighbour_depth: int = 0
    """How many leading candidates the neighbour rule looks at (0: off)."""
    neighbour_margin: float = 0.0
    """A candidate moves ahead of a neighbour only when its own words cover this much more of the question."""

    @classmethod
    def from_settings(cls, search: SearchSettings) -> EvidenceParams:
        priors = {f"{name}_prior": search.priors.get(name, 0.0) for name in PRIORS}
        return cls(
            **priors,
            neighbour_depth=search.neighbour_depth,
            neighbour_margin=search.neighbour_margin,
        )


@dataclass
class Candidate:
    """One recalled unit with its stored row: the input of the reordering and of no_match."""

    unit_id: str
    fused: float
    channel_scores: dict[str, float]
    row: Mapping[str, Any]
    score: float = 0.0
    """Fused score after the priors; what the final order is by."""
    notes: dict[str, float] = field(default_factory=dict)

    @property
    def doc(self) -> str:
        return str(self.row.get("doc", ""))

    @property
    def document(self) -> str:
        """Which document this is: its id (two documents may share a name), else its name (older rows)."""
        return str(self.row.get("doc_id") or self.doc)

    def own_text(self) -> str:
        parts = (self.row.get(k) or "" for k in ("label", "title", "caption", "figure_text"))
        return "\n".join(parts)

    def full_text(self) -> str:
        meta = self.row.get("meta") or {}
        title = meta.get("title") if isinstance(meta, Mapping) else None
        parts = [self.own_text(), self.row.get("context") or "", doc_name_words(self.doc), title or ""]
        return "\n".join(parts)

    def is_slide(self) -> bool:
        if self.doc.lower().endswith(".pptx"):
            return True
        geometry = self.row.get("geometry") or {}
        width, height = (geometry.get("page_size") or (0.0, 0.0))[:2]
        return bool(height) and width > LANDSCAPE * height


def coverage(question_terms: set[str], text: str) -> float:
    """Share of the question's content terms found in ``text`` (0 when the question has none)."""
    return term_share(question_terms, terms(text)) if question_terms else 0.0


def term_share(question_terms: set[str], found: set[str]) -> float:
    """``coverage`` on the terms of a text already made (0 when the question has none)."""
    return len(question_terms & found) / len(question_terms) if question_terms else 0.0


def question_words(question: str) -> set[str]:
    return {w for w in _WORD.findall(question.lower())}


def document_support(candidates: Sequence[Candidate]) -> dict[str, float]:
    """Per document, the sum of its candidates' fused scores over the best document's sum (1.0 for the best
    document): how strongly the channels recalled the document as a whole among these candidates."""
    sums: dict[str, float] = {}
    for c in candidates:
        sums[c.document] = sums.get(c.document, 0.0) + c.fused
    best = max(sums.values(), default=0.0)
    return {doc: total / best if best > 0 else 0.0 for doc, total in sums.items()}


def apply_priors(question: str, candidates: Sequence[Candidate], params: EvidenceParams) -> None:
    """Set each candidate's ``score``: its fused score raised by the hints it matches."""
    words = question_words(question)
    wants_slide, wants_paper = bool(words & SLIDE_WORDS), bool(words & PAPER_WORDS)
    wants_picture = bool(words & PICTURE_WORDS)
    asked = terms(question)
    support = document_support(candidates) if params.document_support_prior else {}
    for c in candidates:
        factor = 1.0
        if wants_slide and not wants_paper and c.is_slide():
            factor += params.slide_prior
        if wants_paper and not wants_slide and not c.is_slide():
            factor += params.paper_prior
        if wants_picture and str(c.row.get("kind", "")) in PICTURE_KINDS:
            factor += params.picture_prior
        if params.document_prior and asked & terms(doc_name_words(c.doc)):
            factor += params.document_prior
        if params.own_words_prior:
            c.notes["own_coverage"] = coverage(asked, c.own_text())
            factor += params.own_words_prior * c.notes["own_coverage"]
        if support:
            factor += params.document_support_prior * support[c.document]
        c.score = c.fused * factor


def order_neighbours(question: str, candidates: list[Candidate], params: EvidenceParams) -> list[Candidate]:
    """Among the leading candidates from the first one's document, the figure whose own words cover more of
    the question goes first (by at least ``neighbour_margin``); the rest keep their order."""
    depth = min(params.neighbour_depth, len(candidates))
    if depth < 2:
        return candidates
    asked = terms(question)
    lead_doc = candidates[0].document
    slots = [i for i in range(depth) if candidates[i].document == lead_doc]
    group = [candidates[i] for i in slots]
    for c in group:
        c.notes["own_coverage"] = coverage(asked, c.own_text())
    best = max(group, key=lambda c: c.notes["own_coverage"])
    if (
        best is group[0]
        or best.notes["own_coverage"] < group[0].notes["own_coverage"] + params.neighbour_margin
    ):
        return candidates
    ordered = [best, *[c for c in group if c is not best]]
    out = list(candidates)
    for slot, c in zip(slots, ordered, strict=True):
        out[slot] = c
    return out


def reorder(question: str, candidates: Iterable[Candidate], params: EvidenceParams) -> list[Candidate]:
    """Priors, then the final order by score, then the neighbour rule."""
    ranked = list(candidates)
    apply_priors(question, ranked, params)
    ranked.sort(key=lambda c: -c.score)  # stable: fusion's tie order is kept
    return order_neighbours(question, ranked, params)
