"""``figvault ingest --config offline DIR`` (a global option after the command) got click's boxed "No such
option: --config", which did not say that the option belongs before the command; and ``search --image``
without CLIP said so only after loading the models (first-hour audit, 2026-12-06)."""

from __future__ import annotations

from pathlib import Path

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


def test_search_by_image_without_clip_says_so_before_loading_models(tmp_path: Path) -> None:
    """``figvault --config offline search --image FILE`` loaded the models for 7 s, then said image search
    needs CLIP; it says so at once now (nothing is loaded: exit 2 before the "loading" line)."""
    from PIL import Image
    from typer.testing import CliRunner

    from figvault.cli import load_commands
    from figvault.commands import app

    load_commands()
    picture = tmp_path / "q.png"
    Image.new("RGB", (8, 8)).save(picture)
    args = ["--config", "offline", "--data-dir", str(tmp_path / "data"), "search", "--image", str(picture)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "error: --image needs the CLIP channel" in result.stderr and "loading" not in result.stderr.lower()
