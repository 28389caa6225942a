"""A cross-process lock between writers of the served collection and the alias switch of a re-encode.

Ingest holds it *shared* while it writes one document (many ingests may run at once); a re-encode holds it
*exclusive* for its last catch-up, verification and the alias switch, so no unit can land in the old
collection after the new one was verified. ``flock`` on a file in the data folder: the kernel releases it
when the process dies (kill -9 included), so a crashed writer never blocks anyone.

Scope: processes on one machine sharing the data folder (the embedded default). Writers on several
machines against one Milvus server need a lock service instead (docs/jobs.md).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from figvault.settings import Settings

LOCK_NAME = "store-write.lock"


def lock_path(settings: Settings) -> Path:
    return settings.data_dir / LOCK_NAME


@contextlib.contextmanager
def store_write_lock(settings: Settings, *, exclusive: bool) -> Iterator[None]:
    """Hold the lock (shared or exclusive) for the body of the ``with``; blocks until it is granted."""
    path = lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(fd)
