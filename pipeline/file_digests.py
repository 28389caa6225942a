"""A file's content hash (SHA-256), computed once per job.

A job asks it twice for most files: the look-ahead's ``worth`` (is a stored document of the tenant already
made of these bytes?) and then the batch's plan (skip, replace or add). Hashing the corpus twice cost about
0.7 s a job; ``FileDigests`` keeps each digest under the file's path, size, modification time, inode and
change time, read from the opened file before its bytes, so a file changed in between is hashed again,
even one written back with its old size and mtime (the change time moves with any write).
"""

from __future__ import annotations

import errno
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from figvault.ingest.extract import Bounds

KEPT = 4096
"""Digests kept at most (the oldest go first): a job asks for a file's again within two batches."""


def _sha256(fh: BinaryIO) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: fh.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


class FileDigests:
    """Files' SHA-256 digests (hex), each kept under (path, size, mtime, inode, ctime) for one job."""

    def __init__(self, kept: int = KEPT, bounds: Mapping[str, Bounds] | None = None) -> None:
        self._kept = kept
        self._bounds = bounds
        """Path -> where the file must be when opened (``extract.file_bounds``): one found elsewhere, or a
        path the listing did not give, is not read. None: no listing (any path, followed anywhere)."""
        self._known: OrderedDict[tuple[str, int, int, int, int], str] = OrderedDict()
        self._lock = threading.Lock()
        self.hashed = 0
        """Files read and hashed (not found kept)."""

    def sha256(self, path: Path) -> str:
        """The digest of a regular file's bytes: kept, or read (OSError, also for a file found outside its
        bounds; UnsupportedFileError for a file that is not regular)."""
        from figvault.ingest.extract import LEFT_ITS_FOLDER, open_within

        bounds = () if self._bounds is None else self._bounds.get(str(path))
        if bounds is None:  # not listed: never "named directly", which is followed anywhere
            raise OSError(errno.EXDEV, LEFT_ITS_FOLDER)
        with open_within(path, bounds) as fh:
            info = os.fstat(fh.fileno())
            # ctime too: a write moves it and no utime sets it back (cp -p, rsync -t, tar keep the mtime)
            key = (str(path), info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)
            with self._lock:
                known = self._known.get(key)
            if known is not None:
                return known
            digest = _sha256(fh)
        with self._lock:
            self.hashed += 1
            self._known[key] = digest
            while len(self._known) > self._kept:
                self._known.popitem(last=False)
        return digest
