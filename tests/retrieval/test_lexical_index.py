"""The lexical index on its own: BM25F scores equal a plain reference computed over exactly the caller's
rows, and nothing a caller cannot see (other tenants, other groups) changes what the caller gets."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from figvault.retrieval.lexical_index import BM25FParams, LexicalIndex, Scope
from figvault.retrieval.lexical_text import Analyzer
from tests.retrieval.lexical_worlds import (
    META_SCHEMA,
    TENANTS,
    invisible_to,
    random_doc,
    random_groups,
    random_query,
    reference_search,
    scope_of,
)

ROUNDS = 24
QUERIES_PER_ROUND = 30
LIMIT = 10
"""24 rounds x 30 questions x 3 states (before, with others' uploads, after their deletion) = 2,160 index
queries, each also checked against the reference before the uploads; a few seconds."""

PARAMS = BM25FParams.from_mappings(
    1.2,
    {"title": 2.0, "caption": 1.5, "figure_text": 1.2, "context": 0.8, "page_text": 0.5, "document": 1.0},
    {"page_text": 0.9, "document": 0.3},
)


def assert_same_ranking(got: list[tuple[str, float]], expected: list[tuple[str, float]]) -> None:
    assert [uid for uid, _ in got] == [uid for uid, _ in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_index_equals_the_reference_and_ignores_what_the_caller_cannot_see(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    analyzer = Analyzer()
    index = LexicalIndex(analyzer, META_SCHEMA)
    rows: dict[str, dict] = {}
    serial = 0

    def add(doc_rows: list[dict]) -> None:
        index.upsert(doc_rows)
        rows.update({r["unit_id"]: r for r in doc_rows})

    def remove(ids: list[str]) -> None:
        assert index.delete(ids) == len(ids)
        for uid in ids:
            del rows[uid]

    for tenant in TENANTS:
        for _ in range(8):
            serial += 1
            add(random_doc(rng, serial, tenant, random_groups(rng)))
    queries = 0
    for _ in range(ROUNDS):
        tenant = rng.choice(TENANTS)
        groups = None if rng.random() < 0.2 else random_groups(rng)
        scope = scope_of(tenant, groups, rows.values())
        questions = [random_query(rng) for _ in range(QUERIES_PER_ROUND)]
        before = [index.search(q, scope, LIMIT, PARAMS) for q in questions]
        for q, got in zip(questions, before, strict=True):
            assert_same_ranking(got, reference_search(rows.values(), scope, q, LIMIT, PARAMS, analyzer))

        # Others upload documents full of the caller's words: nothing the caller gets may change.
        extra: list[str] = []
        for _ in range(rng.randint(1, 4)):
            serial += 1
            other_tenant, other_groups = invisible_to(rng, tenant, groups or [])
            if groups is None:  # the whole tenant is visible: only another tenant is invisible
                other_tenant = rng.choice([t for t in TENANTS if t != tenant])
            doc_rows = random_doc(rng, serial, other_tenant, other_groups, rare=True)
            add(doc_rows)
            extra += [r["unit_id"] for r in doc_rows]
        assert [index.search(q, scope, LIMIT, PARAMS) for q in questions] == before
        remove(extra)
        assert [index.search(q, scope, LIMIT, PARAMS) for q in questions] == before
        queries += 3 * len(questions)

        # The caller's own world changes (new, replaced, regrouped, deleted documents): still the reference.
        serial += 1
        add(random_doc(rng, serial, tenant, groups or random_groups(rng)))
        victim = rng.choice(sorted({r["doc_id"] for r in rows.values()}))
        victims = [r for r in rows.values() if r["doc_id"] == victim]
        if rng.random() < 0.5:
            remove([r["unit_id"] for r in victims])
        else:
            new_groups = random_groups(rng)
            regrouped = random_doc(rng, 0, victims[0]["tenant"], new_groups)
            pairs = zip(regrouped, victims, strict=False)
            replaced = [{**r, "unit_id": v["unit_id"], "doc_id": victim} for r, v in pairs]
            add(replaced)
            remove([v["unit_id"] for v in victims[len(replaced) :]])
        scope = scope_of(tenant, groups, rows.values())
        for q in questions[:5]:
            assert_same_ranking(
                index.search(q, scope, LIMIT, PARAMS),
                reference_search(rows.values(), scope, q, LIMIT, PARAMS, analyzer),
            )
    assert queries >= 2000
    assert len(index) == len(rows) and index.unit_ids() == set(rows)

    # A snapshot answers exactly like the index it was taken from.
    path = tmp_path / "index.npz"
    index.save(path, {"seq": 7})
    loaded, header = LexicalIndex.load(path, analyzer)
    assert header["seq"] == 7
    same = ("units", "terms", "postings", "segments", "access_codes")
    assert {k: loaded.stats()[k] for k in same} == {k: index.stats()[k] for k in same}
    for _ in range(50):
        scope = scope_of(rng.choice(TENANTS), rng.choice([None, random_groups(rng)]), rows.values())
        q = random_query(rng)
        assert loaded.search(q, scope, LIMIT, PARAMS) == index.search(q, scope, LIMIT, PARAMS)


def test_filters_see_only_candidates_and_unknown_fields_are_refused() -> None:
    rng = random.Random(5)
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    doc = random_doc(rng, 1, "acme", ["red"])
    for r in doc:
        r["caption"] = "quorum"
    index.upsert(doc)
    seen: list[int] = []

    def only_first(table):
        seen.append(table.num_rows)
        return [uid == doc[0]["unit_id"] for uid in table.column("unit_id").to_pylist()]

    hits = index.search("quorum", Scope("acme", None), 10, BM25FParams(), only_first)
    assert [uid for uid, _ in hits] == [doc[0]["unit_id"]] and seen == [len(doc)]
    assert index.search("quorum", Scope("globex", None), 10, BM25FParams()) == []
    assert index.search("quorum", Scope("acme", frozenset({"no-such-key"})), 10, BM25FParams()) == []
    with pytest.raises(ValueError, match="unknown lexical field"):
        BM25FParams.from_mappings(1.2, {"abstract": 2.0}, {})


def test_visible_rows_counts_only_the_callers_live_rows() -> None:
    """The N of a caller's BM25 (what the no-match decision scales BM25 by): another tenant's rows, rows of
    groups the caller is not in and deleted rows do not count."""
    rng = random.Random(7)
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    red = random_doc(rng, 1, "acme", ["red"])
    blue = random_doc(rng, 2, "acme", ["blue"])
    other = random_doc(rng, 3, "globex", ["red"])
    index.upsert(red + blue + other)
    everything = red + blue + other
    assert index.view().visible_rows(Scope("acme", None)) == len(red) + len(blue)
    assert index.view().visible_rows(scope_of("acme", ["red"], everything)) == len(red)
    assert index.view().visible_rows(Scope("acme", frozenset({"no-such-key"}))) == 0
    index.delete([red[0]["unit_id"]])
    assert index.view().visible_rows(scope_of("acme", ["red"], everything)) == len(red) - 1
