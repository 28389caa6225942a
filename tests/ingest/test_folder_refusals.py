"""ingest.extract.refusal on the folder paths f469e7f's CLI test does not take: a folder named through a
symbolic link (``~/reports -> /mnt/share/reports``, every file resolves outside the path as given) and a
link to a sibling inside the folder are read; a link out of the folder is refused whichever way the folder
is named; a path that is not there is no refusal (it is missing, said elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

from figvault.ingest.extract import LEAVES_FOLDER, LINK_LOOP, LINK_TO_NOTHING, NOT_REGULAR, refusal


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
