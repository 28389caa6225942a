"""``figvault ingest --config offline DIR`` (a global option after the command) got click's boxed "No such
option: --config", which did not say that the option belongs before the command (first-hour audit)."""

from __future__ import annotations

import pytest

from figvault.cli import misplaced_global_option


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["ingest", "--config", "offline", "./tw"], "--config"),
        (["--config", "offline", "ingest", "--data-dir=/tmp/d", "./tw"], "--data-dir"),
        (["documents", "list", "--config", "offline"], "--config"),
    ],
)
def test_a_global_option_after_the_command_says_where_it_goes(args: list[str], said: str) -> None:
    line = misplaced_global_option(args)
    assert line is not None and line.startswith(f"error: {said} is an option of figvault itself")
    assert "give it before the command" in line


@pytest.mark.parametrize(
    "args",
    [
        ["--config", "offline", "ingest", "./tw", "--groups", "a"],
        ["--data-dir", "/tmp/d", "--config", "offline", "search", "revenue chart"],
        ["--version"],
        [],
        ["ingest", "./config"],  # a path is no option
    ],
)
def test_options_in_their_place_pass(args: list[str]) -> None:
    assert misplaced_global_option(args) is None
