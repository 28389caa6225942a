"""The result tables of ``figvault search`` and the demo show a figure's own title where it has no caption:
before, the demo's top hit (a slide's chart titled "Revenue (million EUR)") showed an empty caption cell,
which read as if figvault had found nothing to say about it."""

from __future__ import annotations

import pytest

from figvault.commands.search import _print_table
from figvault.search_models import SearchHit, SearchResponse


def hit(caption: str, title: str) -> SearchHit:
    return SearchHit(
        unit_id="u1", doc_id="d1", doc="deck.pptx", page=1, page_size=(720, 540), bbox=(0, 0, 100, 100),
        kind="chart", label=None, title=title, caption=caption, image="", score=0.3, fused_score=0.3,
    )  # fmt: skip


def test_a_hit_without_caption_shows_its_title(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # one line per row
    results = [hit("", "Revenue (million EUR)"), hit("Figure 2: Rack row B.", "Field photo")]
    _print_table("top results", SearchResponse(results=results))
    out = capsys.readouterr().out
    assert "title: Revenue (million EUR)" in out
    assert "Figure 2: Rack row B." in out and "Field photo" not in out  # a caption wins over the title


def test_no_match_says_above_the_table_that_the_hits_are_only_the_closest(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search that found no good match listed its hits as usual and said "NO MATCH" at the end of the
    timings line, after the table: a newcomer read the top hit as the answer."""
    monkeypatch.setenv("COLUMNS", "200")
    _print_table("top results", SearchResponse(results=[hit("", "Revenue (million EUR)")], no_match=True))
    out = capsys.readouterr().out
    warning = out.index("No good match")
    assert warning < out.index("Revenue (million EUR)")  # before the hits, not after them
    assert "closest" in out[warning:].splitlines()[0]


def test_a_match_says_nothing_of_no_match(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    _print_table("top results", SearchResponse(results=[hit("", "Revenue (million EUR)")]))
    out = capsys.readouterr().out
    assert "No good match" not in out and "NO MATCH" not in out


def test_the_rerankers_reasons_are_in_the_table(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`figvault search --explain` ran the reranker's explanations and printed none of them: the table had
    no column for them, only --json carried them (a first-hour walk, 2026-12-05)."""
    monkeypatch.setenv("COLUMNS", "200")
    explained = hit("Figure 2: Rack row B.", "").model_copy(update={"explanation": "a photo of rack row B"})
    _print_table("top results", SearchResponse(results=[explained, hit("", "Revenue")], reranked=True))
    out = capsys.readouterr().out
    assert "why" in out.splitlines()[2] and "a photo of rack row B" in out
    _print_table("top results", SearchResponse(results=[hit("", "Revenue")]))
    assert "why" not in capsys.readouterr().out  # no column of blanks when nothing was explained


def test_a_documents_text_is_shown_as_written_never_as_markup_or_terminal_codes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Captions, labels and names come from uploaded documents (pymupdf hands back an ESC from a PDF's text
    as it is). The table read them as rich markup, so a caption holding ``[/bold]`` raised MarkupError
    and ended ``figvault search``, and ``[link=...]`` made a terminal hyperlink; an ESC or a CSI reached
    the operator's terminal raw (failed before: MarkupError)."""
    monkeypatch.setenv("COLUMNS", "300")
    hostile = hit("Figure 2: [link=http://evil.example]x[/link] [/bold] a\x1b[2Jb\x9bc", "")
    _print_table("q [/x]", SearchResponse(results=[hostile.model_copy(update={"label": "L\x1b[31m"})]))
    out = capsys.readouterr().out
    assert "[link=http://evil.example]x[/link] [/bold] a\\x1b[2Jb\\x9bc" in out
    assert "L\\x1b[31m" in out and "q [/x]" in out
    assert not any(ch in out for ch in "\x1b\x9b")


@pytest.mark.parametrize(
    ("suggested", "shown"),
    [("raft leader election", "raft leader election?"), ("cats of France?", "cats of France?")],
)
def test_did_you_mean_ends_with_one_question_mark(
    capsys: pytest.CaptureFixture[str], suggested: str, shown: str
) -> None:
    # A question asked with its "?" was shown "Did you mean: ... France??".
    _print_table("top results", SearchResponse(results=[], no_match=True, did_you_mean=suggested))
    [line] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Did you mean")]
    assert line == f"Did you mean: {shown}"
