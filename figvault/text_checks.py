"""Text that comes from outside (requests, tokens, file names): what is refused, and the bounded types.

A string a request carries must be text figvault can store, log and hand to the store: no lone UTF-16
surrogates (``"\\ud800"`` is valid JSON but no UTF-8 encodes it; it used to reach SQLite and Milvus and
come back as a 500), no control characters but tab and newlines, and a bounded length. Lists are bounded
too: a filter of 90,000 ids cost seconds of store parsing and wrote a megabyte of audit.

Names people see (document names) also lose invisible formatting characters (bidi overrides, zero-width
characters), which can make one name display as another.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

MAX_FILTER_VALUES = 1000
"""Most values one filter list (doc_ids, docs, kinds) may hold."""
MAX_NAME_CHARS = 512
"""Longest document id, document name or other identifier in a request."""
MAX_TEXT_CHARS = 2000
"""Longest free text (a question)."""
MAX_DISPLAY_NAME_CHARS = 200
"""Longest shown document name (``display_name``)."""

_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ESCAPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
"""What ``escaped`` writes as escapes: controls, formatting, lone surrogates, and the line and paragraph
separators (U+2028, U+2029), which end a line for Python's ``str.splitlines`` and so split a table's row."""
_UNSAFE_NAME_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029/\\:*?\"<>|]+")
"""Path characters and every control character: C0, DEL, C1 (NEL U+0085 ends a line for some log
readers, CSI U+009B starts a terminal escape) and the line and paragraph separators (U+2028, U+2029)."""


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be accepted as text, or None."""
    if _SURROGATE.search(value):
        return "contains an invalid character (a lone UTF-16 surrogate)"
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def check_text(value: str) -> str:
    """A pydantic validator: ``value`` unchanged, or ValueError with a short reason (never the value)."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def check_optional_text(value: str | None) -> str | None:
    """``check_text`` of a query parameter that may be left out."""
    return None if value is None else check_text(value)


def strip_invisible(value: str) -> str:
    """``value`` without lone surrogates and formatting characters (Unicode class Cf: bidi overrides and
    isolates, zero-width spaces and joiners), NFC-normalised: a name as people see it. Control characters
    stay (callers replace or refuse them)."""
    value = unicodedata.normalize("NFC", _SURROGATE.sub("", value))
    return "".join(ch for ch in value if unicodedata.category(ch) != "Cf")


def escaped(value: str) -> str:
    """``value`` with control, invisible formatting, line separator and lone surrogate characters written as
    escapes (``\\n``, ``\\x1b``, ``\\u202e``, ``\\u2028``): a stored path kept exact (``source``) or an
    editor's tag shown on one line of a table,
    looking like what it is, with no terminal escape sequence or bidi override acting on the screen."""
    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) in _ESCAPED else ch for ch in value
    )


def display_name(client_name: str | None, fallback: str = "upload") -> str:
    """A file name made fit for display: last path component, no control or path characters. The one
    definition of a shown document name: uploads' client names and server files' names alike (a server
    folder's file may hold line breaks, bidi overrides or zero-width characters; its stored path stays).

    ``../../etc/passwd`` becomes ``passwd``; an empty result becomes ``fallback``. Invisible characters
    (bidi overrides, zero-width characters, lone surrogates) are dropped: a name must look like what it is.
    """
    name = strip_invisible(client_name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_NAME_CHARS.sub("_", name).strip(" ._")
    return _shortened(name) or fallback


def _shortened(name: str) -> str:
    """``name`` cut to MAX_DISPLAY_NAME_CHARS keeping its extension and a digest of the whole: a document
    is found and replaced by its name, so two long names that differ past the cut must stay two names."""
    if len(name) <= MAX_DISPLAY_NAME_CHARS:
        return name
    stem, dot, ext = name.rpartition(".")
    ext = f".{ext}" if dot and stem and 0 < len(ext) <= 16 else ""
    digest = "~" + hashlib.blake2b(name.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()
    return name[: MAX_DISPLAY_NAME_CHARS - len(digest) - len(ext)].rstrip(" ._") + digest + ext


Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_CHARS), AfterValidator(check_text)]
"""Free text from a request: at most MAX_TEXT_CHARS, no surrogates or control characters."""
Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_CHARS), AfterValidator(check_text)]
"""An identifier or name from a request."""
NameList = Annotated[list[Name], Field(max_length=MAX_FILTER_VALUES)]
"""A bounded list of names (filter values)."""


GROUP_SPELLING_CUTOFF = 0.85
"""difflib's likeness a given group needs to be named as another's spelling: "fnance" to "finance" is 0.92,
"finanse" 0.86; "team-a" to "team-b" 0.83, "finance" to "finance-hr" 0.82 (other groups, not typos)."""


def meant_name(given: str, names: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The one of ``names`` that ``given`` most likely meant, for a "did you mean": the same letters in
    another case first, else the closest at difflib's likeness ``cutoff``; None when none is near."""
    import difflib

    known = sorted(set(names))
    same = [name for name in known if name.lower() == given.lower()]
    return next(iter(same or difflib.get_close_matches(given, known, 1, cutoff=cutoff)), None)
