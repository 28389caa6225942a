"""``figvault status`` on a data folder nothing was ingested into printed ``collection None`` and
``version_matches False`` and nothing else: a newcomer's first status read as a fault. It now says that
nothing is ingested yet and how to begin."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def test_status_of_a_fresh_data_folder_says_nothing_is_ingested_yet(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(tmp_path), "status"])
    assert result.exit_code == 0, result.output
    assert "nothing ingested yet" in result.stdout and "figvault ingest FOLDER" in result.stdout
