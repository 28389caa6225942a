"""The README's Usage block and the commands' ``--help`` name the same commands and options.

The Usage block is what an operator copies from. A flag it names that a command lacks ends the command
with "No such option"; a flag or command it leaves out (``users list``, ``users revoke``, ``ingest
--json``, ``eval --tenant`` were missing) is one the operator does not know exists.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import typer

from figvault.cli import load_commands
from figvault.commands import app

README = Path(__file__).resolve().parents[2] / "README.md"
GLOBAL_OPTIONS = {"--config", "--data-dir", "--version", "--help"}
"""Options of ``figvault`` itself: the paragraph under the Usage block names them."""


def _usage_block() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```bash", text.index("## Usage")) + len("```bash")
    return text[start : text.index("```", start)]


def _documented() -> dict[tuple[str, ...], set[str]]:
    """Command path (``("jobs", "show")``) -> the options its Usage lines name."""
    block = _usage_block().replace("\\\n", " ")
    found: dict[tuple[str, ...], set[str]] = {}
    for line in block.splitlines():
        line = line.split("#", 1)[0]
        if not line.startswith("$fv "):
            continue
        for part in line.removeprefix("$fv ").split(" | "):
            words = part.split()
            path = tuple(words[:2]) if _is_group(words[0]) else (words[0],)
            found.setdefault(path, set()).update(re.findall(r"--[a-z][a-z-]*", part))
    return found


def _root() -> Any:
    """The click group of ``figvault`` (typer's own vendored click: checked by shape, not class)."""
    load_commands()
    return typer.main.get_command(app)


def _is_group(name: str) -> bool:
    return hasattr(_root().commands.get(name), "commands")


def _actual() -> dict[tuple[str, ...], set[str]]:
    """Command path -> its options (both names of a ``--rerank/--no-rerank`` flag), ``--help`` aside."""
    commands: dict[tuple[str, ...], set[str]] = {}
    for name, command in _root().commands.items():
        subcommands = command.commands if hasattr(command, "commands") else {None: command}
        for sub, leaf in subcommands.items():
            options = {
                flag
                for param in leaf.params
                if param.param_type_name == "option"
                for flag in [*param.opts, *param.secondary_opts]
                if flag.startswith("--")
            }
            commands[(name,) if sub is None else (name, sub)] = options - {"--help"}
    return commands


def test_every_command_is_in_the_usage_block() -> None:
    assert sorted(set(_actual()) - set(_documented())) == []
    assert sorted(set(_documented()) - set(_actual())) == []


def test_the_usage_block_names_each_command_s_options_and_no_others() -> None:
    actual = _actual()
    wrong = {}
    for path, named in _documented().items():
        unknown, missing = named - actual.get(path, set()) - GLOBAL_OPTIONS, actual.get(path, set()) - named
        if unknown or missing:
            wrong[" ".join(path)] = {"not an option": sorted(unknown), "not in the README": sorted(missing)}
    assert wrong == {}
