"""A folder made read-only for one call, even for root: root writes any folder whatever its mode, so a
test of "this user may not write here" that only chmods skips as root, and CI runs as root.

``read_only`` runs a function on a thread of its own inside a new mount namespace in which the folder is
bound read-only onto itself (writes fail with EROFS, and ``os.access(W_OK)`` says no, for root too). The
mount lives only in that namespace, which ends with the thread; nothing is mounted for the rest of the
machine. Needs CAP_SYS_ADMIN; without it :class:`NamespaceUnavailable` is raised.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from tests.helpers.netns import NamespaceUnavailable, call_in_thread, libc_call

CLONE_NEWNS = 0x00020000
MS_RDONLY = 0x1
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000

T = TypeVar("T")

__all__ = ["NamespaceUnavailable", "read_only"]


def read_only(folder: Path, fn: Callable[[], T]) -> T:
    """``fn()`` with ``folder`` read-only for it (and for no one else)."""

    def inside() -> T:
        libc_call("unshare", CLONE_NEWNS)
        # Private first, so the bind below does not propagate back to the parent namespace's mounts.
        libc_call("mount", None, b"/", None, MS_REC | MS_PRIVATE, None)
        path = os.fsencode(folder)
        libc_call("mount", path, path, None, MS_BIND, None)
        # A bind mount ignores MS_RDONLY on creation: read-only takes a remount of the bind.
        libc_call("mount", None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY, None)
        return fn()

    return call_in_thread(inside)
