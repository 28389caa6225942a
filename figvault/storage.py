"""Content-addressed local blob store for unit images.

A blob's key is the sha256 of its bytes, so writing the same image twice stores it once and a key never
points at different bytes. Writes go through a temporary file and an atomic rename: a crash never leaves
a half-written blob under a valid key.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

_KEY = re.compile(r"^[0-9a-f]{64}$")


def write_atomic(target: Path, data: bytes) -> None:
    """Write through a temp file and a rename: concurrent writers never leave half a file under ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @staticmethod
    def key_for(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    def path(self, key: str) -> Path:
        # Keys come from clients too (URLs): only a well-formed hash may name a file.
        if not _KEY.match(key):
            raise KeyError(f"not a blob key: {key!r}")
        return self.root / key[:2] / key[2:4] / f"{key}.png"

    def put(self, data: bytes) -> str:
        key = self.key_for(data)
        target = self.path(key)
        if not target.exists():
            write_atomic(target, data)
        return key

    def get(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise KeyError(key) from None

    def exists(self, key: str) -> bool:
        try:
            return self.path(key).exists()
        except KeyError:
            return False

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def keys(self) -> list[str]:
        return sorted(p.stem for p in self.root.glob("*/*/*.png"))
