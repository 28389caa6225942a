"""Jobs of one process share the data folder's disk reserve (``pipeline/disk_reserve.py``): one job's end
record keeps the room it was given back, and two jobs making the reserve at once both end with it whole.
Threads stand for the jobs; a full disk is an ``ENOSPC`` from the end record's write (the mount-level
cases are in ``test_disk_full_job.py``)."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from figvault.pipeline import disk_reserve, jobs
from figvault.settings import Settings

WAIT_S = 0.5
"""How long the racing job is given to get its reserve made: far longer than making 1 MiB takes."""


def _full() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def _context(tmp_path: Path) -> Any:
    return SimpleNamespace(settings=Settings(data_dir=tmp_path))


def test_a_job_starting_while_another_records_its_end_leaves_it_the_room(tmp_path: Path) -> None:
    """Before, a job that started between another's giving the reserve back and its end record made the
    reserve again in that room, and the end record failed on the full disk."""
    ctx = _context(tmp_path)
    assert disk_reserve.ensure(ctx.settings)
    reserve = disk_reserve.reserve_path(ctx.settings)
    assert reserve is not None
    other = threading.Thread(target=disk_reserve.ensure, args=(ctx.settings,))
    taken_back: list[bool] = []

    def end_record() -> str:
        if not other.is_alive() and not taken_back:
            if not reserve.exists():  # given back: the other job starts now
                other.start()
                other.join(WAIT_S)
                taken_back.append(reserve.exists())
                return "recorded"
            raise _full()
        raise AssertionError("written more than twice")

    assert jobs._recorded(ctx, end_record) == "recorded"
    assert taken_back == [False]
    other.join(10)
    assert reserve.stat().st_size == disk_reserve.RESERVE_BYTES  # made again once the end was recorded


def test_an_end_record_is_tried_again_when_another_job_gave_the_reserve_back(tmp_path: Path) -> None:
    """Two jobs on a full disk: the first gave the reserve back, so the second found none, and raised
    without trying its record in the room the first had freed; its job stayed ``running``."""
    ctx = _context(tmp_path)
    tries: list[int] = []

    def end_record() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise _full()
        return "recorded"

    assert jobs._recorded(ctx, end_record) == "recorded"
    assert len(tries) == 2


def test_two_jobs_making_the_reserve_at_once_both_end_with_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before, both wrote one fixed partial file: the second truncated the first's and moved it into
    place, and the first, its partial gone, answered no reserve."""
    settings = Settings(data_dir=tmp_path)
    answers: list[bool] = []
    other = threading.Thread(target=lambda: answers.append(disk_reserve.ensure(settings)))
    real_urandom = os.urandom

    def random_bytes(size: int) -> bytes:  # the first job's partial file is open: the second starts
        if not other.is_alive() and not answers:
            other.start()
            other.join(WAIT_S)
        return real_urandom(size)

    monkeypatch.setattr(disk_reserve.os, "urandom", random_bytes)
    first = disk_reserve.ensure(settings)
    other.join(10)
    assert [first, *answers] == [True, True]
    assert (tmp_path / disk_reserve.RESERVE_NAME).stat().st_size == disk_reserve.RESERVE_BYTES
    assert sorted(p.name for p in tmp_path.iterdir()) == [disk_reserve.RESERVE_NAME]


def test_a_partial_reserve_left_by_a_killed_process_is_removed_once_stale(tmp_path: Path) -> None:
    """Partial files are named by their process, so a process killed while writing one left it for good
    (1 MiB each, on a disk that may be filling); one as old as STALE_PART_S goes when a reserve is made. A
    fresh one may be another process's write under way (another container's: its id means nothing here)."""
    settings = Settings(data_dir=tmp_path)
    stale, fresh = tmp_path / "disk-reserve.4001.part", tmp_path / "disk-reserve.4002.part"
    for part in (stale, fresh):
        part.write_bytes(b"\0" * 4096)
    old = time.time() - disk_reserve.STALE_PART_S - 60
    os.utime(stale, (old, old))
    assert disk_reserve.ensure(settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == [disk_reserve.RESERVE_NAME, fresh.name]
