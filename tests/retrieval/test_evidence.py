"""Soft priors, the neighbour rule and the offline no_match decision, on hand-made candidates."""

from __future__ import annotations

import math
from typing import Any

import pytest

from figvault.retrieval.evidence import Candidate, EvidenceParams, reorder, terms
from figvault.retrieval.no_match import decide, features
from figvault.settings import load_settings

PORTRAIT = {"page_size": [612.0, 792.0], "bbox": [0.0, 0.0, 10.0, 10.0]}
LANDSCAPE = {"page_size": [960.0, 540.0], "bbox": [0.0, 0.0, 10.0, 10.0]}


def cand(uid: str, fused: float, doc: str, *, geometry: dict | None = None, **row: Any) -> Candidate:
    full_row = {"doc": doc, "page": 1, "geometry": geometry or PORTRAIT, "kind": "vector", **row}
    return Candidate(uid, fused, {"text": row.pop("text_score", 0.5), "lexical": 3.0}, full_row, score=fused)


def test_terms_drop_function_words_and_plural_s() -> None:
    assert terms("How do the follower logs differ from the Leader's log?") == {
        "follower",
        "log",
        "differ",
        "leader",
    }


def test_slide_and_paper_hints_are_soft_priors() -> None:
    paper = cand("p", 0.030, "raft.pdf")
    slide = cand("s", 0.029, "raft-talk.pdf", geometry=LANDSCAPE)
    off = EvidenceParams()
    on = EvidenceParams(slide_prior=0.1, paper_prior=0.1)
    assert [c.unit_id for c in reorder("terms timeline in the raft slides", [paper, slide], off)] == [
        "p",
        "s",
    ]
    assert [c.unit_id for c in reorder("terms timeline in the raft slides", [paper, slide], on)] == ["s", "p"]
    assert [c.unit_id for c in reorder("terms timeline in the raft paper", [slide, paper], on)] == ["p", "s"]
    # A prior raises a score; it never removes a candidate.
    assert len(reorder("raft deck", [paper, slide], on)) == 2
    # A question naming both kinds of source prefers neither.
    assert [c.unit_id for c in reorder("the paper and the slides", [paper, slide], on)] == ["p", "s"]


def test_neighbours_are_told_apart_by_their_own_words() -> None:
    params = EvidenceParams(neighbour_depth=3, neighbour_margin=0.2)
    a = cand("a", 0.033, "paper.pdf", caption="Figure 4: server states and transitions")
    b = cand("b", 0.032, "paper.pdf", caption="Figure 7: follower logs compared to a new leader")
    other = cand("o", 0.031, "other.pdf", caption="follower logs after a leader election")
    question = "follower logs different from a new leader"
    assert [c.unit_id for c in reorder(question, [a, b, other], params)] == ["b", "a", "o"]
    # Only the first one's document is reordered, within the depth: b sits beyond it here.
    between = cand("x", 0.0325, "other.pdf", caption="follower logs after a leader election")
    assert [c.unit_id for c in reorder(question, [a, b, between], EvidenceParams(neighbour_depth=2))] == [
        "a",
        "x",
        "b",
    ]
    # Off, or below the margin: the fused order stands.
    assert [c.unit_id for c in reorder(question, [a, b, other], EvidenceParams())] == ["a", "b", "o"]
    near = cand("n", 0.032, "paper.pdf", caption="Figure 8: server states for a leader")
    assert [c.unit_id for c in reorder(question, [a, near], params)] == ["n", "a"]  # 1 of 5 terms more
    strict = EvidenceParams(neighbour_depth=3, neighbour_margin=0.3)
    assert [c.unit_id for c in reorder(question, [a, near], strict)] == ["a", "n"]


WEIGHTS = {"bias": -6.0, "text": 4.0, "lexical": 1.0, "coverage": 4.0, "coverage5": 0.0, "agree": 0.5}


def test_no_match_from_first_stage_evidence() -> None:
    good = [cand("g", 0.03, "raft.pdf", caption="Figure 7: follower logs and a new leader", text_score=0.8)]
    good[0].channel_scores["lexical"] = 12.0
    weak = [cand("w", 0.03, "raft.pdf", caption="Figure 4: server states", text_score=0.1)]
    weak[0].channel_scores["lexical"] = 0.4
    question = "follower logs after a new leader is elected"
    assert features(question, good)["coverage"] > features(question, weak)["coverage"]
    assert decide(question, good, WEIGHTS, 0.5)[0] is False
    no_match, probability = decide(question, weak, WEIGHTS, 0.5)
    assert no_match is True and probability is not None and probability < 0.5
    # Off without weights; nothing visible is always no match.
    assert decide(question, weak, {}, 0.5) == (False, None)
    assert decide(question, [], WEIGHTS, 0.5)[0] is True


def test_a_keyword_search_is_no_match_only_when_its_words_are_nowhere_in_the_top_document() -> None:
    """One or two words are a lookup, not a question: one term's BM25 and text cosine are low whatever the
    store holds, and the offline profile's model, fitted on questions, refused "raft" over a store about
    Raft (the first-hour walk)."""
    search = load_settings("offline").search
    weights, threshold, rows = search.no_match_weights, search.no_match_threshold, 900

    def raft_figure() -> list[Candidate]:
        figure = cand("r", 0.03, "raft.pdf", caption="Figure 2: Raft server states", text_score=0.3)
        figure.channel_scores["lexical"] = 2.5  # one common term's BM25
        return [figure]

    assert decide("raft", raft_figure(), weights, threshold, rows)[0] is False
    assert decide("raft servers", raft_figure(), weights, threshold, rows)[0] is False  # one word of two
    assert decide("kubernetes", raft_figure(), weights, threshold, rows)[0] is True  # not in the document
    # From three content terms on, the fitted model decides as before.
    assert decide("raft election timeout chart", raft_figure(), weights, threshold, rows)[0] is True


def test_a_search_box_query_whose_answer_is_found_is_not_refused() -> None:
    """Four words typed into a search box match fewer of the answer's words and score a lower BM25 than a
    written question: the offline model fitted on written questions alone refused 15% of such queries, some
    with the answer ranked first ("ZeRO partitioning model states", evidence as measured at realistic size).
    It is fitted on short queries too; a short query nothing answers is still refused."""
    search = load_settings("offline").search
    weights, threshold, rows = search.no_match_weights, search.no_match_threshold, 917
    top = cand(
        "z",
        0.03,
        "zero.pdf",
        caption="Figure 1: memory per device across partitioning stages",
        text_score=0.4,
    )
    top.channel_scores["lexical"] = 12.8
    sibling = cand("s", 0.02, "zero.pdf", caption="Figure 3: ZeRO optimizer states over time", page=3)
    values = features("ZeRO partitioning model states", [top, sibling], rows)
    assert values["coverage"] < 1.0 and values["coverage_document"] < 1.0  # "model" is in neither
    assert decide("ZeRO partitioning model states", [top, sibling], weights, threshold, rows)[0] is False
    elsewhere = cand("n", 0.03, "net.pdf", caption="Figure 4: network throughput over time", text_score=0.3)
    elsewhere.channel_scores["lexical"] = 2.3
    assert decide("video streaming bitrate chart", [elsewhere], weights, threshold, rows)[0] is True


def test_scaled_lexical_evidence_does_not_move_with_the_store_size() -> None:
    """Every BM25 score grows with ln(1 + N), N the rows the caller may see (a term's IDF): the same match
    in a store six times bigger scores higher, and a model fitted at one size would read it as stronger
    evidence. ``lexical_scaled`` reads the score against the caller's own N."""
    small, big = 145, 914
    question = "follower logs after a new leader is elected"
    in_small = [cand("g", 0.03, "raft.pdf", caption="Figure 7: follower logs", text_score=0.6)]
    in_small[0].channel_scores["lexical"] = 9.0
    in_big = [cand("g", 0.03, "raft.pdf", caption="Figure 7: follower logs", text_score=0.6)]
    in_big[0].channel_scores["lexical"] = 9.0 * math.log1p(big) / math.log1p(small)
    a, b = features(question, in_small, small), features(question, in_big, big)
    assert b["lexical"] > a["lexical"]
    assert a["lexical_scaled"] == pytest.approx(b["lexical_scaled"])
    weights = {"bias": -2.0, "lexical_scaled": 1.0}
    assert decide(question, in_small, weights, 0.5, small)[1] == pytest.approx(
        decide(question, in_big, weights, 0.5, big)[1]
    )
    # Without N (no lexical channel) the scaled score is the plain one.
    assert features(question, in_small)["lexical_scaled"] == features(question, in_small)["lexical"]


def test_own_words_prior_raises_the_figure_that_says_what_was_asked() -> None:
    # Two figures of one page: the page text (context) is the same, only their own words differ.
    page = "Figure 4 and Figure 7 show how a new leader repairs the follower logs"
    states = cand("s", 0.033, "paper.pdf", caption="Figure 4: server states", context=page)
    logs = cand("l", 0.032, "paper.pdf", caption="Figure 7: follower logs after a new leader", context=page)
    question = "follower logs after a new leader"
    assert [c.unit_id for c in reorder(question, [states, logs], EvidenceParams())] == ["s", "l"]
    on = EvidenceParams(own_words_prior=0.3)
    assert [c.unit_id for c in reorder(question, [states, logs], on)] == ["l", "s"]
    # A soft prior: a far stronger fused score still wins, and nothing is removed.
    strong = cand("x", 0.060, "other.pdf", caption="server states", context=page)
    assert [c.unit_id for c in reorder(question, [strong, states, logs], on)] == ["x", "l", "s"]


def test_own_words_prior_comes_from_settings() -> None:
    from figvault.settings import load_settings

    search = load_settings("offline").search
    assert EvidenceParams.from_settings(search).own_words_prior == search.priors.get("own_words", 0.0)
    params = EvidenceParams.from_settings(search)
    assert params.document_support_prior == search.priors.get("document_support", 0.0)


def test_document_support_prior_raises_the_document_the_channels_recalled_as_a_whole() -> None:
    # A look-alike of another document leads by a little; the answer's document has more recalled figures.
    lookalike = cand("x", 0.040, "other-deck.pdf")
    answer = cand("a", 0.038, "raft.pdf")
    sibling = cand("b", 0.030, "raft.pdf")
    question = "raft leader election timeline"
    off = [c.unit_id for c in reorder(question, [lookalike, answer, sibling], EvidenceParams())]
    assert off == ["x", "a", "b"]
    on = EvidenceParams(document_support_prior=0.3)
    assert [c.unit_id for c in reorder(question, [lookalike, answer, sibling], on)] == ["a", "x", "b"]
    # A soft prior: a far stronger fused score still wins, and nothing is removed.
    strong = cand("s", 0.080, "other-deck.pdf")
    assert [c.unit_id for c in reorder(question, [strong, answer, sibling], on)] == ["s", "a", "b"]


def test_documents_of_one_name_are_told_apart_by_their_ids() -> None:
    """Document support and the neighbour rule counted two documents of one name (report.pdf of two
    departments) as one: the answer's siblings lifted a look-alike of the other report."""
    lookalike = cand("x", 0.040, "report.pdf", doc_id="d-other", caption="leader election timeline")
    answer = cand("a", 0.038, "report.pdf", doc_id="d-raft", caption="Figure 2: server states")
    sibling = cand("b", 0.030, "report.pdf", doc_id="d-raft")
    question = "raft leader election timeline"
    support = EvidenceParams(document_support_prior=0.3)
    assert [c.unit_id for c in reorder(question, [lookalike, answer, sibling], support)] == ["a", "x", "b"]
    # The neighbour rule reorders the leading document's own figures only, not a same-named other one's.
    second = cand("y", 0.035, "report.pdf", doc_id="d-other", caption="leader election timeline")
    neighbours = EvidenceParams(neighbour_depth=3)
    assert [c.unit_id for c in reorder(question, [answer, second, sibling], neighbours)] == ["a", "y", "b"]


def test_no_match_reads_the_top_figure_own_words() -> None:
    page = "follower logs after a new leader"
    own = cand("o", 0.03, "raft.pdf", caption="Figure 7: follower logs after a new leader", context=page)
    shared = cand("s", 0.03, "raft.pdf", caption="Figure 4: server states", context=page)
    question = "follower logs after a new leader"
    assert features(question, [own])["own"] == 1.0
    assert features(question, [shared])["own"] == 0.0
    assert features(question, [shared])["coverage"] == 1.0  # the page text alone covers the question


def test_coverage_document_reads_the_top_figure_document_together() -> None:
    """An untitled chart panel's own text is short; the other fetched panels of its document still carry the
    asked words. Only the top's document counts: another document's words say nothing about this answer."""
    question = "respondents running kubernetes in production by company size"
    panel = cand("p", 0.03, "survey.pdf", figure_text="0% 20% 40%")
    sibling = cand("s", 0.02, "survey.pdf", title="Respondents by company size", page=2)
    elsewhere = cand("e", 0.01, "other.pdf", caption="Kubernetes in production")
    alone = features(question, [panel, elsewhere])
    together = features(question, [panel, elsewhere, sibling])
    assert alone["coverage_document"] == alone["coverage"] < together["coverage_document"]
    assert together["coverage"] == alone["coverage"]  # the top figure's own coverage does not move
    assert together["coverage_document"] < 1.0  # "kubernetes", "production" are only in the other document
    # Two documents of one name are two documents: another department's survey.pdf adds nothing.
    ours = cand("p", 0.03, "survey.pdf", doc_id="d1", figure_text="0% 20% 40%")
    namesake = cand("n", 0.02, "survey.pdf", doc_id="d2", title="Respondents by company size", page=2)
    assert features(question, [ours, namesake])["coverage_document"] == 0.0
