"""'No good match' without the VLM: a calibrated decision from the first stage's own evidence.

Features of one search (all from the caller's own candidates, so other callers' uploads cannot change them):

- ``text``: the best text-channel cosine among the candidates (how close the nearest caption is in meaning);
- ``lexical``: log(1 + the best BM25 score), the lexical channel's strongest match;
- ``lexical_scaled``: log(1 + the best BM25 score / ln(1 + N)), N the units the caller may see (the BM25's
  own N): a term's IDF, and so every BM25 score, grows with ln N, so raw scores of one question are higher in
  a bigger store and a model fitted at one size refuses more answerable questions at another; the scaled
  score transfers (docs/retrieval.md, 2026-12-04). Without N (no lexical channel) it is ``lexical``;
- ``coverage``: the share of the question's content terms found in the top candidate's text (its own words,
  nearby text and document name); ``coverage5``: the best such share among the top five;
- ``coverage_document``: the share found in the texts of every fetched candidate of the top candidate's
  document together: the evidence of the figure's document, which still has the asked words when the figure
  itself is an untitled chart panel whose own text is short (docs/retrieval.md, 2026-12-04 night);
- ``own``: the share of the question's content terms in the top candidate's own words (label, title,
  caption, in-figure and OCR words: ``Candidate.own_text``), without the page text it shares with its
  neighbours;
- ``agree``: 1 when the top candidate is also the best of the text channel and of the lexical channel among
  the candidates (the channels agree on it), else 0.

A logistic model ``P(answerable) = sigmoid(bias + sum w_f * f)`` fitted on the tuning half's answerable and
unanswerable questions, written ones and search-box queries of 2-6 words together
(``bench/tune_retrieval.py``; it reads ``text``, ``lexical_scaled``, ``coverage`` and ``coverage_document``;
fitted on written questions alone it refused 15% of answerable short queries, some with the answer ranked
first); a search says ``no_match`` when the probability is below ``search.no_match_threshold``, chosen on the
tuning half's out-of-fold probabilities with whole documents held out so that at most 5% of their answerable
questions are refused. The weights live in settings (``search.no_match_weights``; the keys of earlier fits
still work); empty weights turn the decision off.

A search of at most ``KEYWORD_TERMS`` content terms is a keyword lookup, which the model reads badly (nearly
all it was fitted on have 3 or more content terms): a lone word's text cosine is low whatever the store holds,
so the model refused "raft" over a store about Raft. Such a search says no_match only when none of its terms
is in the top candidate's document (``coverage_document`` 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from figvault.retrieval.evidence import Candidate, coverage, term_share, terms
from figvault.retrieval.schema import LEXICAL
from figvault.search_names import NO_MATCH_FEATURES, NO_MATCH_WEIGHT_KEYS

FEATURES = NO_MATCH_FEATURES
"""A weight missing from the settings counts as 0 (weights fitted before a feature existed keep working)."""
WEIGHT_KEYS = NO_MATCH_WEIGHT_KEYS
"""The keys of ``search.no_match_weights`` (settings refuse any other: a misspelt one would count 0)."""

KEYWORD_TERMS = 2
"""Searches of at most this many content terms are keyword lookups (see the module's docstring)."""


def features(
    question: str, candidates: Sequence[Candidate], store_rows: int | None = None
) -> dict[str, float]:
    """The decision's inputs for ``candidates`` in their final order (best first); ``store_rows``: how many
    units the caller may see (``lexical_scaled``'s N)."""
    if not candidates:
        return dict.fromkeys(FEATURES, 0.0)
    asked = terms(question)
    text = [c.channel_scores.get("text", 0.0) for c in candidates]
    lexical = [abs(c.channel_scores.get(LEXICAL, 0.0)) for c in candidates]
    top = candidates[0]
    # Terms only of the texts read: the top five's and those of the top candidate's document.
    full = {i: terms(c.full_text()) for i, c in enumerate(candidates) if i < 5 or c.document == top.document}
    covered = [term_share(asked, full[i]) for i in range(min(5, len(candidates)))]
    document = set().union(*(full[i] for i, c in enumerate(candidates) if c.document == top.document))
    own = top.notes.get("own_coverage")  # set by the own-words prior when it is on
    agree = top.channel_scores.get("text", 0.0) >= max(text) and abs(
        top.channel_scores.get(LEXICAL, 0.0)
    ) >= max(lexical)
    scale = math.log1p(store_rows) if store_rows else 1.0
    return {
        "text": max(text),
        "lexical": math.log1p(max(lexical)),
        "lexical_scaled": math.log1p(max(lexical) / scale),
        "coverage": covered[0],
        "coverage5": max(covered),
        "coverage_document": term_share(asked, document),
        "agree": float(agree and max(lexical) > 0),
        "own": own if own is not None else coverage(asked, top.own_text()),
    }


def answerable_probability(values: Mapping[str, float], weights: Mapping[str, float]) -> float:
    z = weights.get("bias", 0.0) + sum(weights.get(name, 0.0) * values.get(name, 0.0) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


def decide(
    question: str,
    candidates: Sequence[Candidate],
    weights: Mapping[str, float],
    threshold: float,
    store_rows: int | None = None,
) -> tuple[bool, float | None]:
    """(no_match, P(answerable)); never no_match when the decision is off (no weights)."""
    if not candidates:
        return True, 0.0
    if not weights:
        return False, None
    values = features(question, candidates, store_rows)
    probability = answerable_probability(values, weights)
    if len(terms(question)) <= KEYWORD_TERMS:
        return values["coverage_document"] == 0.0, probability
    return probability < threshold, probability
