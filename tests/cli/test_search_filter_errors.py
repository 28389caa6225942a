"""A wrong filter value ends ``figvault search`` with one line naming its option, before any model loads.
``--pages 7-3`` said ``error: --pages: pages: a range goes ...``: the validator's reason starts with its
field, and the option was put in front of it again (a first-hour walk, 2026-12-05)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.search_models import MAX_PAGE

load_commands()

RANGE = f"error: --pages: a range goes from a first page to a later one, within 1-{MAX_PAGE}"


@pytest.mark.parametrize(
    ("option", "value", "line"),
    [
        ("--pages", "7-3", RANGE),
        ("--pages", "abc", "error: --pages: not a page range like 3-7, 5, 3- or -7"),
        ("--aspect", "wide", "error: --aspect: Input should be 'landscape', 'portrait' or 'square'"),
        # Given with no value (commas alone, an empty shell variable): dropped, it searched unfiltered.
        ("--tags", ",", "error: --tags: a tag cannot be empty"),
        ("--tags", "", "error: --tags: a tag cannot be empty"),
        ("--doc", " , ", "error: --doc: String should have at least 1 character"),
        ("--doc-id", ",", "error: --doc-id: String should have at least 1 character"),
    ],
)
def test_a_wrong_filter_is_one_line_naming_its_option_once(
    tmp_path: Path, option: str, value: str, line: str
) -> None:
    args = ["--config", "offline", "--data-dir", str(tmp_path), "search", "raft", option, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [line]


@pytest.mark.parametrize(
    ("options", "line"),
    [
        (["--min-width", "900", "--max-width", "300"], "error: --min-width is more than --max-width"),
        (["--after", "2025-01-01", "--before", "2000-01-01"], "error: --after is later than --before"),
    ],
)
def test_a_reversed_pair_names_both_options(tmp_path: Path, options: list[str], line: str) -> None:
    """Two options that contradict each other: before, "filters: min_width is more than max_width" (the
    model's field names), and a reversed day range searched and found nothing, exit 0."""
    args = ["--config", "offline", "--data-dir", str(tmp_path), "search", "raft", *options]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [line]
