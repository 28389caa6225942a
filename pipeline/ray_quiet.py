"""Drops the two lines Ray logs on every ``ray.init`` figvault makes that tell an operator of nothing wrong.

- ``SIGTERM handler is not set because current thread is not the main thread``: ``figvault serve`` runs
  each ingest and re-encode job in a thread, so every Ray job of the service logged it. figvault wants no
  handler of Ray's anywhere (in the main thread it puts its own back: ray_engine ``_sigterm_kept``).
- ``Passing the following kwargs to ray.init() on the server: include_dashboard, log_to_driver``: the
  arguments figvault itself passes, logged at INFO by every Ray Client (``ray://``) connection.

A filter on each of the two loggers drops exactly that record; every other line of theirs, warnings of a
real problem among them, still reaches the terminal and the log.
"""

from __future__ import annotations

import logging

CHATTER = {
    "ray._private.worker": "SIGTERM handler is not set because current thread is not the main thread",
    "ray.client_builder": "Passing the following kwargs to ray.init() on the server:",
}
"""Ray's logger -> the start of the message dropped from it (Ray 2.60's wording)."""


class _DropPrefix(logging.Filter):
    def __init__(self, prefix: str) -> None:
        super().__init__()
        self.prefix = prefix

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith(self.prefix)


def drop_ray_init_chatter() -> None:
    """Installs the filters once per process (again is a no-op)."""
    for name, prefix in CHATTER.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropPrefix) and f.prefix == prefix for f in logger.filters):
            logger.addFilter(_DropPrefix(prefix))
