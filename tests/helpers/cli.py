"""The command line as the CLI tests call it: ``figvault --config offline --data-dir DATA ARGS...``, in
process, through typer's runner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner, Result

from figvault.cli import load_commands
from figvault.commands import app

load_commands()


def offline_cli(data_dir: Path, *args: str) -> Result:
    """The command's result, with the offline profile over ``data_dir``."""
    return CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(data_dir), *args])


def run(data_dir: Path, *args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of ``offline_cli``."""
    result = offline_cli(data_dir, *args)
    return result.exit_code, result.stdout, result.stderr
