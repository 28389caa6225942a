"""The names the search settings take, one definition each: ``figvault/settings.py`` refuses any other at
load, and the retrieval code that reads them imports them from here (the core package imports no part of
figvault: tests/core/test_layering.py).
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import Any

SEARCH_CHANNELS = ("clip", "text", "lexical")
"""The channels a search ranks by: the keys of ``search.weights``."""

PRIOR_KEYS = ("slide", "paper", "picture", "document", "own_words", "document_support")
"""The keys of ``search.priors``; each sets ``retrieval.evidence.EvidenceParams.<key>_prior``."""

NO_MATCH_FEATURES = (
    "text",
    "lexical",
    "lexical_scaled",
    "coverage",
    "coverage5",
    "coverage_document",
    "agree",
    "own",
)
"""The no-match model's features (``retrieval/no_match.py``); a weight missing from the settings counts as 0
(weights fitted before a feature existed keep working)."""

NO_MATCH_WEIGHT_KEYS = ("bias", *NO_MATCH_FEATURES)
"""The keys of ``search.no_match_weights`` (a misspelt one would count 0)."""

LEXICAL_FIELDS: tuple[str, ...] = ("title", "caption", "figure_text", "context", "page_text", "document")
"""The lexical fields, in the index's column order: the keys of ``lexical.field_weights`` and ``field_b``."""


@lru_cache(maxsize=8)
def load_stemmer(name: str) -> Any:
    """The word stemmer of ``lexical.stemmer`` (None for ``none``); settings call it to refuse a bad name."""
    if name == "none":
        return None
    import Stemmer  # PyStemmer: the Snowball stemmers in C

    try:
        return Stemmer.Stemmer(name).stemWords
    except KeyError as exc:
        close = difflib.get_close_matches(name, Stemmer.algorithms(), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(
            f"unknown stemmer {name!r}{hint}: use 'english', another Snowball language, or 'none'"
        ) from exc
