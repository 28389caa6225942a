"""A full disk during a command: one line that says so, not some 300 lines of tracebacks.

Seen on a 1.6 MB tmpfs data folder: `figvault ingest` printed Milvus Lite's traceback of the failed upsert,
pymilvus's of the same RPC, Python's "--- Logging error ---" for each record the log file could not take,
and last the uncaught traceback of recording the job's end in the registry ("database or disk is full").
"""

from __future__ import annotations

import errno
import logging
import sqlite3
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy.exc

from figvault import cli
from figvault.commands import _log
from figvault.errors import StoreError, disk_full
from figvault.pipeline.jobs import DETAIL
from figvault.settings import load_settings


def _registry_full_while_handling_a_store_full() -> sqlalchemy.exc.OperationalError:
    """The chain the ingest ended with: the store's failure, then the registry's while recording it."""
    try:
        try:
            raise StoreError("cannot write 16 units: <MilvusException: (code=1, message=[Errno 28] No space")
        except StoreError:
            raise sqlalchemy.exc.OperationalError(
                "COMMIT", {}, sqlite3.OperationalError("database or disk is full")
            ) from sqlite3.OperationalError("database or disk is full")
    except sqlalchemy.exc.OperationalError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "full"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), True),
        (OSError(errno.EDQUOT, "Disk quota exceeded"), True),
        (
            StoreError(
                "cannot write 3 units: <MilvusException: (message=[Errno 28] No space left on device)>"
            ),
            True,
        ),
        (_registry_full_while_handling_a_store_full(), True),
        (OSError(errno.EACCES, "Permission denied"), False),
        (sqlite3.OperationalError("database is locked"), False),
        (RuntimeError("boom"), False),
    ],
)
def test_a_full_disk_is_recognised_through_the_libraries_and_the_chain(
    exc: BaseException, full: bool
) -> None:
    assert disk_full(exc) is full


def test_a_full_disk_ends_the_command_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def app() -> None:
        raise _registry_full_while_handling_a_store_full()

    cli.load_commands()  # on the real app, before main() runs the one below
    monkeypatch.setattr(cli.commands, "app", app)
    with pytest.raises(SystemExit) as ended:
        cli.main()
    assert ended.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the disk is full (")
    assert "database or disk is full" in lines[0] and "run the command again" in lines[0]


def test_another_failure_keeps_its_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def app() -> None:
        raise RuntimeError("a bug")

    cli.load_commands()  # on the real app, before main() runs the one below
    monkeypatch.setattr(cli.commands, "app", app)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main()


@pytest.fixture
def fresh_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """figvault's and the store libraries' loggers as a new process has them, restored afterwards."""
    for name in ("figvault", "pymilvus", "milvus_lite"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", list(logger.handlers))
        monkeypatch.setattr(logger, "propagate", logger.propagate)
    monkeypatch.setattr(logging.getLogger("figvault"), "handlers", [])


def _failure(name: str) -> None:
    try:
        raise OSError(errno.ENOSPC, "No space left on device")
    except OSError:
        logging.getLogger(name).exception("job 1 (ingest) failed")


@pytest.mark.usefixtures("fresh_loggers")
def test_a_log_file_that_cannot_be_written_costs_one_line(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    settings = load_settings("offline", data_dir=tmp_path)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / _log.LOG_NAME).symlink_to("/dev/full")  # every write: ENOSPC
    assert _log.log_to_file(settings) is not None
    _failure("figvault.pipeline.jobs")
    _failure("figvault.pipeline.jobs")
    err = capfd.readouterr().err
    assert "Logging error" not in err
    log_file = tmp_path / "logs" / _log.LOG_NAME
    assert err.splitlines() == [
        f"warning: cannot write the log file {log_file}: [Errno 28] No space left on device"
    ]
    # The command's last line does not send the operator to a traceback the file could not take.
    ended = SimpleNamespace(message="stopped", result={DETAIL: "stopped: the disk is full (...)"})
    assert _log.failure_line(ended, log_file) == "stopped: the disk is full (...)"  # type: ignore[arg-type]


@pytest.mark.usefixtures("fresh_loggers")
def test_the_store_libraries_tracebacks_go_to_the_log_file_only(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    path = _log.log_to_file(settings)
    assert path is not None
    logging.getLogger("pymilvus.decorators").error(
        "RPC error: [upsert_rows], <elapsed>\nTraceback:\n  File x"
    )
    _failure("milvus_lite.adapter.grpc.servicer")
    for handler in logging.getLogger("figvault").handlers:
        handler.flush()
    assert capfd.readouterr().err == ""
    written = path.read_text(encoding="utf-8")
    assert "RPC error: [upsert_rows]" in written and "job 1 (ingest) failed" in written
    assert "Traceback" in written


STORE_OPENED_AFTER_THE_LOG = """
import logging, sys
from figvault.commands import _log
from figvault.settings import load_settings
assert "pymilvus" not in sys.modules
_log.log_to_file(load_settings("offline", data_dir=sys.argv[1]))
import pymilvus  # as the store's first open imports it, after the log is set up
logging.getLogger("pymilvus.decorators").error("RPC error: [upsert_rows]\\nTraceback:\\n  File x")
logging.getLogger("pymilvus.milvus_client.milvus_client").error("client failure")
"""


def test_the_store_library_imported_after_the_log_still_writes_to_the_file_only(tmp_path: Path) -> None:
    """pymilvus configures its loggers when it is first imported, a stderr handler each; the store is opened
    (and pymilvus imported) after the log is set up, so its handler came back and a failing `figvault
    reencode` printed its tracebacks on the terminal (an audit, 2026-12-07). A fresh process: here it is
    imported already."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", STORE_OPENED_AFTER_THE_LOG, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    written = _log.log_path(load_settings("offline", data_dir=tmp_path)).read_text(encoding="utf-8")
    assert "RPC error: [upsert_rows]" in written and "client failure" in written


@pytest.mark.usefixtures("fresh_loggers")
def test_the_log_file_is_rotated_at_its_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before 2026-12-05 the file grew for good: 200 failures of 1 KB each made one 200 KB file here."""
    monkeypatch.setattr(_log, "LOG_MAX_BYTES", 20_000)
    settings = load_settings("offline", data_dir=tmp_path)
    path = _log.log_to_file(settings)
    assert path is not None
    for _ in range(200):
        logging.getLogger("figvault.pipeline.jobs").warning("a failed document: %s", "x" * 1000)
    sizes = sorted(p.stat().st_size for p in path.parent.iterdir())
    assert path.stat().st_size <= 20_000
    assert len(sizes) == 1 + 3 and max(sizes) <= 20_000


@pytest.mark.usefixtures("fresh_loggers")
def test_a_process_writing_the_log_while_another_rotates_it_loses_no_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes share the log file (two handlers, two open files here). Before 2026-12-05 the one
    that did not rotate went on writing to the renamed figvault.log.1, then .2 and .3, and its next line
    went into a deleted file: lost."""
    monkeypatch.setattr(_log, "LOG_MAX_BYTES", 2_000)
    path = tmp_path / "logs" / _log.LOG_NAME
    path.parent.mkdir()
    other = _log._File(path, maxBytes=2_000, backupCount=_log.LOG_BACKUPS, encoding="utf-8")
    assert _log.log_to_file(load_settings("offline", data_dir=tmp_path)) == path
    logging.getLogger("figvault.pipeline.jobs").warning("first line of this process")
    for n in range(20):  # the other process's lines: its file rotated several times
        other.emit(logging.makeLogRecord({"msg": f"other {n}: " + "y" * 400}))
    other.close()
    logging.getLogger("figvault.pipeline.jobs").warning("second line of this process")
    written = "".join(p.read_text(encoding="utf-8") for p in path.parent.iterdir())
    assert "second line of this process" in written
