"""The folders and files figvault makes are its process user's alone (0700 / 0600): the data folder holds
the originals, the figures, page renders, the index and the audit trail's questions, none of which other
local users of the host may read. What already exists keeps its mode: a folder the operator made (an
existing data folder, a parent) is their choice, which ``open_to_others`` lets the start line warn about.
Since files are written by many hands (Milvus Lite, SQLite, ONNX, the log handler, PIL), the rule for
files is one process umask (``keep_new_files_private``) set where a figvault process starts: the command
line and the service's app factory (and before a Ray the engine starts writes its token); a file made 0644
inside an operator's 0755 folder was readable."""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import stat
import tempfile
from pathlib import Path

from figvault.errors import FigvaultError

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_UMASK = 0o077
"""Takes group and other bits off everything the process creates from then on."""


def keep_new_files_private() -> None:
    """Narrow the process umask by ``PRIVATE_UMASK`` (a stricter operator umask keeps its extra bits). Set
    first, then narrowed by the old bits: at no moment may a file another thread makes be more open than
    0600 / 0700 (reading the umask means setting it)."""
    old = os.umask(PRIVATE_UMASK)
    if old | PRIVATE_UMASK != PRIVATE_UMASK:
        os.umask(old | PRIVATE_UMASK)


def make_private_dirs(folder: Path) -> Path:
    """``folder`` and its missing parents, each made 0700 (the umask can only narrow it); ``mkdir -p``
    would give the missing parents the umask's mode (0755), which opened the data folder itself."""
    missing: list[Path] = []
    current = folder
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        path.mkdir(mode=PRIVATE_DIR, exist_ok=True)  # exist_ok: another process made it meanwhile
    return folder


def create_private_file(path: Path) -> None:
    """Create ``path`` empty and 0600 when missing (SQLite gives its journal and WAL files the mode of the
    database file); an existing file keeps its mode."""
    make_private_dirs(path.parent)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE))


def open_to_others(folder: Path) -> bool:
    """Whether other local users may enter ``folder`` (group or other execute bit), so read what is in it."""
    try:
        return bool(folder.stat().st_mode & (stat.S_IXGRP | stat.S_IXOTH))
    except OSError:
        return False


def only_mine(path: Path, *, folder: bool = True) -> bool:
    """Whether only this process's user can change ``path``: its own folder (or file), not a link, with no
    group or other write. What is read from a place that fails this may have been planted by another user."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return only_mine_opened(info, folder=folder)


def only_mine_opened(info: os.stat_result, *, folder: bool = False) -> bool:
    """``only_mine`` of a file already opened (its ``fstat``): checked on what is read, not on a name that
    may be swapped between the check and the read."""
    kind = stat.S_ISDIR if folder else stat.S_ISREG
    return kind(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o022


def shared_folder_above(path: Path) -> Path | None:
    """The first folder at or above ``path`` (as written and with its links resolved) in which another
    local user may rename or replace what this user keeps: one owned by neither this user nor root, or one
    open to group or other writes without the sticky bit (``/tmp`` is 1777 for this reason); None when
    there is none. A folder's own mode does not protect it from whoever can rename it away and plant theirs
    under its name."""
    absolute = Path(os.path.abspath(path))
    for chain in (absolute, absolute.resolve()):
        for folder in (chain, *chain.parents):
            try:
                info = os.lstat(folder)
            except OSError:
                return folder
            if stat.S_ISLNK(info.st_mode):
                continue  # its target is on the resolved chain; its own folder is checked next
            open_to_writes = info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX
            if info.st_uid not in (0, os.geteuid()) or open_to_writes:
                return folder
    return None


def private_temp_dir(name: str) -> Path:
    """This user's folder ``<name>-<uid>`` in the temporary folder, made 0700, kept across processes (a
    node's caches); a fixed name there may have been made first by another local user, with files planted
    in it. When the folder is not this user's alone (``only_mine``) a fresh private one is made for this
    process (removed at exit) and the caches start empty, with a warning. A temporary folder in which
    another user may rename entries (``shared_folder_above``: no sticky bit) is refused, with what to do:
    they could move any folder made there away at any time and plant theirs under its name."""
    temp = Path(tempfile.gettempdir())
    shared = shared_folder_above(temp)
    if shared is not None:
        raise FigvaultError(
            f"the temporary folder {temp} is not safe for {name}: other users may rename or replace what is "
            f"in {shared} (it is another user's, or open to writes without the sticky bit); set TMPDIR to "
            "a folder of this user's"
        )
    folder = temp / f"{name}-{os.geteuid()}"
    with contextlib.suppress(OSError):
        folder.mkdir(mode=PRIVATE_DIR, exist_ok=True)
    if only_mine(folder):
        return folder
    fresh = Path(tempfile.mkdtemp(prefix=f"{name}-"))  # 0700, a new name: no one else made it
    atexit.register(shutil.rmtree, fresh, ignore_errors=True)
    log.warning(
        "%s is not this user's alone (others may change it): not used, caches kept in %s", folder, fresh
    )
    return fresh
