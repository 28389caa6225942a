"""``figvault <cmd> --help`` showed every boolean flag as ``--json <bool>`` (typer 0.29's help prints an
option without a metavar by its type), so users typed ``--json true``: "Got unexpected extra argument (true)".
Every flag is declared with ``figvault.commands.flag`` and its help shows the flag alone."""

from __future__ import annotations

import json
from pathlib import Path

import click
import typer
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def _commands(command: click.Command, path: list[str]) -> list[list[str]]:
    subcommands = getattr(command, "commands", {})
    return [path] + [p for name, sub in subcommands.items() for p in _commands(sub, [*path, name])]


def _flag_lines(help_text: str) -> list[str]:
    """The help's lines that declare a flag other than --help (typer's own, outside figvault's reach)."""
    return [line for line in help_text.splitlines() if "--" in line and "--help" not in line]


def test_no_flag_shows_a_value_in_any_commands_help() -> None:
    root = typer.main.get_command(app)
    paths = _commands(root, [])
    checked = 0
    for path in paths:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, (path, result.output)
        lines = _flag_lines(result.stdout)
        assert not [line for line in lines if "<bool>" in line], (path, result.stdout)
        checked += sum(flag in line for line in lines for flag in ("--json ", "--quiet ", "--rerank "))
    # The flags were looked at: --json of 8 commands, --quiet of 3, --rerank of 2.
    assert checked >= 10, checked


def test_json_is_still_a_flag(tmp_path: Path) -> None:
    base = ["--config", "offline", "--data-dir", str(tmp_path)]
    result = CliRunner().invoke(app, [*base, "jobs", "list", "--json"])
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout), list | dict)


def test_the_global_options_say_their_defaults() -> None:
    """``figvault --help`` named --config and --data-dir without what applies when they are left out (the
    full profile, and a folder under the home directory): a newcomer could not tell where the data went."""
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    text = " ".join(result.stdout.split())
    assert "offline (default: the profile default, the full one" in text, result.stdout
    assert "default: the settings' data_dir, else $XDG_DATA_HOME/figvault or ~/.local/share/figvault" in text


def test_no_help_shows_source_markup() -> None:
    """Docstrings are the commands' help: ``users set --help`` printed "audited as ``user-set``", the
    reStructuredText quotes of the source, which a reader takes for part of the name."""
    root = typer.main.get_command(app)
    shown = []
    for path in _commands(root, []):
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        shown += [(path, line.strip()) for line in result.stdout.splitlines() if "``" in line]
    assert shown == []
