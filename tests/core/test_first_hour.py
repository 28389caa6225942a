"""First-hour traps: library chatter that reads as a failure, and a printed command that searches
another data folder than the one the demo filled."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import pytest

from figvault.cli import quiet_libraries
from figvault.commands.demo import search_hint
from figvault.settings import default_data_dir, load_settings


def test_grpc_core_errors_are_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """The keepalive chatter is stopped at its source (tests/retrieval/test_lite_keepalive.py); gRPC's
    own errors stay visible (before 2026-12-05 the CLI set GRPC_VERBOSITY=NONE, hiding them all)."""
    monkeypatch.delenv("GRPC_VERBOSITY", raising=False)
    quiet_libraries()
    assert "GRPC_VERBOSITY" not in os.environ
    monkeypatch.setenv("GRPC_VERBOSITY", "DEBUG")
    quiet_libraries()
    assert os.environ["GRPC_VERBOSITY"] == "DEBUG"


def test_the_demo_hint_searches_the_data_folder_the_demo_filled(tmp_path: Path) -> None:
    elsewhere = load_settings("offline", data_dir=tmp_path / "my data")
    words = shlex.split(search_hint(elsewhere))
    assert words[: words.index("search")] == [
        "figvault",
        "--config",
        "offline",
        "--data-dir",
        str(tmp_path / "my data"),
    ]
    assert "--tenant" in words and words[-1] == "your question"
    default = shlex.split(search_hint(load_settings("offline", data_dir=default_data_dir())))
    assert "--data-dir" not in default


def test_the_demo_hint_names_the_settings_file_it_ran_with(tmp_path: Path) -> None:
    """A file with ``profile = "offline"`` (the first line of configs/offline.toml, natural to copy) and
    ``extends = "offline"``: the hint said ``--config offline``, which then refused the store ("store
    serves v485..., configured v4be...") as the file's own settings were not the profile's."""
    mine = tmp_path / "my settings.toml"
    mine.write_text('profile = "offline"\nextends = "offline"\n[text]\nprecision = "bf16"\n')
    words = shlex.split(search_hint(load_settings(mine, data_dir=tmp_path / "data")))
    assert words[words.index("--config") + 1] == str(mine)
