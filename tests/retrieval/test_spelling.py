""" "Did you mean": a question whose words match nothing the caller may see is respelled with the words of
units the caller may see, and never with another tenant's or another group's words (that would leak their
vocabulary). Before, "raft leder electon" was only flagged no_match."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from figvault.retrieval.lexical_index import LexicalIndex, Scope
from figvault.retrieval.lexical_text import Analyzer
from figvault.retrieval.spelling import did_you_mean
from tests.retrieval.lexical_worlds import META_SCHEMA, random_doc, scope_of


def _doc(serial: int, tenant: str, groups: list[str], caption: str) -> list[dict[str, Any]]:
    rows = random_doc(random.Random(serial), serial, tenant, groups)[:1]
    row = rows[0]
    row.update(caption=caption, context="", figure_text="", title="", page_text="", label="", meta={})
    row["doc"] = f"d{serial}.pdf"
    return rows


RAFT = _doc(1, "acme", ["red"], "Raft leader election timeline")
SECRET = _doc(2, "acme", ["blue"], "Electorate secrets of the merger")
OTHER = _doc(3, "globex", ["red"], "Leaderboard electrode quarterly")
EVERYTHING = RAFT + SECRET + OTHER


def _index() -> LexicalIndex:
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(EVERYTHING)
    return index


def _rows_of(unit_ids: Iterable[str]) -> list[Mapping[str, Any]]:
    wanted = set(unit_ids)
    return [r for r in EVERYTHING if r["unit_id"] in wanted]


def _suggest(question: str, tenant: str, groups: list[str]) -> str | None:
    return did_you_mean(_index().view(), question, scope_of(tenant, groups, EVERYTHING), _rows_of)


def test_a_typo_is_respelled_with_the_callers_words() -> None:
    assert _suggest("raft leder electon", "acme", ["red"]) == "raft leader election"
    assert _suggest("Raft LEDER timeline", "acme", ["red"]) == "Raft leader timeline"
    # The whole tenant (an operator's CLI search) sees "electorate" too: the word nearest what was typed wins.
    assert _suggest("raft leder electon", "acme", None) == "raft leader election"


def test_a_correct_or_unknowable_question_gets_none() -> None:
    assert _suggest("raft leader election", "acme", ["red"]) is None
    assert _suggest("zzzz qqqq", "acme", ["red"]) is None


def test_no_other_groups_or_tenants_word_is_suggested() -> None:
    # "electorat" is near the blue group's "electorate" and globex's "electrode": the red caller of acme
    # sees neither, so its suggestion must not name them.
    # Only "electrod" has a word of the red group near it; the others stay as typed.
    assert _suggest("electorat leaderbord electrod", "acme", ["red"]) == "electorat leaderbord election"
    blue = _suggest("electorat", "acme", ["blue"])
    assert blue == "electorate"
    # Nothing visible at all (an unknown group): nothing to suggest, whatever others hold.
    assert did_you_mean(_index().view(), "leder", Scope("acme", frozenset()), _rows_of) is None
    assert _suggest("leaderbord", "globex", ["red"]) == "leaderboard"
