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
import grp
import logging
import os
import re
import shutil
import stat
import tempfile
from pathlib import Path
from typing import NamedTuple

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
    """Whether only this service can change ``path``: a folder (or file), not a link, that no one else may
    change (``others_may_change``; a sticky folder open to all is not: others may add to it). What is read
    from a place that fails this may have been planted by another user."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return only_mine_opened(info, folder=folder)


def only_mine_opened(info: os.stat_result, *, folder: bool = False) -> bool:
    """``only_mine`` of a file already opened (its ``fstat``): checked on what is read, not on a name that
    may be swapped between the check and the read."""
    kind = stat.S_ISDIR if folder else stat.S_ISREG
    return kind(info.st_mode) and others_may_change(info, sticky_protects=False) is None


def service_groups() -> set[int]:
    """The groups this process acts as (its effective group and the supplementary ones): an ops team's
    group the service account is in is the service's too."""
    return {os.getegid(), *os.getgroups()}


def others_may_change(info: os.stat_result, *, sticky_protects: bool = True) -> str | None:
    """Why users other than this service's may rename, replace or write what ``info`` describes, or None
    when they may not: it belongs to another user (root aside: it can do anything anyway), it is open to
    every user's writes (a folder with the sticky bit, as ``/tmp``, lets no one rename what is not theirs),
    or open to the writes of a group this service is not in. A group folder of the service's own group
    (an ops team's setgid 2775 folder) is safe: its writers are the service and those it works with.
    ``sticky_protects=False``: for a folder whose entries are read (others may add what was not there)."""
    if info.st_uid not in (0, os.geteuid()):
        return f"it belongs to another user (uid {info.st_uid})"
    sticky = sticky_protects and stat.S_ISDIR(info.st_mode) and info.st_mode & stat.S_ISVTX
    if info.st_mode & stat.S_IWOTH and not sticky:
        return "every user may write it (mode o+w without the sticky bit)"
    if info.st_mode & stat.S_IWGRP and not sticky and info.st_gid not in service_groups():
        return f"group {_group_name(info.st_gid)} may write it, and this service is not in that group"
    return None


def _group_name(gid: int) -> str:
    try:
        return f"{grp.getgrgid(gid).gr_name!r} (gid {gid})"
    except KeyError:
        return f"gid {gid}"


class SharedFolder(NamedTuple):
    """A folder in which others may change what this service keeps, and why (``others_may_change``)."""

    folder: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.folder}: {self.reason}"


def shared_folder_above(path: Path) -> SharedFolder | None:
    """The first folder at or above ``path`` (as written and with its links resolved) in which another
    local user may rename or replace what this service keeps (``others_may_change``), with the reason;
    None when there is none. A folder's own mode does not protect it from whoever can rename it away and
    plant theirs under its name."""
    absolute = Path(os.path.abspath(path))
    for chain in (absolute, absolute.resolve()):
        for folder in (chain, *chain.parents):
            try:
                info = os.lstat(folder)
            except OSError as exc:
                return SharedFolder(folder, f"it cannot be checked ({exc.strerror or exc})")
            if stat.S_ISLNK(info.st_mode):
                continue  # its target is on the resolved chain; its own folder is checked next
            reason = others_may_change(info)
            if reason is not None:
                return SharedFolder(folder, reason)
    return None


def private_temp_dir(name: str) -> Path:
    """This user's folder ``<name>-<uid>`` in the temporary folder, made 0700, kept across processes (a
    node's caches); a fixed name there may have been made first by another local user, with files planted
    in it. When the folder is not this user's alone (``only_mine``) a fresh private one is made for this
    process (removed at exit) and the caches start empty, with a warning. A temporary folder in which
    another user may rename entries (``shared_folder_above``) is refused, saying why and what to do: they
    could move any folder made there away at any time and plant theirs under its name."""
    temp = Path(tempfile.gettempdir())
    shared = shared_folder_above(temp)
    if shared is not None:
        raise FigvaultError(
            f"the temporary folder {temp} is not safe for {name}: other users may rename or replace what is "
            f"in {shared.folder} ({shared.reason}); set TMPDIR to a folder of this user's or of a group this"
            " service is in (such as a setgid 2775 group folder), not open to every user's writes"
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


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs (another user's counts: it cannot be signalled, but it is there)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_orphans(parent: Path, prefix: str) -> list[Path]:
    """Remove the folders ``<prefix><pid>-...`` in ``parent`` whose process is gone (killed before it
    removed its own); the folders removed. A pid reused since keeps its folder until that process is gone
    too; another user's folders cannot be removed and are left."""
    owned = re.compile(re.escape(prefix) + r"(\d+)-")
    removed = []
    for folder in parent.glob(prefix + "*"):
        match = owned.match(folder.name)
        if match and int(match.group(1)) != os.getpid() and not pid_alive(int(match.group(1))):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


def process_temp_dir(prefix: str) -> Path:
    """A new 0700 folder ``<prefix><pid>-<random>`` in the temporary folder, for this process's private
    copies, after removing those of processes that are gone (``remove_orphans``): a copy whose process was
    killed mid-task (a cancelled Ray task, a killed worker) outlived it otherwise, for good."""
    parent = Path(tempfile.gettempdir())
    remove_orphans(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
