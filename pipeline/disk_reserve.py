"""A little disk space held back so that a job stopped by a full disk can still record its end.

A full disk fails the next write wherever it happens: the store's, and then the registry's, where the job's
end is recorded. With the registry in the data folder (SQLite, the embedded default) that last write
failed too, and the job stayed ``running`` until a ``figvault serve`` on the folder requeued it as an
orphan. So the data folder holds ``disk-reserve`` (1 MiB of random bytes: no filesystem stores them
sparse or compressed), made when a job starts if there is room; a job that finds the disk full deletes
it and then records its end in the space it gave back (``pipeline/jobs.py`` ``execute``). The next job
makes it again once there is room. A registry elsewhere (PostgreSQL) does not share the data folder's
disk, so no reserve is kept then.
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from figvault.settings import Settings

log = logging.getLogger(__name__)

RESERVE_NAME = "disk-reserve"
RESERVE_BYTES = 2**20
"""A job's end record in SQLite's write-ahead log takes a few pages (4 KiB each) and its errors."""


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
    partial = path.with_name(RESERVE_NAME + ".part")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
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


def release(settings: Settings) -> bool:
    """Give the reserve's space back (the disk is full and a job's end must be recorded); True when
    there was one."""
    path = reserve_path(settings)
    if path is None:
        return False
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True
