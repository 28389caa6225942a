"""The listing commands and ``status`` on a data folder that holds no store (a mistyped ``--data-dir``, a
shell without serve's ``FIGVAULT_DATA_DIR``) made the folder and an empty registry there and answered "no
users": the next command then took the empty store for the real one. They now say the folder holds no
store, answer as for an empty one, and leave it missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cli import run


@pytest.mark.parametrize(
    ("command", "plain", "as_json"),
    [
        (("users", "list"), ("", "no users\n"), ""),
        (("documents", "list"), ("", "no documents\n"), "[]"),
        (("jobs", "list"), ("no jobs\n", ""), "[]"),
    ],
)
def test_a_listing_of_a_missing_data_folder_says_so_and_creates_nothing(
    tmp_path: Path, command: tuple[str, ...], plain: tuple[str, str], as_json: str
) -> None:
    missing = tmp_path / "mistyped" / "data"
    code, out, err = run(missing, *command)
    assert code == 0, err
    assert out == plain[0] and err.endswith(plain[1]), (out, err)
    assert f"the data folder {missing} holds no figvault store" in err and "FIGVAULT_DATA_DIR" in err
    code, out, err = run(missing, *command, "--json")
    assert code == 0 and out.strip() == as_json, (out, err)
    if as_json:
        assert json.loads(out) == []
    assert not (tmp_path / "mistyped").exists()


def test_a_folder_with_a_store_lists_without_the_note(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "data", "users", "add", "ana", "--role", "admin", "--groups", "g")
    assert code == 0, err
    code, out, err = run(tmp_path / "data", "users", "list")
    assert code == 0 and out.startswith("ana\tadmin"), (out, err)
    assert "holds no figvault store" not in err


def test_status_of_a_missing_data_folder_says_so_and_creates_nothing(tmp_path: Path) -> None:
    """``status`` made the folder, a registry, a Milvus Lite file and the weights' hash cache, after which
    the listing commands no longer said that the folder may be the wrong one."""
    missing = tmp_path / "mistyped" / "data"
    code, out, err = run(missing, "status", "--json")
    assert code == 0, err
    info = json.loads(out)
    assert info["stored"] is False and info["collection"] is None and info["documents"] == {}
    # Every key a stored status has (scripts read them), empty.
    assert {"configured_embedding_version", "version_matches", "channels", "collections"} <= set(info)
    assert info["data_dir"] == str(missing) and "holds no figvault store" in err
    code, out, err = run(missing, "status")
    assert code == 0 and "nothing ingested yet" in out, (out, err)
    assert not (tmp_path / "mistyped").exists()
    code, _, err = run(missing, "users", "list")
    assert "holds no figvault store" in err


def test_status_with_a_store_elsewhere_says_nothing_of_the_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the vector store named by ``store.uri`` the status is the store's; the folder's note said
    "nothing was created" and the status then made the registry (a review, 2026-12-07)."""
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.setenv("FIGVAULT_STORE__URI", str(tmp_path / "elsewhere" / "milvus.db"))
    code, out, err = run(tmp_path / "data", "status", "--json")
    assert code == 0, err
    assert json.loads(out)["stored"] is True and "holds no figvault store" not in err
