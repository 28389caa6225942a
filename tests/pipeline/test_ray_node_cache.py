"""An encoder actor's node cache (weight-hash record, text export) is in a folder of its user alone: a
folder another local user made first under the temporary folder, with files planted in it, is not used
(docs/service.md, Ray). No Ray is started: the actor's class is built in this process, its encoders
recorded instead of loaded."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

import pytest

from figvault import private_dirs
from figvault.encoders import factory
from figvault.encoders.weights import hash_cache_for, sha256_file
from figvault.errors import FigvaultError
from figvault.pipeline import ray_engine
from figvault.private_dirs import only_mine
from figvault.settings import Settings

OTHER_UID = 65534  # nobody


def plant(folder: Path, weights: Path) -> None:
    """What another user leaves: the folder open to all, a weight-hash record forging ``weights``' digest
    and a text export cache folder of theirs."""
    (folder / "cache" / "text-onnx").mkdir(parents=True)
    record = {"size": weights.stat().st_size, "mtime_ns": weights.stat().st_mtime_ns, "sha256": "0" * 64}
    (folder / "cache" / "weight-hashes.json").write_text(json.dumps({str(weights.resolve()): record}))
    for path in (folder, folder / "cache", folder / "cache" / "text-onnx"):
        path.chmod(0o777)
        if os.geteuid() == 0:
            os.chown(path, OTHER_UID, OTHER_UID)


def actor_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings an EncoderActor gives ``build_encoders`` (which, like loading, is recorded only)."""
    seen: list[Settings] = []
    monkeypatch.setattr(factory, "build_encoders", lambda settings: seen.append(settings))
    monkeypatch.setattr(ray_engine, "load_encoders", lambda encoders, clock: clock.add_load(0.0))
    ray_engine.EncoderActor(Settings(data_dir=tmp_path / "driver-data"))
    return seen[0]


def test_an_actor_uses_no_cache_folder_another_user_made_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    weights = tmp_path / "model.safetensors"
    weights.write_bytes(b"the weights")
    planted = [temp / "figvault-ray-encoder", temp / f"figvault-ray-encoder-{os.geteuid()}"]  # names known
    for folder in planted:
        plant(folder, weights)

    sent = actor_settings(tmp_path, monkeypatch)

    assert hash_cache_for(sent.data_dir).sha256(weights) == sha256_file(weights)  # the record is not read
    used = [sent.data_dir, sent.text_export_cache]
    assert not [p for p in used for folder in planted if p is not None and p.is_relative_to(folder)]
    assert only_mine(sent.data_dir) and stat.S_IMODE(sent.data_dir.stat().st_mode) == 0o700


def test_an_actor_keeps_its_cache_in_its_users_private_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no one ahead of it, the folder is ``<tmp>/figvault-ray-encoder-<uid>`` (0700), the same for every
    actor of the node: the weights are hashed once per node."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    first, second = (actor_settings(tmp_path, monkeypatch).data_dir for _ in range(2))
    assert first == second == tmp_path / f"figvault-ray-encoder-{os.geteuid()}"
    assert stat.S_IMODE(first.stat().st_mode) == 0o700


@pytest.mark.parametrize("temp_mode", [0o777, 0o770])
def test_an_actor_refuses_a_temporary_folder_where_others_may_rename_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, temp_mode: int
) -> None:
    """A temporary folder open to writes without the sticky bit (everyone's, or a group's the service is not
    in): another user could rename the actor's private folder away and plant theirs, record included, under
    its name; its own 0700 protects nothing. Before, the folder was made there and used (``only_mine``
    checks the folder, not what holds it). A group the service is in: tests/core/test_group_folders.py."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    temp.chmod(temp_mode)
    monkeypatch.setattr(private_dirs, "service_groups", lambda: set())  # the folder's group is not ours
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    with pytest.raises(FigvaultError, match="set TMPDIR"):
        actor_settings(tmp_path, monkeypatch)
    assert not list(temp.iterdir())  # nothing made there


def test_an_actor_refuses_a_temporary_folder_of_another_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its owner may rename anything in it, whatever its mode; through a link to it as well."""
    if os.geteuid() != 0:
        pytest.skip("only root can give a folder to another user")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    os.chown(theirs, OTHER_UID, OTHER_UID)
    (tmp_path / "link").symlink_to(theirs)
    for temp in (theirs, tmp_path / "link"):
        monkeypatch.setattr(tempfile, "tempdir", str(temp))
        with pytest.raises(FigvaultError, match="not safe"):
            actor_settings(tmp_path, monkeypatch)


def test_a_sticky_shared_temporary_folder_is_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/tmp's own mode (1777): others may write there but not rename what is this user's."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    temp.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    assert actor_settings(tmp_path, monkeypatch).data_dir == temp / f"figvault-ray-encoder-{os.geteuid()}"
