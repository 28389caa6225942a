"""The engine's warm-up in a background thread: models loaded and one search run before ``/readyz`` is ready.

Without it the first search after start loaded the models (about 6-10 s, docs/service.md). The process
answers ``/healthz`` meanwhile, so an orchestrator sees it alive, and ``/readyz`` says "warming up".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Self

log = logging.getLogger("figvault.service")


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
        except Exception as exc:  # reported by /readyz; searches still try (and say why they fail)
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".strip(": ")
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
