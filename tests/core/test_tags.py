"""What a tag may be (``figvault/tags.py``): an editor chooses it over HTTP, and it is printed on the
operator's terminal and shown to every reader of the document."""

from __future__ import annotations

import pytest

from figvault.search_models import SearchFilters
from figvault.tags import check_tag, tag_set


@pytest.mark.parametrize(
    "tag",
    [
        "a\x9b2Jb",  # CSI (C1): starts a terminal escape
        "a\x85b",  # NEL (C1): a line end for some log readers and for str.splitlines
        "a\u2028b",  # line separator
        "a\u2029b",  # paragraph separator
        "pay\u202elortnoc",  # right-to-left override: what follows shows reversed
        "a\u2066b\u2069",  # left-to-right isolate
        "a\x1bb",
        "a,b",
    ],
)
def test_a_tag_that_would_act_on_a_screen_or_split_a_line_is_refused(tag: str) -> None:
    """C1 controls, line and paragraph separators and bidi overrides passed (only C0, DEL and commas were
    refused), so an editor's tag could move the operator's cursor, split a row of ``documents list`` or
    show reversed text (failed before for the first six)."""
    with pytest.raises(ValueError, match=r"^a tag "):
        check_tag(tag)
    with pytest.raises(ValueError):
        SearchFilters(tags=[tag])


@pytest.mark.parametrize("tag", ["می\u200cخواهم", "क्\u200dष", "\u200fשלום", "Ünïcode", 'say "hi"', "q3-2024"])
def test_words_that_need_joiners_and_marks_stay_tags(tag: str) -> None:
    """Persian and Hindi words need the zero-width non-joiner and joiner, right-to-left text its marks."""
    assert tag_set([tag, f" {tag} "]) == [tag]
