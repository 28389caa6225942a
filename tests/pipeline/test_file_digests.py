"""``FileDigests``: a file's hash read once per job, read again when the file changed in between."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from figvault.pipeline.file_digests import FileDigests


def test_a_file_is_hashed_once_and_again_after_it_changed(tmp_path: Path) -> None:
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"first bytes")
    digests = FileDigests()
    first = digests.sha256(path)
    assert first == hashlib.sha256(b"first bytes").hexdigest()
    assert digests.sha256(path) == first and digests.hashed == 1
    path.write_bytes(b"other bytes")  # the same size: the modification time tells
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert digests.sha256(path) == hashlib.sha256(b"other bytes").hexdigest()
    assert digests.hashed == 2


def test_at_most_the_kept_digests_stay(tmp_path: Path) -> None:
    digests = FileDigests(kept=2)
    paths = [tmp_path / f"{i}.pdf" for i in range(3)]
    for i, path in enumerate(paths):
        path.write_bytes(bytes([i]))
        digests.sha256(path)
    digests.sha256(paths[2])
    assert digests.hashed == 3
    digests.sha256(paths[0])  # the oldest went
    assert digests.hashed == 4


def test_a_file_rewritten_with_its_old_size_and_mtime_is_hashed_again(tmp_path: Path) -> None:
    """``cp -p``, ``rsync -t`` and ``tar`` set a written file's mtime back; its change time moves. Before
    2026-12-05 the key was (path, size, mtime): the old bytes' digest came back for the new bytes."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(b"first bytes")
    digests = FileDigests()
    digests.sha256(path)
    before = path.stat()
    path.write_bytes(b"other bytes")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert digests.sha256(path) == hashlib.sha256(b"other bytes").hexdigest()
