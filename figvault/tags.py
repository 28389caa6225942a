"""Document tags: free labels an editor gives a document ("finance", "q3-2024", "board deck") to filter by.

One definition of what a tag may be, used by ``figvault ingest --tags``, uploads, ``documents set-tags``,
``PATCH /v1/documents/{id}`` and the search filter. A tag is kept as given (case and inner spaces), trimmed;
commas separate tags on the command line and in forms, so a tag has none; control characters are refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from figvault.text_checks import text_problem

MAX_TAGS = 32
"""Tags one document (and so one unit) may carry; also the most one search may filter by."""
MAX_TAG_CHARS = 64
_BAD = re.compile(r"[\x00-\x1f\x7f,]")


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
        raise ValueError("a tag has a comma or a control character")
    return tag


def tag_set(values: Iterable[str]) -> list[str]:
    """A document's tags: each checked, duplicates dropped, sorted, at most ``MAX_TAGS``."""
    tags = sorted({check_tag(v) for v in values})
    if len(tags) > MAX_TAGS:
        raise ValueError(f"{len(tags)} tags: a document can have at most {MAX_TAGS}")
    return tags
