"""A little disk space held back so that a job stopped by a full disk can still record its end.

A full disk fails the next write wherever it happens: the store's, and then the registry's, where the job's
end is recorded. With the registry in the data folder (SQLite, the embedded default) that last write
failed too, and the job stayed ``running`` until a ``figvault serve`` on the folder requeued it as an
orphan. So the data folder holds ``disk-reserve`` (1 MiB of random bytes: no filesystem stores them
sparse or compressed), made when a job starts if there is room; a job that finds the disk full deletes
it and then records its end in the space it gave back (``pipeline/jobs.py`` ``execute``). The next job
makes it again once there is room. A registry elsewhere (PostgreSQL) does not share the data folder's
disk, so no reserve is kept then.

Jobs of one process (a serve's runner, a second app, a command run beside them) share one reserve, so
making it and giving it back take one lock (``given_back``, held until the job's end is recorded): a job
that started meanwhile made the reserve again in the room just given back, and the end record failed; two
jobs making it at once truncated each other's partial file (one fixed name) and one found it gone. The
partial file is named by the process, so another process on the folder never truncates it either.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from figvault.settings import Settings

log = logging.getLogger(__name__)

RESERVE_NAME = "disk-reserve"
RESERVE_BYTES = 2**20
"""A job's end record in SQLite's write-ahead log takes a few pages (4 KiB each) and its errors."""

STALE_PART_S = 3600.0
"""A partial reserve file this old is left by a process killed while it wrote it (writing 1 MiB takes
milliseconds); named by a process that may run in another container on the same folder, it is judged by its
age, not by whether that process id is alive here."""

_held = threading.RLock()
"""Held while the reserve is made, and from giving it back until a job's end is recorded in its room."""


def reserve_path(settings: Settings) -> Path | None:
    """Where the reserve lives: beside the registry in the data folder; None when the registry is not
    there (``registry.url`` set)."""
    return None if settings.registry.url else settings.data_dir / RESERVE_NAME


def ensure(settings: Settings) -> bool:
    """Make the reserve if it is missing (or short); False when there is no room for it (nothing is left
    of a partial one) or none is kept."""
    path = reserve_path(settings)
    if path is None:
        return False
    with contextlib.suppress(OSError):
        if path.stat().st_size >= RESERVE_BYTES:
            return True
    partial = path.with_name(f"{RESERVE_NAME}.{os.getpid()}.part")
    with _held:
        return _make(path, partial)


def _make(path: Path, partial: Path) -> bool:
    with contextlib.suppress(OSError):  # made by another job while this one waited
        if path.stat().st_size >= RESERVE_BYTES:
            return True
    _remove_stale_parts(path.parent)
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(os.urandom(RESERVE_BYTES))
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # a read-only folder refuses even to unlink a missing file
            partial.unlink(missing_ok=True)
        log.debug("no disk reserve in %s: %s", path.parent, exc)
        return False
    return True


def _remove_stale_parts(folder: Path) -> None:
    """Remove the partial reserve files processes killed while writing them left (each is named by its
    process, so none is written over: 1 MiB each on a disk that may be filling)."""
    for part in folder.glob(f"{RESERVE_NAME}.*.part"):
        with contextlib.suppress(OSError):
            if time.time() - part.lstat().st_mtime > STALE_PART_S:
                part.unlink()


@contextlib.contextmanager
def given_back(settings: Settings) -> Iterator[bool]:
    """Give the reserve's space back (the disk is full and a job's end must be recorded) and keep this
    process's other jobs from making it again until the block ends; yields whether there was one."""
    with _held:
        yield release(settings)


def release(settings: Settings) -> bool:
    """Give the reserve's space back; True when there was one. A job recording its end uses
    ``given_back``."""
    path = reserve_path(settings)
    if path is None:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
