"""Where figvault keeps its files: unit images (blobs), kept originals, page renders, uploads waiting for
their job. One interface, ``Storage``, over a local folder (the default: the data folder) or any fsspec
URL (``storage.url``: a ``file://`` shared mount, ``s3://bucket/prefix`` with s3fs installed, ...), so that
several replicas see the same files.

Keys are relative paths; content-addressed ones (blobs, originals, renders) never point at other bytes.
Local writes go through a temporary file and an atomic rename, so a crash never leaves half a file under
a valid key; object stores (S3 and the like) make a PUT visible whole.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import fsspec
from fsspec.implementations.local import LocalFileSystem

from figvault.errors import FigvaultError
from figvault.private_dirs import make_private_dirs
from figvault.settings import Settings

_KEY = re.compile(r"^[0-9a-f]{64}$")


def write_atomic(target: Path, data: bytes) -> None:
    """Write through a temp file and a rename: concurrent writers never leave half a file under ``target``."""
    make_private_dirs(target.parent)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class StorageUnavailableError(FigvaultError):
    """``storage.url`` names files figvault cannot reach (its fsspec implementation not installed, ...)."""


def url_without_password(url: str) -> str:
    """``url`` with the password of its user part hidden (``sftp://u:***@host/x``), for terminals and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class Storage:
    """Files under one root: ``read``/``write``/``exists``/``delete``/``list`` by key (a relative path)."""

    def __init__(self, location: str | Path, *, storage_options: dict[str, Any] | None = None) -> None:
        if isinstance(location, Path) or "://" not in str(location):
            self.fs: Any = LocalFileSystem()
            self.root = str(Path(location).expanduser().resolve())
        else:
            try:
                self.fs, self.root = fsspec.core.url_to_fs(str(location), **(storage_options or {}))
            except (ImportError, ValueError) as exc:  # s3:// without s3fs, a scheme fsspec does not know
                shown = url_without_password(str(location))
                raise StorageUnavailableError(f"storage.url {shown!r}: {exc}") from None
            self.root = self.root.rstrip("/")
        self.local = isinstance(self.fs, LocalFileSystem)

    @classmethod
    def from_settings(cls, settings: Settings) -> Storage:
        """``storage.url`` when set, else the data folder."""
        return cls(settings.storage.url or settings.data_dir)

    def area(self, prefix: str) -> Storage:
        """The same storage below ``prefix`` (``blobs``, ``sources``, ...)."""
        sub = object.__new__(Storage)
        sub.fs, sub.local = self.fs, self.local
        sub.root = f"{self.root}/{prefix.strip('/')}"
        return sub

    def _path(self, key: str) -> str:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise KeyError(f"not a storage key: {key!r}")
        return f"{self.root}/{key}"

    def location(self, key: str) -> str:
        """Where the file is, for people: a path, or the URL on a remote storage."""
        path = self._path(key)
        return path if self.local else self.fs.unstrip_protocol(path)

    def local_path(self, key: str) -> Path | None:
        """The file's path when the storage is a local (or mounted) folder, else None."""
        return Path(self._path(key)) if self.local else None

    def read(self, key: str) -> bytes:
        try:
            return self.fs.cat_file(self._path(key))
        except FileNotFoundError:
            raise KeyError(key) from None

    def write(self, key: str, data: bytes) -> None:
        path = self._path(key)
        if self.local:
            write_atomic(Path(path), data)
        else:
            self.fs.pipe_file(path, data)

    def move_in(self, key: str, source: Path) -> None:
        """Store the local file ``source`` under ``key`` and remove it (uploads: no copy in memory)."""
        path = self._path(key)
        if self.local:
            target = Path(path)
            make_private_dirs(target.parent)
            shutil.move(str(source), target)
            return
        self.fs.put_file(str(source), path)
        Path(source).unlink()

    def exists(self, key: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(key)))
        except KeyError:
            return False

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._path(key))

    def delete_tree(self, prefix: str) -> None:
        path = self._path(prefix)
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def files(self, prefix: str = "") -> list[tuple[str, int, float]]:
        """Every file under ``prefix`` (all of them: ""): its key, size in bytes and modification time."""
        top = f"{self.root}/{prefix}".rstrip("/")
        if not self.fs.exists(top):
            return []
        base = len(self.root) + 1
        if self.local:  # os.walk: fsspec's find stats each file through several layers (~10x slower)
            return [(path[base:], size, mtime) for path, size, mtime in _local_files(top)]
        found = self.fs.find(top, detail=True)
        return [(str(path)[base:], int(info.get("size") or 0), _mtime(info)) for path, info in found.items()]

    def touch(self, key: str) -> None:
        """Mark the file used now (its modification time), where the storage allows it cheaply: a local or
        mounted folder; an object store keeps the time it was written."""
        if self.local:
            with contextlib.suppress(FileNotFoundError):
                os.utime(self._path(key))

    def list(self, pattern: str) -> list[str]:
        """Keys matching a glob ``pattern`` (relative to the root), sorted."""
        base = len(self.root) + 1
        return sorted(str(p)[base:] for p in self.fs.glob(f"{self.root}/{pattern}"))

    def __repr__(self) -> str:
        return f"Storage({self.fs.protocol if not self.local else 'file'}:{self.root})"


def _local_files(top: str) -> Iterator[tuple[str, int, float]]:
    for folder, _, names in os.walk(top):
        for name in names:
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except FileNotFoundError:  # removed meanwhile (evicted by another process, a temp file renamed)
                continue
            yield path, stat.st_size, stat.st_mtime


def _mtime(info: dict[str, Any]) -> float:
    """A file's modification time from fsspec's ``info`` (``mtime`` locally, ``LastModified`` on S3)."""
    when = info.get("mtime", info.get("LastModified", info.get("last_modified", 0.0)))
    return float(when.timestamp()) if hasattr(when, "timestamp") else float(when or 0.0)


class BlobStore:
    """Content-addressed unit images: a blob's key is the sha256 of its bytes, so writing the same image twice
    stores it once and a key never points at different bytes."""

    AREA = "blobs"

    def __init__(self, root: Path | Storage) -> None:
        self.storage = root if isinstance(root, Storage) else Storage(root)

    @classmethod
    def from_settings(cls, settings: Settings) -> BlobStore:
        return cls(Storage.from_settings(settings).area(cls.AREA))

    @staticmethod
    def key_for(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    @staticmethod
    def _name(key: str) -> str:
        # Keys come from clients too (URLs): only a well-formed hash may name a file.
        if not _KEY.match(key):
            raise KeyError(f"not a blob key: {key!r}")
        return f"{key[:2]}/{key[2:4]}/{key}.png"

    def path(self, key: str) -> Path:
        """The blob's file on a local storage (the CLI prints it); KeyError on a remote one."""
        local = self.storage.local_path(self._name(key))
        if local is None:
            raise KeyError(f"blob {key[:12]} is not on a local folder")
        return local

    def location(self, key: str) -> str:
        """The blob's file path, or its URL on a remote storage (the CLI prints it)."""
        return self.storage.location(self._name(key))

    def put(self, data: bytes, key: str | None = None) -> str:
        """Store ``data`` under its key. ``key``: its sha256 when the caller has it already (a unit's
        ``image``, from ``prepare_units``), so a large image is hashed once per ingest, not once per use."""
        key = self.key_for(data) if key is None else key
        name = self._name(key)
        if not self.storage.exists(name):
            self.storage.write(name, data)
        return key

    def get(self, key: str) -> bytes:
        return self.storage.read(self._name(key))

    def exists(self, key: str) -> bool:
        try:
            return self.storage.exists(self._name(key))
        except KeyError:
            return False

    def delete(self, key: str) -> None:
        self.storage.delete(self._name(key))

    def keys(self) -> list[str]:
        return sorted(Path(k).stem for k in self.storage.list("*/*/*.png"))
