"""A line on long silences of a command's progress: ``figvault ingest`` prints a line per document written,
so while the models load or one long document is read it printed nothing for a minute or more (36 s for 2
PDFs at load 21; a 300-page report much longer), which reads as a hang."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import typer

HEARTBEAT_S = 15.0
"""Seconds without a progress line before the heartbeat says the command is still working."""


class Heartbeat:
    """Within ``with``: every ``every_s`` without a new ``saw(line)``, one ``PREFIX: still working`` line
    on stderr with the last progress line and the seconds since it. Says nothing before the first line."""

    def __init__(self, prefix: str, every_s: float = HEARTBEAT_S) -> None:
        self.prefix, self.every_s = prefix, every_s
        self._line: str | None = None
        self._since = self._said = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="progress-heartbeat", daemon=True)

    def saw(self, line: str) -> None:
        with self._lock:
            self._line, self._since = line, time.monotonic()
            self._said = self._since

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(min(self.every_s / 10, 1.0)):
            with self._lock:
                now = time.monotonic()
                if self._line is None or now - self._said < self.every_s:
                    continue
                self._said = now
                line, quiet_s = self._line, now - self._since
            typer.echo(f"{self.prefix}: still working, {quiet_s:.0f} s since: {line}", err=True)
