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


# Words of another tenant's units, each nearer "electon" than the caller's "elect" (difflib 0.93 vs 0.83):
# a dictionary scan ranked them first, so 20 of them left no candidate the caller may see.
NEARER = [f"electo{c}n" for c in "bcdfghjkmpqstvwxyz"] + ["electorn", "electoln", "electozn"]
CROWD = _doc(4, "globex", ["red"], " ".join(NEARER))
BULK = [
    row
    for serial in range(5, 65)
    for row in _doc(serial, "initech", ["red"], " ".join(f"e{serial}x{i}" for i in range(40)))
]


class _Work:
    """What a suggestion does, counted: the terms it compares with what was typed (``get_close_matches``'
    possibilities) and the posting lookups it makes for candidates (``units_holding``)."""

    def __init__(self, monkeypatch) -> None:
        import figvault.retrieval.spelling as spelling
        from figvault.retrieval.lexical_index import IndexView

        self.compared = 0
        self.lookups = 0
        close, holding = spelling.difflib.get_close_matches, IndexView.units_holding

        def counted_close(word, possibilities, *args, **kwargs):
            self.compared += len(possibilities)
            return close(word, possibilities, *args, **kwargs)

        def counted_holding(view, *args, **kwargs):
            self.lookups += 1
            return holding(view, *args, **kwargs)

        monkeypatch.setattr(spelling.difflib, "get_close_matches", counted_close)
        monkeypatch.setattr(IndexView, "units_holding", counted_holding)


def _suggest_among(rows: list[dict[str, Any]], question: str) -> str | None:
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(rows)
    return did_you_mean(index.view(), question, scope_of("acme", ["red"], rows), _rows_of_any(rows))


def _rows_of_any(rows: list[dict[str, Any]]):
    def rows_of(unit_ids: Iterable[str]) -> list[Mapping[str, Any]]:
        wanted = set(unit_ids)
        return [r for r in rows if r["unit_id"] in wanted]

    return rows_of


def test_others_nearer_words_do_not_crowd_out_the_callers() -> None:
    """The suggestion is the same whatever words other tenants' units hold (before: None once another
    tenant held 20 words nearer the typo, so its answer told that they exist)."""
    alone = _suggest_among(EVERYTHING, "raft leder electon")
    assert alone == "raft leader election"
    assert _suggest_among(EVERYTHING + CROWD, "raft leder electon") == alone


def test_the_callers_deleted_units_words_do_not_crowd_out_its_live_ones() -> None:
    """A deleted unit's terms stay in its segment's vocabulary until a merge (``visible_terms``): only terms a
    live unit holds are candidates, and every close term is tried until one is found. Before, the 20 nearest
    were tried: 21 words of the caller's own deleted unit nearer the typo than "elect" left 'raft leader
    electon' (the live-unit check taken out, likewise)."""
    gone = _doc(4, "acme", ["red"], " ".join(NEARER))
    rows = EVERYTHING + gone
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(rows)
    assert index.delete([gone[0]["unit_id"]]) == 1
    view = index.view()
    assert set(view.visible_terms(scope_of("acme", ["red"], rows))) >= set(NEARER)  # still in the vocabulary
    suggestion = did_you_mean(view, "raft leder electon", scope_of("acme", ["red"], rows), _rows_of_any(rows))
    assert suggestion == "raft leader election"


def test_the_work_of_a_suggestion_does_not_grow_with_others_vocabulary(monkeypatch) -> None:
    """The did-you-mean step's time is in every answer's ``timings``: its work must depend on the caller's
    own terms only. Before, every term of every tenant with the typo's first letter and about its length was
    compared (2,400 more here, where the caller compares 4)."""
    work = _Work(monkeypatch)
    assert _suggest_among(EVERYTHING, "raft leder electon") == "raft leader election"
    alone = (work.compared, work.lookups)
    assert alone[0] > 0 and alone[1] > 0
    work.compared = work.lookups = 0
    assert _suggest_among(EVERYTHING + BULK, "raft leder electon") == "raft leader election"
    assert (work.compared, work.lookups) == alone


def test_a_word_near_only_by_its_stem_is_not_suggested() -> None:
    """ "capital" (stem "capit") and a visible "cat": the stems are 0.75 alike, the words 0.6; "what is the
    capital of France?" was answered "Did you mean: what is the cat of France?"."""
    rows = _doc(70, "acme", ["red"], "The cat sat on a graph")
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(rows)
    wanted = {r["unit_id"]: r for r in rows}

    def rows_of(unit_ids: Iterable[str]) -> list[Mapping[str, Any]]:
        return [wanted[u] for u in unit_ids if u in wanted]

    scope = scope_of("acme", ["red"], rows)
    assert did_you_mean(index.view(), "what is the capital of France?", scope, rows_of) is None
    assert did_you_mean(index.view(), "the catt graph", scope, rows_of) == "the cat graph"
