"""Shared group folders (setgid, mode 2775, the group of an ops team the service account is in, not the
user's own) for the Ray temporary folder and the text export cache. Before, any group write refused them
(``the temporary folder ... is not safe``; the export cache silently unused). Now what is safe is used: a
folder of this user or root, open to the writes of no other user and of no group the service is not in;
what is not is refused with the reason (another user's, every user's writes, a group it is not in)."""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import pytest

from figvault import private_dirs
from figvault.errors import FigvaultError
from figvault.private_dirs import private_temp_dir, shared_folder_above

OPS_GID = 64000
"""The ops team's group: the service account is in it (as ``service_groups`` says), not its own group."""
FOREIGN_GID = 64001
"""Another team's group: the service is not in it."""

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a folder another group")


@pytest.fixture(autouse=True)
def in_ops_group(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = {os.getegid(), *os.getgroups()}
    assert OPS_GID not in mine and FOREIGN_GID not in mine
    monkeypatch.setattr(private_dirs, "service_groups", lambda: mine | {OPS_GID}, raising=False)


def group_folder(path: Path, gid: int, mode: int = 0o2775) -> Path:
    path.mkdir()
    os.chown(path, -1, gid)
    path.chmod(mode)
    return path


def test_a_setgid_group_folder_of_the_services_group_is_a_safe_temporary_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = group_folder(tmp_path / "ops-tmp", OPS_GID)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert shared_folder_above(temp) is None
    assert private_temp_dir("figvault-ray-encoder") == temp / f"figvault-ray-encoder-{os.geteuid()}"


@pytest.mark.parametrize(
    ("gid", "mode", "reason"),
    [
        (FOREIGN_GID, 0o2775, f"group gid {FOREIGN_GID} may write it, and this service is not in that group"),
        (OPS_GID, 0o2777, "every user may write it"),
    ],
)
def test_a_temporary_folder_others_may_write_is_refused_saying_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, gid: int, mode: int, reason: str
) -> None:
    temp = group_folder(tmp_path / "tmp", gid, mode)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with pytest.raises(FigvaultError, match="not safe") as refused:
        private_temp_dir("figvault-ray-encoder")
    assert reason in str(refused.value) and str(temp) in str(refused.value)
    assert not list(temp.iterdir())


def test_a_folder_of_another_user_is_refused_saying_so(tmp_path: Path) -> None:
    theirs = group_folder(tmp_path / "theirs", OPS_GID)
    os.chown(theirs, 65534, -1)
    shared = shared_folder_above(theirs)
    assert shared is not None and shared.folder == theirs and "belongs to another user" in shared.reason


def test_the_export_cache_in_an_ops_group_folder_is_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.encoders.test_onnx_cache import TEXTS, _encoder
    from tests.encoders.tiny_text import build_tiny_sentence_model

    pytest.importorskip("onnxruntime")
    tiny = build_tiny_sentence_model(tmp_path / "tiny")
    ops = group_folder(tmp_path / "ops", OPS_GID)
    first = _encoder(tiny, tmp_path / "a", cache=str(ops / "text-onnx"))
    assert first.prepare_documents(threads=1) == "onnxruntime"
    truth = first.encode_texts(TEXTS)
    later = _encoder(tiny, tmp_path / "b", cache=str(ops / "text-onnx"))
    assert later.prepare_documents(threads=1) == "onnxruntime"
    assert not later.loaded, "the export in the ops group's folder was not used"
    assert abs(later.encode_documents(TEXTS) - truth).max() < 1e-3

    os.chown(ops, -1, FOREIGN_GID)  # another team's folder: not used, and the warning says why
    with caplog.at_level(logging.WARNING, logger="figvault"):
        refused = _encoder(tiny, tmp_path / "c", cache=str(ops / "text-onnx"))
        assert refused.prepare_documents(threads=1) == "onnxruntime" and refused.loaded
    assert "this service is not in that group" in caplog.text
