"""The engine's warm-up in a background thread: models loaded and one search run before ``/readyz`` is ready.

Without it the first search after start loaded the models (about 6-10 s, docs/service.md). The process
answers ``/healthz`` meanwhile, so an orchestrator sees it alive, and ``/readyz`` says "warming up".
After the engine's own warm-up (as the local operator), the same question is asked as a caller holding each
of the first ``ACCESS_SETS_WARMED`` group sets of the registry, so that their access filters are compiled
and their masks over Lite's segments kept before the first real caller's search (at 100k units that first
search took 1.0-1.7 s). The answers stay in this thread: nothing is logged, audited or returned.

Then the start-up's objects (models, modules, the store: about 800,000 on the offline profile) are frozen out
of the garbage collector's generations (``gc.freeze``). Else the first full collection after start walked them
all, holding the interpreter about 0.4 s: every search in flight then (8 clients: 517-588 ms) waited that
long, once, a few seconds after ready (docs/service.md, "Under load", 2026-12-05).
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Self

from figvault.access import Principal
from figvault.errors import typed_line
from figvault.retrieval.search import WARM_UP_QUESTION
from figvault.search_models import SearchRequest

log = logging.getLogger("figvault.service")

ACCESS_SETS_WARMED = 16
"""Group sets whose access filter the warm-up runs (one search each); Lite keeps 32 masks per segment set
(``lite_patch._FILTERS_PER_SET``), so half are left to the callers' own filters."""
WARM_UP_USER = "figvault-warm-up"
"""The user name those searches run as (no API key has it: they come from no request)."""


def warm_access_filters(engine: Any, limit: int = ACCESS_SETS_WARMED) -> int:
    """Ask the warm-up question as a caller holding each of up to ``limit`` registered group sets; returns
    how many. A set's caller sees exactly what a real caller with those groups would (no more)."""
    request = SearchRequest(query=WARM_UP_QUESTION, rerank=False)
    sets = engine.acl_sets.first_sets(limit)
    for tenant, groups in sets:
        engine.search(Principal(user=WARM_UP_USER, tenant=tenant, groups=groups), request)
    return len(sets)


def freeze_heap() -> None:
    """Collect the start-up's garbage, then freeze what is alive: later full collections walk only the
    objects made since (a frozen object is still freed when its count drops; only its cycles wait)."""
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    """Undo ``freeze_heap`` (at shutdown): the frozen objects' cycles are collectable again."""
    gc.unfreeze()


class WarmUp:
    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.done = threading.Event()
        self.error: str | None = None
        self.seconds: float | None = None
        self._then: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def start(self, then: Callable[[], None] | None = None) -> Self:
        """Warm up in a thread; ``then`` runs in it afterwards (done or failed)."""
        self._then = then
        self._thread = threading.Thread(target=self._run, name="figvault-warm-up", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float) -> bool:
        """Wait for the warm-up (and its ``then``) to end; True when it did within ``timeout_s``.

        The app's shutdown waits here: a process that exits while this thread is inside native model code
        aborts (exit 134, "terminate called without an active exception"), and the engine must not be
        closed under it."""
        if self._thread is not None:
            self._thread.join(timeout_s)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self.engine.warm_up()
            warm_access_filters(self.engine)
            freeze_heap()
        except Exception as exc:  # reported by /readyz; searches still try (and say why they fail)
            self.error = typed_line(exc)
            log.error("warm-up failed: %s", self.error)
        else:
            self.seconds = time.perf_counter() - started
            log.info("warm-up done in %.1f s", self.seconds)
        finally:
            self.done.set()
        if self._then is not None:
            self._then()

    def status(self) -> bool | str:
        """True when done, else why not ready."""
        if not self.done.is_set():
            return "warming up: loading models, first search"
        return True if self.error is None else f"warm-up failed: {self.error}"
