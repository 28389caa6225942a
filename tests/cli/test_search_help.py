"""``search --kind`` said only "Only these figure kinds": a newcomer learnt the kinds by trying a wrong one.
Its help now lists them (from FigureKind, so a new kind is listed without touching the help)."""

from __future__ import annotations

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.units import FigureKind

load_commands()


def test_search_help_lists_the_figure_kinds() -> None:
    result = CliRunner().invoke(app, ["search", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if "--kind" in line]
    assert all(kind.value in line for kind in FigureKind), line
