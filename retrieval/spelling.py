""" "Did you mean ...": a question flagged ``no_match`` whose words match nothing the caller may see (a typo,
"raft leder electon") spelled again with words of the units the caller may see.

Only a question already flagged ``no_match`` is looked at, and only its answer gains a suggestion: the
decision itself (``retrieval/no_match.py``) is untouched, so its calibration for correctly spelled
questions cannot move. Candidates are the terms of the caller's own access codes (``IndexView.visible_terms``
in the caller's ``Scope``: the same tenant and access keys as the lexical recall), a candidate is kept only
when a live unit the caller may see holds it (``IndexView.units_holding``), and the word shown is read from
such a unit's own text (the dictionary holds stems: "elect", not "election"). Another tenant's or group's
vocabulary can never appear in it, crowd the caller's words out of the candidates, or lengthen the step
(its time is the answer's ``timings["did_you_mean"]``): before 2026-12-06 the candidates were read from the
whole dictionary, every tenant's terms, so both did.
"""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from figvault.retrieval.lexical_index import IndexView, Scope
from figvault.retrieval.lexical_text import field_texts

MIN_CHARS = 4
"""Shorter words have too many near neighbours to correct ("ram" -> "raw", "rat", "ran")."""
CUTOFF = 0.75
"""difflib's similarity a replacement needs: one letter dropped from a 5-letter word is 0.91, "electon" to
the stem "elect" 0.83; two unrelated words of the same first letter rarely pass it."""
STEMS = 3
"""Visible near terms whose written words compete for the replacement."""
SAMPLE_UNITS = 8
"""Units read, per term, for its words as written."""
_WORD = re.compile(r"\w+", re.UNICODE)

RowsOf = Callable[[list[str]], Iterable[Mapping[str, Any]]]
"""Stored rows (with their text fields) of the given unit ids."""


def did_you_mean(view: IndexView, question: str, scope: Scope, rows_of: RowsOf) -> str | None:
    """``question`` with each word that no unit visible in ``scope`` holds replaced by the closest word
    that one does hold; None when no word needs it or none has a replacement."""
    stems = {
        word: stem
        for word in dict.fromkeys(w.lower() for w in _WORD.findall(question))
        if (stem := _stem_to_check(view, word)) is not None
    }
    if not stems:
        return None
    # One pass over the caller's rows for every word (most no_match answers have no unknown word at all).
    unknown = [
        (w, stem)
        for (w, stem), held in zip(stems.items(), view.held(list(stems.values()), scope), strict=True)
        if not held
    ]
    replaced: dict[str, str] = {}
    vocabulary = view.visible_terms(scope) if unknown else []
    for word, stem in unknown:
        better = _replacement(view, word, stem, vocabulary, scope, rows_of)
        if better is not None and better != word:
            replaced[word] = better
    if not replaced:
        return None
    return _WORD.sub(lambda m: replaced.get(m.group(0).lower(), m.group(0)), question)


def _replacement(
    view: IndexView, word: str, stem: str, vocabulary: list[str], scope: Scope, rows_of: RowsOf
) -> str | None:
    """The word of a visible unit's text nearest ``word``, whose term ``stem`` no visible unit holds:
    the nearest few visible terms (stems) give their words as written, and the word nearest what was typed
    wins ("electon": "election" of the stem "elect", not "electorate" of the nearer stem "elector")."""
    written: set[str] = set()
    for term in _near_visible(view, stem, vocabulary, scope):
        written |= _written(view, term, rows_of(view.units_holding(term, scope, SAMPLE_UNITS)))
    if not written:
        return None
    best = max(sorted(written), key=lambda w: difflib.SequenceMatcher(None, word, w).ratio())
    # The stems were near; the word shown must be near what was typed too: "capital" (stem "capit") came
    # back as "cat", a stem 0.75 alike, a word 0.6.
    return best if difflib.SequenceMatcher(None, word, best).ratio() >= CUTOFF else None


def _stem_to_check(view: IndexView, word: str) -> str | None:
    """The analyzed term of ``word`` when it is a word that could be corrected: letters only, long enough,
    not a stop word (whether a visible unit holds it is ``IndexView.held``'s)."""
    if len(word) < MIN_CHARS or not word.isalpha():
        return None
    terms = view.analyzer.terms(word)
    return terms[0] if len(terms) == 1 else None


def _near_visible(view: IndexView, stem: str, vocabulary: list[str], scope: Scope) -> list[str]:
    """The terms of the caller's ``vocabulary`` nearest ``stem`` (same first letter, length within 3, closest
    first) that a live unit visible in ``scope`` holds: at most ``STEMS``. Every close term is tried, closest
    first, until STEMS are found: the vocabulary keeps a deleted row's terms until its segment is merged, and
    a cap on the tries let 20 of those nearer the typo leave no suggestion (the tries grow with the caller's
    own vocabulary only)."""
    near = [t for t in vocabulary if t[:1] == stem[:1] and abs(len(t) - len(stem)) <= 3]
    close = difflib.get_close_matches(stem, near, n=max(1, len(near)), cutoff=CUTOFF)
    live = (t for t in close if t != stem and view.units_holding(t, scope, 1))
    return list(itertools.islice(live, STEMS))


def _written(view: IndexView, stem: str, rows: Iterable[Mapping[str, Any]]) -> set[str]:
    """The words of ``rows``' texts whose term is ``stem``, as written (lowercased)."""
    return {
        word
        for row in rows
        for text in field_texts(row)
        for word in _WORD.findall(text.lower())
        if word[:1] == stem[:1] and view.analyzer.terms(word) == [stem]
    }
