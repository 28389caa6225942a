"""The data folder figvault makes, and every folder it makes in it, is its user's alone (0700; the registry
0600). Before (2026-12-05, seventh red-team pass) they followed the umask (0755 folders, a 0644 registry):
other local users of the host read the audit trail's questions, the originals and the figures. A folder
the operator made keeps its mode."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from tests.generated_docs import figure_pdf
from tests.helpers.cli import offline_cli as run
from tests.helpers.server import free_port

OTHERS = stat.S_IRWXG | stat.S_IRWXO


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def open_paths(data_dir: Path) -> list[str]:
    """Folders under ``data_dir`` other users may enter, and its own files they may read or write."""
    folders = [p for p in data_dir.rglob("*") if p.is_dir() and mode(p) & OTHERS]
    files = [p for p in data_dir.iterdir() if p.is_file() and mode(p) & OTHERS]
    return [f"{p} {oct(mode(p))}" for p in folders + files]


def test_a_fresh_data_folder_and_its_missing_parent_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)  # the usual umask, whatever the test runner's
    try:
        data_dir = tmp_path / "home" / "figvault"
        result = run(data_dir, "users", "add", "ana", "--role", "admin", "--groups", "eng")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(data_dir) == 0o700 and mode(data_dir.parent) == 0o700
    assert mode(data_dir / "registry.sqlite3") == 0o600
    assert open_paths(data_dir) == []


def test_a_data_folder_the_operator_made_keeps_its_mode(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data_dir.chmod(0o750)
    old = os.umask(0o022)
    try:
        result = run(data_dir, "users", "add", "ana", "--role", "admin", "--groups", "eng")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert mode(data_dir) == 0o750
    assert open_paths(data_dir) == []  # the registry and the folders made in it are private all the same


def test_serve_warns_once_of_a_data_folder_others_may_enter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # serve puts a stderr handler on figvault's logger and lowers its level to info, for its process's life:
    # here that handler would keep this run's (closed) captured stream, and every later test's info record
    # (a job's end) would print "--- Logging error ---" into that test's stderr.
    figvault_logger = logging.getLogger("figvault")
    monkeypatch.setattr(figvault_logger, "handlers", list(figvault_logger.handlers))
    monkeypatch.setattr(figvault_logger, "level", figvault_logger.level)
    monkeypatch.setattr("uvicorn.run", lambda app, **options: None)  # the app itself is not built: no models
    monkeypatch.setattr("figvault.service.app.create_app", lambda settings, on_ready=None: object())
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    for folder_mode, warned in ((0o755, True), (0o700, False)):
        data_dir.chmod(folder_mode)
        result = run(data_dir, "serve", "--port", str(free_port()))
        assert result.exit_code == 0, result.output
        warning = f"warning: other local users may read the data folder {data_dir}"
        assert (warning in result.output) is warned, result.output
        assert mode(data_dir) == folder_mode


def test_every_file_an_ingest_writes_is_private_in_an_open_folder(tmp_path: Path) -> None:
    """An operator's 0755 data folder (their choice, warned about by serve) still exposes nothing: every
    file figvault writes in it (the store's files, the text model's export, the log, originals, figures)
    is 0600. Before (2026-12-05) Milvus Lite's segments and manifests, the ONNX export and the log were
    0644 under the usual umask 022: other local users read the index's captions and texts."""
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    figure_pdf(tmp_path / "report.pdf", seed=3)
    old = os.umask(0o022)
    try:
        result = run(data_dir, "ingest", str(tmp_path / "report.pdf"), "--groups", "eng", "-q")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    files = [p for p in data_dir.rglob("*") if p.is_file()]
    assert {"registry.sqlite3", "figvault.log"} <= {p.name for p in files}
    assert any("milvus" in p.parts for p in files) and any("sources" in p.parts for p in files)
    assert [f"{p} {oct(mode(p))}" for p in files if mode(p) & OTHERS] == []
