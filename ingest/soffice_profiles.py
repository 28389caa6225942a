"""LibreOffice user profiles reused across the decks of one batch, one per extraction slot.

``soffice`` builds its user profile (``-env:UserInstallation``) on its first start, and a first start also
restarts itself once: a fresh profile per conversion cost 1.5-1.6 CPU-s of start-up for a 2-slide deck,
1.25-1.35 with a profile kept from an earlier conversion (docs/jobs.md). So a batch keeps one profile per
extraction slot (``SofficeProfiles.lease``), which the first deck's conversion builds and later ones reuse:

- **never shared at once**: concurrent soffice processes on one profile lock each other out, so a profile
  is leased to one extraction at a time;
- **discarded after a failure**: a conversion that timed out, crashed or was killed with its worker may
  leave a stale lock or a half-written profile; it is removed and the next conversion builds a new one;
- **nothing of one document for the next**: a headless ``--convert-to`` writes no document into the
  profile (a profile is byte for byte the same after a second deck's conversion as after the first), and
  ``scrub`` removes what LibreOffice keeps of documents all the same (the recent-documents lists, whose
  entries carry a thumbnail of the first page; backup and recovery copies), after every conversion.
- **locked down before every start** (``lock_down``): the profile's registry blocks what a deck could make
  LibreOffice fetch or run (links to files and URLs, macros), whatever the deck holds;
- **nothing left behind by a killed batch**: the profiles' folder is named by the process that made it
  (``figvault-lo-profiles-<pid>-...`` in the temp folder), and a batch that makes one removes those whose
  process is gone (``remove_orphans``): a batch killed before ``close`` (SIGKILL, an out-of-memory kill,
  a power cut) left its folder, and a conversion killed half-way may leave a recovery copy of its
  document there.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from pathlib import Path

from figvault.private_dirs import remove_orphans as remove_dead_owners

DOCUMENT_FOLDERS = ("user/backup", "user/temp")
"""Where a profile keeps copies of documents (autosave, recovery): removed after each conversion."""
REGISTRY = "user/registrymodifications.xcu"
DOCUMENT_ITEMS = re.compile(
    r'^<item oor:path="/org\.openoffice\.Office\.(Histories|Common/History|Recovery)[/"].*\n', re.MULTILINE
)
"""The registry's items that name documents: recent-documents lists (with thumbnails), recovery lists. The
file has one ``<item>`` a line."""

LOCKDOWN = {
    "BlockUntrustedRefererLinks": "true",
    "DisableMacrosExecution": "true",
    "MacroSecurityLevel": "3",
}
"""``org.openoffice.Office.Common/Security/Scripting`` settings every conversion runs with. The extractor
removes a deck's links before LibreOffice sees it (``safety.without_external_targets``); this is the second
wall, in LibreOffice itself, for a link that removal misses. BlockUntrustedRefererLinks: LibreOffice loads
nothing a document outside its trusted locations (none are set) links to: a deck given to soffice with a
picture linked to ``http://127.0.0.1:<port>/x.png`` made it send ``OPTIONS`` and ``GET /x.png`` there, one
linked to ``file:///...`` drew that file into the PDF; with this, neither (LibreOffice 7.4,
``tests/ingest/test_hostile_links.py``). DisableMacrosExecution and MacroSecurityLevel 3 (very high): no
macro of a document runs, signed or not (headless soffice runs none by default; this keeps it so whatever
the installation's defaults)."""
_LOCKDOWN_PATH = "/org.openoffice.Office.Common/Security/Scripting"
_LOCKDOWN_ITEMS = re.compile(
    r'^<item oor:path="'
    + re.escape(_LOCKDOWN_PATH)
    + r'"><prop oor:name="('
    + "|".join(LOCKDOWN)
    + r')".*\n',
    re.MULTILINE,
)
_REGISTRY_END = "</oor:items>"
_EMPTY_REGISTRY = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="http://openoffice.org/2001/registry"'
    ' xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
    + _REGISTRY_END
    + "\n"
)

PREFIX = "figvault-lo-profiles-"
"""A profiles folder's name: the prefix, the pid of the process that made it, a random part."""

_current: ContextVar[Path | None] = ContextVar("figvault_soffice_profile", default=None)


@contextlib.contextmanager
def reusing(folder: Path | None) -> Iterator[None]:
    """LibreOffice conversions in this context (an extraction worker's document) use the profile in
    ``folder`` (None: a fresh one per conversion)."""
    token = _current.set(folder)
    try:
        yield
    finally:
        _current.reset(token)


def current() -> Path | None:
    """The profile folder conversions here reuse (``reusing``); None: each its own, fresh."""
    return _current.get()


def discard(folder: Path) -> None:
    """Remove a profile whose conversion failed: the next conversion builds a new one."""
    shutil.rmtree(folder, ignore_errors=True)


def scrub(folder: Path) -> None:
    """Remove what the profile keeps of the documents it converted (see the module)."""
    for name in DOCUMENT_FOLDERS:
        shutil.rmtree(folder / name, ignore_errors=True)
    registry = folder / REGISTRY
    with contextlib.suppress(OSError):
        text = registry.read_text(encoding="utf-8")
        kept = DOCUMENT_ITEMS.sub("", text)
        if kept != text:
            registry.write_text(kept, encoding="utf-8")


def lock_down(folder: Path) -> None:
    """Set ``LOCKDOWN`` in the profile's registry before soffice starts on it: written into a new profile
    (soffice builds the rest around it) and set again in a reused one, whatever it held (one item a line,
    as soffice writes the file). A registry without its end tag is started again from empty."""
    registry = folder / REGISTRY
    registry.parent.mkdir(parents=True, exist_ok=True)
    try:
        text = registry.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        text = _EMPTY_REGISTRY
    if _REGISTRY_END not in text:
        text = _EMPTY_REGISTRY
    items = "".join(
        f'<item oor:path="{_LOCKDOWN_PATH}"><prop oor:name="{name}" oor:op="fuse"><value>{value}</value>'
        "</prop></item>\n"
        for name, value in LOCKDOWN.items()
    )
    head, _, tail = _LOCKDOWN_ITEMS.sub("", text).rpartition(_REGISTRY_END)
    registry.write_text(head + items + _REGISTRY_END + tail, encoding="utf-8")


def remove_orphans(parent: Path) -> list[Path]:
    """Remove the profiles folders in ``parent`` whose process is gone (a batch killed before ``close``);
    the folders removed. (A pid reused since keeps its folder until that process is gone too.)"""
    return remove_dead_owners(parent, PREFIX)


class SofficeProfiles:
    """The profiles of one batch (see the module): ``lease`` one for a document's extraction; ``close``
    removes them all. Thread-safe: the batch's extraction threads lease concurrently."""

    def __init__(self) -> None:
        self._root: Path | None = None
        self._free: list[Path] = []
        self._made = 0
        self._lock = threading.Lock()

    def _take(self) -> Path:
        with self._lock:
            if self._free:
                return self._free.pop()
            if self._root is None:
                remove_orphans(Path(tempfile.gettempdir()))
                self._root = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
            self._made += 1
            return self._root / str(self._made)

    @contextlib.contextmanager
    def lease(self) -> Iterator[Path]:
        """A profile folder no other extraction uses meanwhile (it may not exist yet: the first conversion
        builds it); discarded when the body raises (a worker over time or memory, crashed, cancelled)."""
        folder = self._take()
        try:
            yield folder
        except BaseException:
            discard(folder)
            raise
        finally:
            with self._lock:
                self._free.append(folder)

    def close(self) -> None:
        with self._lock:
            root, self._root, self._free = self._root, None, []
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)

    def __enter__(self) -> SofficeProfiles:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
