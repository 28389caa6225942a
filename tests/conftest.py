"""Session-wide fixtures: settings on a temporary data folder, and the shared evaluation corpus."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from figvault.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[1]

# Ray's local-only mode (what it does on macOS): the node's address is 127.0.0.1 and its servers (GCS,
# raylet, workers, agents, autoscaler monitor) bind there. On Linux Ray otherwise replaces even an explicit
# ``_node_ip_address="127.0.0.1"`` with the machine's address and binds every interface. Set here, before
# any test module imports ray: ray_constants reads it at import (and Ray's children inherit it).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

# Shared fixture modules (each area's builders of tiny models and data).
pytest_plugins = ["tests.fixtures_qwen", "tests.fixtures_models", "tests.fixtures_registry"]


def corpus_dir() -> Path:
    return Path(os.environ.get("FIGVAULT_CORPUS", REPO.parent / "shared" / "corpus"))


def distractors_dir() -> Path:
    return Path(os.environ.get("FIGVAULT_DISTRACTORS", REPO.parent / "shared" / "corpus-distractors"))


@pytest.fixture(scope="session")
def _text_export_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One text model export for the session (encoders/onnx_cache.py): in each test's data folder it would
    be exported again and kept, 90 MB a test."""
    return tmp_path_factory.mktemp("text-onnx")


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, _text_export_cache: Path) -> None:
    # A developer's own FIGVAULT_* variables must not change what the tests see; nor may a hub be asked.
    for key in list(os.environ):
        if key.startswith("FIGVAULT_") and key not in {"FIGVAULT_CORPUS", "FIGVAULT_DISTRACTORS"}:
            monkeypatch.delenv(key)
    monkeypatch.setenv("FIGVAULT_TEXT__EXPORT_CACHE", str(_text_export_cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture(autouse=True)
def _log_handlers_restored() -> Iterator[None]:
    """The loggers' handlers as before the test: a command run in-process (``log_to_file``) adds a log file
    and a terminal handler on that test's captured stderr, and points the store libraries at its file. Kept,
    they piled up (a handler per command of every earlier test, each warning written to all of them and a
    "--- Logging error ---" with its stack from each closed stream), and later tests logged into old
    folders."""
    from figvault.commands._log import LIBRARY_LOGGERS

    # Not the root logger: pytest adds and removes its own capture handlers there around each phase.
    loggers = [logging.getLogger(name) for name in ("figvault", *LIBRARY_LOGGERS)]
    before = [(list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    yield
    for lg, (handlers, propagate, level) in zip(loggers, before, strict=True):
        for added in set(lg.handlers) - set(handlers):
            with contextlib.suppress(OSError, ValueError):  # a log file on a full disk (test_disk_full)
                added.close()
        lg.handlers, lg.propagate, lg.level = handlers, propagate, level


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def offline_settings(data_dir: Path) -> Settings:
    return load_settings("offline", data_dir=data_dir)


@pytest.fixture(scope="session")
def corpus() -> Path:
    path = corpus_dir()
    if not (path / "figures.jsonl").exists():
        pytest.skip(f"evaluation corpus not found at {path} (set FIGVAULT_CORPUS)")
    return path
