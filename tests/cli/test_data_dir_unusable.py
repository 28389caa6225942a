"""A data folder figvault cannot use (a path under a file, a folder it may not write) ends a command with
one line naming it and the two ways to choose another. Before (a first-hour walk, 2026-12-05) ``status``
ended with a NotADirectoryError traceback from the registry's SQLite file, ``users add`` with a
FileNotFoundError from a mkdir, 40-60 lines each."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.cli import offline_cli as run
from tests.helpers.mounts import NamespaceUnavailable, read_only


@pytest.mark.parametrize(
    "command", [("status",), ("users", "add", "ana", "--role", "admin"), ("jobs", "list")]
)
def test_a_data_folder_under_a_file_is_refused_in_one_line(tmp_path: Path, command: tuple[str, ...]) -> None:
    a_file = tmp_path / "notes.txt"
    a_file.write_text("not a folder")
    result = run(a_file / "figvault", *command)
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"error: the data folder {a_file / 'figvault'} is under {a_file}, which is a file: choose another"
        " with --data-dir or FIGVAULT_DATA_DIR"
    ]
    result = run(a_file, *command)
    assert result.output.startswith(f"error: the data folder {a_file} is not a folder:"), result.output


def test_a_folder_this_user_may_not_write_is_refused_in_one_line(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes any folder whatever its mode (a read-only mount: the test below)")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    result = run(locked / "data", "status")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"error: the data folder {locked / 'data'} would be made in {locked}, which is not writable by this"
        " user: choose another with --data-dir or FIGVAULT_DATA_DIR"
    ]


def test_a_data_folder_on_a_read_only_mount_is_said_so(tmp_path: Path) -> None:
    """A read-only mount was reported as "not writable by this user", which sent an operator after file
    modes and owners (a first-hour walk, 2026-12-05): it stops every user, root too (CI runs as root)."""
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    try:
        result = read_only(mounted, lambda: run(mounted / "data", "status"))
    except NamespaceUnavailable as exc:
        pytest.skip(f"no mount namespace here for a read-only folder: {exc}")
    assert result.exit_code == 2, result.output
    assert result.output.splitlines() == [
        f"error: the data folder {mounted / 'data'} would be made in {mounted}, which is on a read-only file"
        " system: choose another with --data-dir or FIGVAULT_DATA_DIR"
    ]


def test_a_missing_data_folder_is_still_fine(tmp_path: Path) -> None:
    result = run(tmp_path / "new" / "data", "jobs", "list")
    assert result.exit_code == 0, result.output
