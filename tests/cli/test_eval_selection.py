"""``figvault eval`` with nothing to score: before, ``--split tune`` on a file whose lines carry no
``split`` (the shared dev questions, as the README's own example gives them) kept no query and printed
"0 answerable queries ... recall@1 0.000", exit 0: a number that reads like a broken store. Now it stops
with a line saying why, before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def run_eval(tmp_path: Path, lines: list[dict], *args: str) -> tuple[int, str]:
    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps(line) + "\n" for line in lines))
    base = ["--config", "offline", "--data-dir", str(tmp_path / "data"), "eval", str(queries)]
    result = CliRunner().invoke(app, [*base, *args])
    return result.exit_code, result.stderr


QUESTION = {"id": "q1", "query": "revenue by region", "doc": "a.pdf", "page": 1, "label": "Figure 1"}


def test_a_split_no_line_carries_is_an_error(tmp_path: Path) -> None:
    code, err = run_eval(tmp_path, [QUESTION], "--split", "tune")
    assert code == 2
    assert "none of the 1 queries" in err and "has a `split` field, so --split tune keeps none" in err


def test_a_split_other_lines_carry_is_an_error(tmp_path: Path) -> None:
    code, err = run_eval(tmp_path, [{**QUESTION, "split": "report"}], "--split", "tune")
    assert code == 2 and 'has "split": "tune"' in err


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    code, err = run_eval(tmp_path, [])
    assert code == 2 and "holds no query" in err


def test_queries_whose_answer_is_not_indexed_are_named(tmp_path: Path) -> None:
    """Run on an empty or partial store (or the wrong tenant), eval printed recall 0.000 without a word:
    the questions whose answer document is not indexed count as misses, and it now says which and why."""
    code, err = run_eval(tmp_path, [QUESTION, {**QUESTION, "id": "q2", "doc": None}])
    assert code == 0
    assert "warning: 1 of the 1 answerable queries have their answer in documents not indexed" in err
    assert "tenant 'default' (a.pdf)" in err


def test_eval_says_what_it_does_and_how_far_it_got(tmp_path: Path) -> None:
    """At realistic size a run takes minutes, and they were silent: now a line before the models load and
    one every few seconds and at the end (here, the end)."""
    code, err = run_eval(tmp_path, [QUESTION, {**QUESTION, "id": "q2"}])
    assert code == 0
    assert "eval: loading the models and the store, then 2 queries..." in err and "eval: 2/2 queries" in err
