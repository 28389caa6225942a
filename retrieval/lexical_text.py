"""What the lexical channel reads: the text fields of a stored unit row, and how text becomes terms.

One definition of each: ``field_texts`` (a stored row -> the text of each field, in the fixed order of
``figvault.search_names.LEXICAL_FIELDS``, the fields BM25F weighs separately) and ``Analyzer`` (text ->
terms). The index (``lexical_index.py``) and the evaluation's reference scorer both use these, so they
cannot disagree.

The analyzer splits on ``\\w+`` and lowercases (what Milvus's ``standard`` analyzer did), drops the Lucene
English stop words (they sit in nearly every unit: scoring them touches every row for almost no signal) and
stems with the Snowball English stemmer (PyStemmer), so "followers" meets "follower" and "logs" meets "log".
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

from figvault.retrieval.schema import (
    F_CAPTION,
    F_CONTEXT,
    F_DOC,
    F_FIGURE_TEXT,
    F_LABEL,
    F_META,
    F_PAGE_TEXT,
    F_TITLE,
    doc_name_words,
)
from figvault.search_names import load_stemmer

SOURCE_FIELDS: tuple[str, ...] = (
    F_TITLE,
    F_LABEL,
    F_CAPTION,
    F_FIGURE_TEXT,
    F_CONTEXT,
    F_PAGE_TEXT,
    F_DOC,
    F_META,
)
"""The stored row fields ``field_texts`` reads (a collection without ``title`` simply lacks it)."""

# fmt: off
ENGLISH_STOP_WORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no",
    "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to",
    "was", "will", "with",
))
# fmt: on
"""Lucene's default English stop set (EnglishAnalyzer): frequent words whose postings are nearly every row."""

_WORD = re.compile(r"\w+", re.UNICODE)
ANALYZER_SCHEME = 1
"""Bump when the analyzer's behaviour changes: stored indexes built with another scheme are rebuilt."""


def field_texts(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The text of each of ``LEXICAL_FIELDS`` for one stored row (Milvus field names)."""
    meta = row.get(F_META) or {}
    if isinstance(meta, str):  # some clients hand JSON fields back as text
        meta = json.loads(meta or "{}")
    label = row.get(F_LABEL) or ""
    caption = row.get(F_CAPTION) or ""
    document = " ".join(p for p in (doc_name_words(row.get(F_DOC) or ""), meta.get("title") or "") if p)
    return (
        row.get(F_TITLE) or "",
        f"{label}\n{caption}" if label else caption,
        row.get(F_FIGURE_TEXT) or "",
        row.get(F_CONTEXT) or "",
        row.get(F_PAGE_TEXT) or "",
        document,
    )


class Analyzer:
    """Text -> terms: ``\\w+``, lowercase, stop words out, Snowball stems (``stemmer="none"``: none)."""

    def __init__(self, stemmer: str = "english", stop_words: bool = True) -> None:
        self.stemmer_name = stemmer
        self.stop_words = ENGLISH_STOP_WORDS if stop_words else frozenset()
        self._stem = load_stemmer(stemmer)

    @property
    def fingerprint(self) -> str:
        """Identifies what this analyzer produces (an index built by another one is rebuilt)."""
        spec = {"scheme": ANALYZER_SCHEME, "stemmer": self.stemmer_name, "stop": sorted(self.stop_words)}
        return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:16]

    def terms(self, text: str) -> list[str]:
        words = [w for w in _WORD.findall(text.lower()) if w not in self.stop_words]
        return self._stem(words) if self._stem is not None else words

    def counts(self, text: str) -> Counter[str]:
        return Counter(self.terms(text))
