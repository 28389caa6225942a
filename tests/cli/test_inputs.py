"""A folder that gives figvault nothing to read, and files a folder ingest leaves out, are said out loud:
before, ``figvault ingest empty/`` printed "0 new, ... 0 failed" and exited 0, and a .ppt beside the PDFs
was left out without a word."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.commands._inputs import skipped_line
from figvault.ingest.extract import skipped_files

load_commands()


def run_cli(args: list[str], data_dir: Path) -> object:
    return CliRunner().invoke(app, ["--config", "offline", "--data-dir", str(data_dir), *args])


@pytest.fixture
def unsupported(tmp_path: Path) -> Path:
    folder = tmp_path / "decks"
    (folder / "old").mkdir(parents=True)
    (folder / "old" / "q3.ppt").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    (folder / "notes.docx").write_bytes(b"PK\x03\x04")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / ".git").mkdir()
    (folder / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    return folder


@pytest.mark.parametrize("command", ["ingest", "extract"])
def test_an_empty_folder_is_an_error_not_an_empty_success(command: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    extra = ["--out", str(tmp_path / "out")] if command == "extract" else ["--groups", "g"]
    result = run_cli([command, str(empty), *extra], tmp_path / "data")
    assert result.exit_code == 2, result.output
    assert f"error: no PDF or PPTX file in {empty}" in result.output
    assert "0 new" not in result.output and "extracted 0 units" not in result.output


def test_a_folder_of_unsupported_files_names_them_and_the_fix(unsupported: Path, tmp_path: Path) -> None:
    result = run_cli(["ingest", str(unsupported), "--groups", "g"], tmp_path / "data")
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0] == skipped_line([unsupported / "notes.docx", unsupported / "old" / "q3.ppt"])
    assert "save .ppt files as PPTX or PDF" in lines[0] and ".DS_Store" not in lines[0]
    assert lines[1].startswith("error: no PDF or PPTX file in")


def test_skipped_files_lists_what_a_folder_ingest_leaves_out(unsupported: Path, tmp_path: Path) -> None:
    (unsupported / "report.PDF").write_bytes(b"%PDF-1.7")
    (unsupported / "deck.pptx").write_bytes(b"PK\x03\x04")
    named = tmp_path / "named.txt"
    named.write_text("a file named directly is read whatever its name")
    assert skipped_files([unsupported, named, tmp_path / "missing"]) == [
        unsupported / "notes.docx",
        unsupported / "old" / "q3.ppt",
    ]


def test_the_skipped_line_counts_past_five() -> None:
    line = skipped_line([Path(f"f{i}.txt") for i in range(7)])
    assert "skipped 7 file(s)" in line and "f4.txt" in line and "f5.txt" not in line and "and 2 more" in line
    assert "save" not in line  # no fix to offer for a text file


def test_a_folder_of_only_refused_entries_says_why_each_was_refused(tmp_path: Path) -> None:
    """A folder holding only a link out of it and a pipe said "no PDF or PPTX file in lk", as if it were
    empty; with one real PDF beside them, the same two got their reasons."""
    import os

    folder = tmp_path / "lk"
    folder.mkdir()
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "outside.pdf").symlink_to(tmp_path / "secret.pdf")
    os.mkfifo(folder / "pipe.pdf")
    result = run_cli(["ingest", str(folder), "--groups", "g"], tmp_path / "data")
    assert result.exit_code == 2, result.output
    [line] = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert line.startswith(f"error: no PDF or PPTX file to read in {folder}: ")
    assert f"{folder / 'outside.pdf'}: refused: a symbolic link to a file outside the folder" in line
    assert f"{folder / 'pipe.pdf'}: refused: not a regular file: a named pipe" in line


@pytest.mark.parametrize("command", ["ingest", "extract"])
def test_a_mistyped_folder_is_an_error_before_any_job(command: str, tmp_path: Path) -> None:
    """``figvault ingest ./nonexistent`` recorded a failed job and said "see the job's errors"."""
    extra = ["--out", str(tmp_path / "out")] if command == "extract" else ["--groups", "g"]
    result = run_cli([command, str(tmp_path / "nonexistent"), *extra], tmp_path / "data")
    assert result.exit_code == 2, result.output
    assert f"error: no such file or folder: {tmp_path / 'nonexistent'}" in result.output
    if command == "ingest":
        from figvault.pipeline.jobs import JobStore
        from figvault.settings import load_settings

        assert JobStore.open(load_settings("offline", data_dir=tmp_path / "data")).list() == []
