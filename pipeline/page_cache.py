"""A bound on the disk the page viewer's cache takes (``storage.page_cache_mb``).

Renders and deck conversions are kept per document and per caller (``page_images``: one reader never warms
another's page), so the cache grows with callers x pages opened: about 100 KB a page, a whole PDF per deck
and caller. Past the bound, the least recently used entries go: page renders (``cache/pages``, ``.png``)
and per-caller deck conversions (``sources/doc/...``: the PDF and its slide map, one entry); an evicted
entry is simply made again on its caller's next view, so eviction tells nobody what another caller read.
Unavailable markers count in the size but are never evicted (they spare the server a hostile page's
render; a few hundred bytes each). "Used" is the file's modification time, set on each cache hit where the
storage allows it (a local or mounted folder: ``Storage.touch``; an object store keeps the write time).

Evicting walks the cache (``Storage.files``), so it is amortised: each process keeps an estimate (its last
walk plus what it wrote since) and walks again when the estimate passes the bound, or ``RESCAN_S`` after
its last walk (other replicas write too), then evicts down to ``LOW_WATER`` of the bound. The walk runs in
a thread of its own, never in the render that set it off: its time grows with every caller's entries (about
18 us each; 0.4-0.9 s at 24,000), so a caller timing its own first views learnt, once a minute, how many
pages all the others, of every tenant, had opened. An entry held by
a render of this process (``holding``: being written, or a deck's PDF being rasterised) is never evicted;
a temporary file (``.tmp-*``, a write under way in any process) is neither counted nor evicted.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from figvault.pipeline.sources import DECK_RENDERING, DECK_RENDERING_MAP, SourceStore
from figvault.settings import Settings
from figvault.storage import Storage

CACHE_AREA = "cache/pages"
DOCUMENT_PREFIX = "doc"
"""Where every document's (and caller's) entries live in both areas (``page_images._cache_prefix``)."""
LOW_WATER = 0.9
"""An eviction frees down to this share of the bound, so the next walk is many renders away."""
RESCAN_S = 60.0
TEMPORARY = ".tmp-"
MARKER_SUFFIX = ".unavailable"


@dataclass
class _Budget:
    """One storage's cache state in this process."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    estimate: int = 0
    scanned_at: float | None = None
    evicted: int = 0
    walker: threading.Thread | None = None
    """The walk set off by a write (``PageCache.wrote``), while it runs."""


@dataclass(frozen=True)
class _Entry:
    keys: tuple[tuple[Storage, str], ...]
    """What goes together, in the order removed (a deck's PDF before its map: a reader that finds the PDF
    always finds its map)."""
    size: int
    used: float
    name: str
    """The area-relative key that ``holding`` prefixes match."""


_budgets: dict[str, _Budget] = {}
_budgets_guard = threading.Lock()
_held: Counter[str] = Counter()
_held_guard = threading.Lock()


def settle_walks(timeout_s: float) -> bool:
    """Wait, at most ``timeout_s`` in all, for every walk this process set off to end; False when one still
    runs. A service's shutdown calls it: the walk is a daemon thread (a render never waits for it), and one
    cut off at exit leaves an object store's deletes half done (the next walk finishes them)."""
    deadline = time.monotonic() + timeout_s
    with _budgets_guard:
        walkers = [state.walker for state in _budgets.values() if state.walker is not None]
    for walker in walkers:
        walker.join(max(0.0, deadline - time.monotonic()))
    return not any(walker.is_alive() for walker in walkers)


class PageCache:
    def __init__(self, pages: Storage, decks: SourceStore, limit_mb: float) -> None:
        """``pages``: the renders' area (CACHE_AREA); ``decks``: where deck conversions are kept;
        ``limit_mb``: ``storage.page_cache_mb``. A page viewer passes the storages it already holds."""
        self.pages, self.decks = pages, decks
        self.limit = int(limit_mb * 2**20)
        with _budgets_guard:
            self.state = _budgets.setdefault(self.pages.root, _Budget())

    @classmethod
    def from_settings(cls, settings: Settings) -> PageCache:
        pages = Storage.from_settings(settings).area(CACHE_AREA)
        return cls(pages, SourceStore.from_settings(settings), settings.storage.page_cache_mb)

    @staticmethod
    @contextmanager
    def holding(prefix: str) -> Iterator[None]:
        """Entries whose key starts with ``prefix`` are not evicted by this process meanwhile."""
        with _held_guard:
            _held[prefix] += 1
        try:
            yield
        finally:
            with _held_guard:
                _held[prefix] -= 1
                if not _held[prefix]:
                    del _held[prefix]

    def used(self, key: str) -> None:
        """A page render served from the cache: now its most recently used."""
        self.pages.touch(key)

    def used_deck(self, sha256: str, scope: str) -> None:
        self.decks.storage.touch(self.decks.rendering_keys(sha256, scope)[0])

    def wrote(self, nbytes: int) -> None:
        """``nbytes`` were added to the cache; evicts when the bound is passed."""
        self.state.estimate += nbytes
        stale = self.state.scanned_at is None or time.monotonic() - self.state.scanned_at >= RESCAN_S
        if self.limit and (stale or self.state.estimate > self.limit):
            self._trim_apart()

    def _trim_apart(self) -> None:
        """``trim`` in a thread of its own (one at a time per storage): the writer does not wait for it."""
        with _budgets_guard:
            if self.state.walker is not None and self.state.walker.is_alive():
                return
            self.state.walker = threading.Thread(target=self.trim, name="figvault-page-cache", daemon=True)
            self.state.walker.start()

    def settle(self, timeout_s: float = 60.0) -> None:
        """Wait for a walk set off by a write to end (tests, the bench: what a walk evicted is then gone)."""
        walker = self.state.walker
        if walker is not None:
            walker.join(timeout_s)

    def size(self) -> int:
        """The cache's bytes (walked again when the last walk is ``RESCAN_S`` old)."""
        if self.state.scanned_at is None or time.monotonic() - self.state.scanned_at >= RESCAN_S:
            self.trim()
        return self.state.estimate

    def evicted(self) -> int:
        """Entries this process evicted."""
        return self.state.evicted

    def trim(self) -> None:
        """Walk the cache and, past the bound, evict the least recently used entries not held."""
        if not self.state.lock.acquire(blocking=False):
            return  # another thread of this process is at it
        try:
            written_before = self.state.estimate
            entries, total = self._entries()
            if self.limit and total > self.limit:
                total = self._evict(entries, total, int(self.limit * LOW_WATER))
            # Renders go on during the walk: what they wrote meanwhile stays in the estimate.
            written_since = max(0, self.state.estimate - written_before)
            self.state.estimate, self.state.scanned_at = total + written_since, time.monotonic()
        finally:
            self.state.lock.release()

    def _evict(self, entries: list[_Entry], total: int, target: int) -> int:
        with _held_guard:
            held = tuple(_held)
        for entry in sorted(entries, key=lambda e: e.used):
            if total <= target:
                break
            if held and entry.name.startswith(held):
                continue
            for storage, key in entry.keys:
                storage.delete(key)
            self._drop_local_copy(entry)
            total -= entry.size
            self.state.evicted += 1
        return total

    def _drop_local_copy(self, entry: _Entry) -> None:
        """A deck conversion's copy on this machine (kept when the storage is remote)."""
        if self.decks.cache_dir is None:
            return
        for storage, key in entry.keys:
            if storage is self.decks.storage:
                with contextlib.suppress(OSError):
                    (Path(self.decks.cache_dir) / key).unlink(missing_ok=True)

    def _entries(self) -> tuple[list[_Entry], int]:
        """The evictable entries and the bytes of all (markers included)."""
        entries: list[_Entry] = []
        total = 0
        for key, size, mtime in self.pages.files():
            if Path(key).name.startswith(TEMPORARY):
                continue
            total += size
            if not key.endswith(MARKER_SUFFIX):
                entries.append(_Entry(((self.pages, key),), size, mtime, key))
        decks: dict[str, list[tuple[str, int, float]]] = {}
        for key, size, mtime in self.decks.storage.files(DOCUMENT_PREFIX):
            stem = key.removesuffix(DECK_RENDERING_MAP).removesuffix(DECK_RENDERING)
            if Path(key).name.startswith(TEMPORARY) or stem == key:
                continue
            total += size
            decks.setdefault(stem, []).append((key, size, mtime))
        for stem, files in decks.items():
            ordered = sorted(files, key=lambda f: not f[0].endswith(DECK_RENDERING))  # the PDF first
            keys = tuple((self.decks.storage, key) for key, _, _ in ordered)
            entries.append(_Entry(keys, sum(f[1] for f in files), max(f[2] for f in files), stem))
        return entries, total
