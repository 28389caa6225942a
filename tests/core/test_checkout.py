"""The repository never carries a virtual environment.

A worktree that links ``.venv`` to a shared one (``ln -s ../main/.venv .venv``) saw the link as a new file,
because ``.venv/`` in .gitignore matches folders only, and a ``git add -A`` committed it: every clean clone
then had a ``.venv`` pointing at another checkout's environment, and ``install.sh`` (which keeps an
existing ``.venv``) installed this clone into that one.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout


def test_a_linked_venv_is_ignored(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    shutil.copy(REPO / ".gitignore", tmp_path / ".gitignore")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".venv").symlink_to(tmp_path / "elsewhere")
    assert ".venv" not in _git(tmp_path, "status", "--porcelain", "--untracked-files=all")


def test_the_repository_tracks_no_venv() -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    assert _git(REPO, "ls-files", "--", ".venv") == ""
