"""Document tags: free labels an editor gives a document ("finance", "q3-2024", "board deck") to filter by.

One definition of what a tag may be, used by ``figvault ingest --tags``, uploads, ``documents set-tags``,
``PATCH /v1/documents/{id}`` and the search filter. A tag is kept as given (case and inner spaces), trimmed;
commas separate tags on the command line and in forms, so a tag has none; control characters (C0, DEL and
C1: NEL U+0085 ends a line for some log readers, CSI U+009B starts a terminal escape), the line and paragraph
separators (U+2028, U+2029) and the bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069)
are refused. An editor's tag is printed on the operator's terminal (``figvault documents list``,
``set-tags``) and shown to every reader of the document; it must not act on the screen, split a line, or
show its text reversed. Zero-width joiners and the bidi marks (U+200C, U+200D, U+200E, U+200F) stay:
Persian, Hindi and Arabic words need them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from figvault.text_checks import text_problem

MAX_TAGS = 32
"""Tags one document (and so one unit) may carry; also the most one search may filter by."""
MAX_TAG_CHARS = 64
_BAD = re.compile(r"[\x00-\x1f\x7f-\x9f,\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def check_tag(value: str) -> str:
    """``value`` trimmed; ValueError with a one-line reason (never the value: it is untrusted input)."""
    tag = value.strip()
    if not tag:
        raise ValueError("a tag cannot be empty")
    if len(tag) > MAX_TAG_CHARS:
        raise ValueError(f"a tag is longer than {MAX_TAG_CHARS} characters")
    problem = text_problem(tag)
    if problem is not None:
        raise ValueError(f"a tag {problem}")
    if _BAD.search(tag):
        raise ValueError("a tag has a comma, a control character, a line separator or a bidi override")
    return tag


def tag_set(values: Iterable[str]) -> list[str]:
    """A document's tags: each checked, duplicates dropped, sorted, at most ``MAX_TAGS``."""
    tags = sorted({check_tag(v) for v in values})
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags: a document can have at most {MAX_TAGS}")
    return tags
