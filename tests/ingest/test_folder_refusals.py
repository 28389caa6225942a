"""ingest.extract.refusal on the folder paths f469e7f's CLI test does not take: a folder named through a
symbolic link (``~/reports -> /mnt/share/reports``, every file resolves outside the path as given) and a
link to a sibling inside the folder are read; a link out of the folder is refused whichever way the folder
is named; a path that is not there is no refusal (it is missing, said elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

from figvault.ingest.extract import (
    FOLDER_PATH_TOO_LONG,
    LEAVES_FOLDER,
    LINK_LOOP,
    LINK_TO_NOTHING,
    NOT_REGULAR,
    PATH_TOO_LONG,
    iter_input_files,
    refusal,
    refused_files,
    skipped_files,
)


def test_links_inside_a_folder_named_through_a_link_are_read_links_out_are_refused(tmp_path: Path) -> None:
    real = tmp_path / "share" / "reports"
    real.mkdir(parents=True)
    (real / "plan.pdf").write_bytes(b"%PDF-1.7\n")
    (real / "same.pdf").symlink_to("plan.pdf")  # a sibling: inside the folder
    (tmp_path / "secret.pdf").write_bytes(b"%PDF-1.7\n")
    (real / "out.pdf").symlink_to(tmp_path / "secret.pdf")
    named = tmp_path / "reports"
    named.symlink_to(real, target_is_directory=True)

    for folder in (real, named):
        assert refusal(folder / "plan.pdf", folder) is None, folder
        assert refusal(folder / "same.pdf", folder) is None, folder
        assert refusal(folder / "out.pdf", folder) == LEAVES_FOLDER, folder
    assert refusal(named / "out.pdf") is None  # named directly: followed wherever it leads


def test_what_stat_says_decides_and_nothing_is_opened(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.pdf")  # opening it would wait for a writer: the test would hang
    (tmp_path / "loop.pdf").symlink_to("loop.pdf")
    (tmp_path / "gone.pdf").symlink_to("nothing-here.pdf")
    (tmp_path / "folder.pdf").mkdir()
    assert refusal(tmp_path / "pipe.pdf", tmp_path) == f"{NOT_REGULAR}: a named pipe (FIFO), never opened"
    assert refusal(tmp_path / "loop.pdf", tmp_path) == LINK_LOOP
    assert refusal(tmp_path / "gone.pdf", tmp_path) == LINK_TO_NOTHING
    assert refusal(tmp_path / "folder.pdf", tmp_path) is None
    assert refusal(tmp_path / "missing.pdf", tmp_path) is None


def _deep_folder(root: Path, levels: int, name_len: int = 200) -> Path:
    """``levels`` nested folders of ``name_len`` characters under ``root`` (made with relative steps: the
    whole path may be past PATH_MAX, which no single call could name)."""
    here = os.getcwd()
    os.chdir(root)
    try:
        for _ in range(levels):
            os.mkdir("d" * name_len)
            os.chdir("d" * name_len)
        return Path(os.getcwd())
    finally:
        os.chdir(here)


def test_a_folder_path_past_the_system_limit_fails_alone(tmp_path: Path) -> None:
    """A folder nested past PATH_MAX (4,096 bytes) ended the whole listing with ENAMETOOLONG out of
    ``rglob``: the CLI printed a traceback and ingested nothing. Now the files above it are read, and the
    folder that cannot be listed is refused with its reason; a file whose own path is too long is too."""
    (tmp_path / "good.pdf").write_bytes(b"%PDF-1.7\n")
    levels = (os.pathconf("/", "PC_PATH_MAX") - len(str(tmp_path))) // 201 + 2
    _deep_folder(tmp_path, levels)
    listed = [path.name for path in iter_input_files([tmp_path])]
    assert listed == ["good.pdf"]
    refused = refused_files([tmp_path])
    assert [why for _, why in refused] == [FOLDER_PATH_TOO_LONG]
    assert len(str(refused[0][0])) > os.pathconf("/", "PC_PATH_MAX")
    assert skipped_files([tmp_path]) == []
    assert refusal(Path(str(tmp_path) + "/x" * 3000 + ".pdf"), tmp_path) == PATH_TOO_LONG


def test_a_folder_named_like_a_document_past_the_limit_is_refused_once(tmp_path: Path) -> None:
    """A folder named ``x.pdf`` whose path is past the limit (its parent is not) was refused twice: as a
    file whose path is too long, and as a folder that cannot be listed. Once now, as the folder."""
    fd = os.open(tmp_path, os.O_RDONLY)
    length = len(str(tmp_path))
    try:
        while length + 251 < os.pathconf("/", "PC_PATH_MAX") - 10:
            os.mkdir("d" * 250, dir_fd=fd)
            deeper = os.open("d" * 250, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd, length = deeper, length + 251
        os.mkdir("z" * 200 + ".pdf", dir_fd=fd)
    finally:
        os.close(fd)
    assert [why for _, why in refused_files([tmp_path])] == [FOLDER_PATH_TOO_LONG]


def test_a_folder_a_thousand_levels_deep_is_listed(tmp_path: Path) -> None:
    """Python 3.11's rglob and os.walk recurse once a level: a folder 1,100 levels deep (one-letter names,
    well under the path limit) ended the listing, and the whole ingest, with RecursionError."""
    (tmp_path / "top.pdf").write_bytes(b"%PDF-1.7\n")
    bottom = _deep_folder(tmp_path, 1_100, name_len=1)
    (bottom / "x.pdf").write_bytes(b"%PDF-1.7\n")
    try:
        assert sorted(path.name for path in iter_input_files([tmp_path])) == ["top.pdf", "x.pdf"]
        assert refused_files([tmp_path]) == []
    finally:  # removed bottom up: the test folder's own removal recurses a level at a time too
        (bottom / "x.pdf").unlink()
        here = bottom
        while here != tmp_path:
            here.rmdir()
            here = here.parent
