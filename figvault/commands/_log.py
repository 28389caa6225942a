"""The command line's log file: a command that runs jobs in the foreground (``ingest``, ``reencode``) writes
figvault's log records, tracebacks included, to ``<data_dir>/logs/figvault.log``; the terminal gets each
warning as one line, and a record that carries a traceback not at all: the command reports that failure in
its own one line, with the file's path (``failure_line``). The store libraries' records go to the file
only, and a file that cannot be written (a full disk) costs one line."""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from figvault.private_dirs import make_private_dirs
from figvault.settings import Settings

if TYPE_CHECKING:
    from figvault.pipeline.jobs import Job

LOG_NAME = "figvault.log"
LOG_MAX_BYTES = 10 * 2**20
LOG_BACKUPS = 3
"""The log file is rotated at 10 MiB, keeping three older ones (``figvault.log.1`` .. ``.3``): at most
40 MiB. It used to grow for good (each failed document of every ingest adds its traceback)."""


def log_path(settings: Settings) -> Path:
    return settings.data_dir / "logs" / LOG_NAME


class _Terminal(logging.StreamHandler):  # type: ignore[type-arg]
    """Warnings and up on stderr as their message alone (as Python's last-resort handler printed them),
    without the records that carry a traceback (the file has those)."""

    def __init__(self) -> None:
        super().__init__()
        self.setLevel(logging.WARNING)
        self.setFormatter(logging.Formatter("%(message)s"))
        self.addFilter(lambda record: record.exc_info is None)


class _File(logging.handlers.RotatingFileHandler):
    """The log file, except that a record it cannot write (a full disk) costs one line on stderr, once,
    not Python's "--- Logging error ---" with two stacks per record; and a file another process rotated
    away is left for the new one before a record is written."""

    failed = False

    def emit(self, record: logging.LogRecord) -> None:
        # Several figvault processes share the file (an ingest and a `jobs list`, two ingests on a
        # PostgreSQL registry). After another one rotated it, this one kept writing to figvault.log.1,
        # then .2, and lost its lines once that file was deleted past LOG_BACKUPS.
        if self.stream is not None and self._rotated_away():
            self.stream.close()
            self.stream = None  # type: ignore[assignment]  # FileHandler reopens the path on its next write
        super().emit(record)

    def _rotated_away(self) -> bool:
        try:
            on_disk = os.stat(self.baseFilename)
        except OSError:
            return True
        mine = os.fstat(self.stream.fileno())
        return (on_disk.st_dev, on_disk.st_ino) != (mine.st_dev, mine.st_ino)

    def handleError(self, record: logging.LogRecord) -> None:
        if not self.failed:
            self.failed = True
            problem = sys.exc_info()[1]
            sys.stderr.write(f"warning: cannot write the log file {self.baseFilename}: {problem}\n")


LIBRARY_LOGGERS = ("pymilvus", "pymilvus.milvus_client", "pymilvus.bulk_writer", "milvus_lite")
"""Libraries that log a store failure with its traceback on stderr (pymilvus through its own handlers, Milvus
Lite through Python's last resort) before figvault reports the same failure in one line."""


def _configure_store_library_first() -> None:
    """Import pymilvus, whose import configures its loggers (``logging.config.dictConfig``: a stderr handler
    each), so that ``log_to_file`` replaces those handlers after, not before: the store is opened lazily,
    after the log is set up, and its import put the stderr handler back (``figvault reencode`` on a full
    disk printed 22 lines of pymilvus tracebacks before its one-line error; an audit, 2026-12-07)."""
    with contextlib.suppress(ImportError):  # not installed: nothing of it logs
        import pymilvus  # noqa: F401


def log_to_file(settings: Settings) -> Path | None:
    """Send figvault's log records of this command to the log file (and warnings to the terminal, one line
    each); the file's path, or None where it cannot be opened (then Python's defaults stay)."""
    logger = logging.getLogger("figvault")
    path = log_path(settings)
    if any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        return path  # one command in a process that ran another (tests)
    try:
        make_private_dirs(path.parent)
        file = _File(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8")
    except OSError:
        return None
    file.setLevel(logging.WARNING)
    file.setFormatter(logging.Formatter("%(asctime)s pid %(process)d %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(file)
    logger.addHandler(_Terminal())
    _configure_store_library_first()
    for name in LIBRARY_LOGGERS:  # their records to the file only: figvault says what failed, once
        library = logging.getLogger(name)
        library.handlers, library.propagate = [file], False
    return path


def failure_line(job: Job, log_file: Path | None) -> str:
    """Why ``job`` ended as it did, for the operator at the terminal: its whole reason where the job's
    message (read over HTTP too) leaves part out (``DETAIL``; its traceback is in the log file), else the
    message."""
    from figvault.pipeline.jobs import DETAIL

    detail = job.result.get(DETAIL)
    if not detail:
        return job.message
    return f"{detail} (traceback in {log_file})" if _written(log_file) else str(detail)


def _written(log_file: Path | None) -> bool:
    """Whether this command's records reached ``log_file``: not where it could not be written (a full
    disk), where the line used to point at a traceback that is not there."""
    handlers = [h for h in logging.getLogger("figvault").handlers if isinstance(h, _File)]
    mine = [h for h in handlers if log_file is not None and h.baseFilename == str(log_file)]
    return bool(mine) and not any(h.failed for h in mine)
