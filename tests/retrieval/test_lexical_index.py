"""The lexical index on its own: BM25F scores equal a plain reference computed over exactly the caller's
rows, and nothing a caller cannot see (other tenants, other groups) changes what the caller gets."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from figvault.retrieval.acl import acl_key
from figvault.retrieval.lexical_index import BM25FParams, LexicalIndex, PostingReads, Scope
from figvault.retrieval.lexical_text import Analyzer, field_texts
from tests.retrieval.lexical_worlds import (
    META_SCHEMA,
    TENANTS,
    WORDS,
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


class _World:
    """The index and the reference's copy of its rows, changed together."""

    def __init__(self, analyzer: Analyzer) -> None:
        self.analyzer = analyzer
        self.index = LexicalIndex(analyzer, META_SCHEMA)
        self.rows: dict[str, dict] = {}
        self.serial = 0

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial

    def add(self, doc_rows: list[dict]) -> None:
        self.index.upsert(doc_rows)
        self.rows.update({r["unit_id"]: r for r in doc_rows})

    def remove(self, ids: list[str]) -> None:
        assert self.index.delete(ids) == len(ids)
        for uid in ids:
            del self.rows[uid]

    def assert_reference(self, q: str, scope: Scope, got: list[tuple[str, float]]) -> None:
        assert_same_ranking(got, reference_search(self.rows.values(), scope, q, LIMIT, PARAMS, self.analyzer))


def test_index_equals_the_reference_and_ignores_what_the_caller_cannot_see(tmp_path: Path) -> None:
    rng = random.Random(20261202)
    world = _World(Analyzer())
    for tenant in TENANTS:
        for _ in range(8):
            world.add(random_doc(rng, world.next_serial(), tenant, random_groups(rng)))
    queries = 0
    for _ in range(ROUNDS):
        tenant = rng.choice(TENANTS)
        groups = None if rng.random() < 0.2 else random_groups(rng)
        scope = scope_of(tenant, groups, world.rows.values())
        questions = [random_query(rng) for _ in range(QUERIES_PER_ROUND)]
        before = [world.index.search(q, scope, LIMIT, PARAMS) for q in questions]
        for q, got in zip(questions, before, strict=True):
            world.assert_reference(q, scope, got)
        _others_upload_and_delete(rng, world, tenant, groups, scope, questions, before)
        queries += 3 * len(questions)
        _callers_documents_change(rng, world, tenant, groups)
        scope = scope_of(tenant, groups, world.rows.values())
        for q in questions[:5]:
            world.assert_reference(q, scope, world.index.search(q, scope, LIMIT, PARAMS))
    assert queries >= 2000
    assert len(world.index) == len(world.rows) and world.index.unit_ids() == set(world.rows)
    _assert_a_snapshot_answers_alike(rng, world, tmp_path / "index.npz")


def _others_upload_and_delete(
    rng: random.Random,
    world: _World,
    tenant: str,
    groups: list[str] | None,
    scope: Scope,
    questions: list[str],
    before: list[list[tuple[str, float]]],
) -> None:
    """Others upload documents full of the caller's words, then delete them: nothing the caller gets may
    change, neither while they are there nor after."""
    extra: list[str] = []
    for _ in range(rng.randint(1, 4)):
        other_tenant, other_groups = invisible_to(rng, tenant, groups or [])
        if groups is None:  # the whole tenant is visible: only another tenant is invisible
            other_tenant = rng.choice([t for t in TENANTS if t != tenant])
        doc_rows = random_doc(rng, world.next_serial(), other_tenant, other_groups, rare=True)
        world.add(doc_rows)
        extra += [r["unit_id"] for r in doc_rows]
    assert [world.index.search(q, scope, LIMIT, PARAMS) for q in questions] == before
    world.remove(extra)
    assert [world.index.search(q, scope, LIMIT, PARAMS) for q in questions] == before


def _callers_documents_change(
    rng: random.Random, world: _World, tenant: str, groups: list[str] | None
) -> None:
    """The caller's own world changes: a new document, and one document deleted or regrouped."""
    world.add(random_doc(rng, world.next_serial(), tenant, groups or random_groups(rng)))
    victim = rng.choice(sorted({r["doc_id"] for r in world.rows.values()}))
    victims = [r for r in world.rows.values() if r["doc_id"] == victim]
    if rng.random() < 0.5:
        world.remove([r["unit_id"] for r in victims])
        return
    new_groups = random_groups(rng)
    regrouped = random_doc(rng, 0, victims[0]["tenant"], new_groups)
    pairs = zip(regrouped, victims, strict=False)
    replaced = [{**r, "unit_id": v["unit_id"], "doc_id": victim} for r, v in pairs]
    world.add(replaced)
    world.remove([v["unit_id"] for v in victims[len(replaced) :]])


def _assert_a_snapshot_answers_alike(rng: random.Random, world: _World, path: Path) -> None:
    """A snapshot answers exactly like the index it was taken from."""
    index = world.index
    index.save(path, {"seq": 7})
    loaded, header = LexicalIndex.load(path, world.analyzer)
    assert header["seq"] == 7
    same = ("units", "terms", "postings", "segments", "access_codes")
    assert {k: loaded.stats()[k] for k in same} == {k: index.stats()[k] for k in same}
    for _ in range(50):
        scope = scope_of(rng.choice(TENANTS), rng.choice([None, random_groups(rng)]), world.rows.values())
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
    with pytest.raises(ValueError, match="unknown key 'abstract'"):
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


def _holding(tenant: str, groups: list[str], n: int, serial: int) -> list[dict]:
    """``n`` rows of ``tenant`` / ``groups`` whose caption holds the rare word ``quillwort``."""
    return [
        {"unit_id": f"{tenant}-{serial}-{i}", "tenant": tenant, "acl_key": acl_key(groups),
         "doc_id": f"{tenant}-{serial}", "caption": f"quillwort {WORDS[i % len(WORDS)]}", "kind": "chart"}
        for i in range(n)
    ]  # fmt: skip


def test_a_search_reads_no_posting_of_rows_the_caller_cannot_see() -> None:
    """The timing channel: a search's work (postings read, counted, not timed) is the same with 0 and with
    20,000 rows of another tenant, and of another group of the caller's tenant, holding the question's
    term; the caller's answer is the same too. A question whose terms are in no row reads nothing."""
    rng = random.Random(11)
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(_holding("acme", ["red"], 30, 1))
    caller = Scope("acme", frozenset({acl_key(["red"])}))

    def read(query: str) -> tuple[int, list[tuple[str, float]]]:
        reads = PostingReads()
        hits = index.search(query, caller, LIMIT, PARAMS, reads=reads)
        return reads.postings, hits

    alone = read("quillwort quorum")
    assert alone[0] == 30 and len(alone[1]) == LIMIT
    assert read("bryozoan")[0] == 0
    for batch in range(4):  # several uploads, so segments merge with the caller's rows between them
        index.upsert(_holding("globex", ["red"], 2_500, 10 + batch))
        index.upsert(_holding("acme", ["blue"], 2_500, 20 + batch))
        index.upsert(random_doc(rng, 30 + batch, "initech", random_groups(rng), rare=True))
    assert len(index) > 20_000 and index.stats()["segments"] < 8
    assert read("quillwort quorum") == alone
    assert read("bryozoan")[0] == 0


def test_a_snapshot_of_an_older_format_is_refused(tmp_path: Path) -> None:
    """Rows in an older snapshot are not ordered by access code: it must not load (the channel rebuilds)."""
    index = LexicalIndex(Analyzer(), META_SCHEMA)
    index.upsert(_holding("acme", ["red"], 3, 1))
    path = tmp_path / "index.npz"
    index.save(path, {"seq": 1})
    with np.load(path) as npz:
        arrays = {name: npz[name] for name in npz.files if not name.endswith("_code_rows")}
    header = {**json.loads(arrays["header"].tobytes()), "format": 1}
    arrays["header"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(ValueError, match="snapshot format 1"):
        LexicalIndex.load(path, Analyzer())


def test_a_callers_vocabulary_is_its_codes_terms_through_merges_and_snapshots(tmp_path: Path) -> None:
    """``visible_terms`` ("did you mean"'s candidates) holds every term of the caller's live rows and none
    that only other tenants' or groups' rows hold, after uploads, deletions, merges and a snapshot (a
    deleted row's terms may stay until a merge: they were the caller's codes' too)."""
    rng = random.Random(5)
    analyzer = Analyzer()
    index = LexicalIndex(analyzer, META_SCHEMA)
    live: list[dict] = []
    ever: list[dict] = []
    for serial in range(60):
        doc = random_doc(rng, serial, rng.choice(TENANTS), random_groups(rng))
        doc[0]["caption"] += f" only{serial}word"  # a term no other row holds
        live += doc
        ever += doc
        index.upsert(doc)
        if serial % 7 == 6:
            index.delete([live.pop(rng.randrange(len(live)))["unit_id"]])
    assert index.stats()["segments"] < 60  # merged on the way
    path = tmp_path / "index.npz"
    index.save(path, {"seq": 1})
    loaded, _ = LexicalIndex.load(path, analyzer)

    def terms(rows: list[dict], scope: Scope) -> set[str]:
        mine = [r for r in rows if r["tenant"] == scope.tenant and r["acl_key"] in (scope.keys or ())]
        return {t for r in mine for text in field_texts(r) for t in analyzer.terms(text)}

    for tenant in TENANTS:
        for group in ("red", "blue", "green", "gold"):
            scope = scope_of(tenant, [group], ever)
            got = set(index.view().visible_terms(scope))
            assert terms(live, scope) <= got <= terms(ever, scope)
            assert set(loaded.view().visible_terms(scope)) == got


def test_held_and_units_holding_answer_for_the_callers_live_rows_only() -> None:
    """Did you mean asks ``held`` which of a question's words no unit the caller may see holds, and
    ``units_holding`` for the units whose text shows a candidate: a word only another group's or another
    tenant's rows hold is not the caller's (a "held" there would tell the caller that others hold it), and
    neither is one only a deleted unit held."""
    analyzer = Analyzer()
    index = LexicalIndex(analyzer, META_SCHEMA)
    index.upsert(_holding("acme", ["red"], 3, 1))
    for tenant, groups, word, serial in (("acme", ["blue"], "bryozoan", 2), ("globex", ["red"], "sedge", 3)):
        row = _holding(tenant, groups, 1, serial)[0]
        index.upsert([{**row, "caption": f"{word} {row['caption']}"}])
    gone = _holding("acme", ["red"], 1, 4)[0]
    index.upsert([{**gone, "caption": "liverwort"}])
    index.delete([gone["unit_id"]])
    caller = Scope("acme", frozenset({acl_key(["red"])}))
    words = ["quillwort", "bryozoan", "sedge", "liverwort", "nowhere"]
    stems = [analyzer.terms(word)[0] for word in words]
    assert index.view().held(stems, caller) == [True, False, False, False, False]
    assert index.view().held(stems, Scope("acme", None)) == [True, True, False, False, False]
    holding = [index.view().units_holding(stem, caller, 10) for stem in stems]
    assert holding == [["acme-1-0", "acme-1-1", "acme-1-2"], [], [], [], []]
