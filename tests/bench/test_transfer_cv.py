"""bench/transfer_cv.py's grouped folds: a document's questions are held out together, each document once."""

from __future__ import annotations

from tests.helpers.bench_module import load_bench

transfer_cv = load_bench("transfer_cv")
document_folds, restricted, untitled_view = (
    transfer_cv.document_folds,
    transfer_cv.restricted,
    transfer_cv.untitled_view,
)


def _line(qid: str, doc: str) -> dict:
    return {"query": {"id": qid, "doc": doc}}


BY_SIZE = {
    "labelled": [_line("a1", "a.pdf"), _line("a2", "a.pdf"), _line("b1", "b.pdf")],
    "full": [_line("a1", "a.pdf"), _line("a2", "a.pdf"), _line("b1", "b.pdf"), _line("c1", "c.pdf")],
}


def test_every_document_is_held_out_exactly_once() -> None:
    for folds in (0, 2, 3, 10):
        for seed in range(4):
            held = document_folds(BY_SIZE, folds, seed)
            assert sorted(d for fold in held for d in fold) == ["a.pdf", "b.pdf", "c.pdf"]
    assert len(document_folds(BY_SIZE, 0, 0)) == 3
    assert len(document_folds(BY_SIZE, 2, 0)) == 2


def test_a_documents_questions_stay_on_one_side_at_every_size() -> None:
    train = restricted(BY_SIZE, {"a.pdf"}, inside=False)
    test = restricted(BY_SIZE, {"a.pdf"}, inside=True)
    assert [x["query"]["id"] for x in train["full"]] == ["b1", "c1"]
    assert [x["query"]["id"] for x in train["labelled"]] == ["b1"]
    assert {x["query"]["id"] for lines in test.values() for x in lines} == {"a1", "a2"}


def test_the_untitled_view_blanks_a_copy_and_leaves_the_questions_as_they_were() -> None:
    row = {"title": "Adoption by company size", "caption": ""}
    by_size = {"full": [{"query": {"id": "a1", "doc": "a.pdf"}, "candidates": [{"row": row}]}]}
    views = untitled_view(by_size)
    assert list(views) == ["full", "full, untitled"]
    assert views["full, untitled"][0]["candidates"][0]["row"]["title"] == ""
    assert views["full"][0]["candidates"][0]["row"]["title"] == "Adoption by company size"
