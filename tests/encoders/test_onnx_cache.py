"""The text model's export kept on disk (encoders/onnx_cache.py): a later process's batch job encodes its
stored texts from it without loading the torch model, with the same vectors; a damaged or foreign entry is
never used (the export is made again), and ``off`` keeps nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from figvault.encoders.onnx_questions import MODEL_FILE, TOLERANCE

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

TEXTS = ["quarterly revenue by region", "Figure 2: " + "network topology " * 200, "a", "Bar CHART, 3.5 %"]


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.encoders.tiny_text import build_tiny_sentence_model

    return build_tiny_sentence_model(tmp_path_factory.mktemp("tiny-text"))


def _encoder(folder: Path, data: Path, cache: str = "") -> Any:
    """A fresh encoder, as a new process builds it (nothing loaded)."""
    from figvault.encoders.text import SentenceTextEncoder, resolve_text_spec
    from figvault.settings import load_settings

    settings = load_settings("offline", data_dir=data)
    settings.text.model = f"local-dir:{folder}"
    settings.text.export_cache = cache
    return SentenceTextEncoder(resolve_text_spec(settings.text, export_cache=settings.text_export_cache))


def _entries(data: Path) -> list[Path]:
    root = data / "cache" / "text-onnx"
    return sorted(root.iterdir()) if root.is_dir() else []


def test_a_later_batch_job_encodes_from_the_cached_export_without_the_torch_model(
    tiny_folder: Path, tmp_path: Path
) -> None:
    first = _encoder(tiny_folder, tmp_path)
    assert first.prepare_documents(threads=1) == "onnxruntime"
    exported = first.encode_documents(TEXTS)
    torch_vectors = first.encode_texts(TEXTS)
    (entry,) = _entries(tmp_path)
    assert sorted(p.name for p in entry.iterdir()) == ["meta.json", MODEL_FILE, "tokenizer.json"]

    later = _encoder(tiny_folder, tmp_path)
    assert later.prepare_documents(threads=1) == "onnxruntime"
    assert not later.loaded  # no torch model: no sentence-transformers load, no export
    cached = later.encode_documents(TEXTS)
    np.testing.assert_array_equal(cached, exported)
    assert np.abs(cached - torch_vectors).max() <= TOLERANCE
    assert not later.loaded
    np.testing.assert_array_equal(later.encode_texts(TEXTS), torch_vectors)  # torch loads on first use


def test_a_damaged_entry_is_exported_again(tiny_folder: Path, tmp_path: Path) -> None:
    assert _encoder(tiny_folder, tmp_path).prepare_documents(threads=1) == "onnxruntime"
    (entry,) = _entries(tmp_path)
    (entry / MODEL_FILE).write_bytes((entry / MODEL_FILE).read_bytes()[:1000])  # cut short
    again = _encoder(tiny_folder, tmp_path)
    assert again.prepare_documents(threads=1) == "onnxruntime"
    assert again.loaded  # exported afresh from the torch model
    assert np.abs(again.encode_documents(TEXTS) - again.encode_texts(TEXTS)).max() <= TOLERANCE
    third = _encoder(tiny_folder, tmp_path)  # the fresh export replaced the damaged entry
    assert third.prepare_documents(threads=1) == "onnxruntime" and not third.loaded


def test_an_entry_whose_probes_differ_is_not_used(tiny_folder: Path, tmp_path: Path) -> None:
    assert _encoder(tiny_folder, tmp_path).prepare_documents(threads=1) == "onnxruntime"
    (entry,) = _entries(tmp_path)
    meta = json.loads((entry / "meta.json").read_text())
    meta["vectors"][0][0] += 0.01  # as if another model's export sat under this key
    (entry / "meta.json").write_text(json.dumps(meta))
    again = _encoder(tiny_folder, tmp_path)
    assert again.prepare_documents(threads=1) == "onnxruntime" and again.loaded
    assert json.loads((entry / "meta.json").read_text())["vectors"] != meta["vectors"]  # replaced


def test_the_key_follows_the_libraries(monkeypatch: pytest.MonkeyPatch) -> None:
    from figvault.encoders import onnx_cache

    before = onnx_cache.entry_key("text-v1", 256)
    assert onnx_cache.entry_key("text-v2", 256) != before and onnx_cache.entry_key("text-v1", 128) != before
    monkeypatch.setattr(onnx_cache, "_version", lambda package: "0.0" if package == "onnxruntime" else "1")
    assert onnx_cache.entry_key("text-v1", 256) != before


def test_off_keeps_nothing(tiny_folder: Path, tmp_path: Path) -> None:
    text = _encoder(tiny_folder, tmp_path, cache="off")
    assert text.spec.export_cache is None
    assert text.prepare_documents(threads=1) == "onnxruntime"
    assert _entries(tmp_path) == []


def _plant_negated(entry: Path) -> None:
    """Rewrite ``entry`` as another user could: a model whose every vector is the true one negated, with
    probe vectors recorded to match, so the entry passes its own probe check."""
    import onnx
    from onnx import helper

    model = onnx.load(str(entry / MODEL_FILE))
    for node in model.graph.node:
        node.output[:] = ["hidden_raw" if name == "hidden" else name for name in node.output]
    model.graph.node.append(helper.make_node("Neg", ["hidden_raw"], ["hidden"]))
    onnx.save(model, str(entry / MODEL_FILE))
    meta = json.loads((entry / "meta.json").read_text())
    meta["vectors"] = (-np.asarray(meta["vectors"])).tolist()
    (entry / "meta.json").write_text(json.dumps(meta))


def test_an_entry_others_may_change_is_not_used(tiny_folder: Path, tmp_path: Path) -> None:
    """An entry passes its probe check against its own meta.json, so whoever writes it chooses every
    question's and stored text's vector. Used before wherever it lay: a cache folder another user made
    first (text.export_cache under /tmp) or one open to a group. Now only a folder of this user's alone
    (made 0700) is read."""
    cache = tmp_path / "cache"
    first = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert first.prepare_documents(threads=1) == "onnxruntime"
    truth = first.encode_texts(TEXTS)
    assert cache.stat().st_mode & 0o777 == 0o700
    (entry,) = sorted(cache.iterdir())
    _plant_negated(entry)
    # In a folder of this user's alone the planted entry is read: what is at stake.
    private = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert private.prepare_documents(threads=1) == "onnxruntime" and not private.loaded
    assert np.abs(private.encode_documents(TEXTS) + truth).max() <= TOLERANCE
    cache.chmod(0o777)  # anyone may write the cache folder
    shared = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert shared.prepare_documents(threads=1) == "onnxruntime"
    assert shared.loaded, "the entry of a folder others may write was used"
    assert np.abs(shared.encode_documents(TEXTS) - truth).max() <= TOLERANCE
    cache.chmod(0o700)
    (entry / "meta.json").chmod(0o666)  # or the entry's own file
    third = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert third.prepare_documents(threads=1) == "onnxruntime" and third.loaded
    assert np.abs(third.encode_documents(TEXTS) - truth).max() <= TOLERANCE


def test_an_entry_under_a_folder_others_may_rename_in_is_not_used(
    tiny_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The entry and its cache folder are this user's alone, but the folder above is open to writes
    without the sticky bit (a data folder writable by a group the service is not in): another user could
    move the cache away between the check and the open and plant theirs. Used before (the check stopped at
    the cache folder). A group the service is in: tests/core/test_group_folders.py."""
    from figvault import private_dirs

    monkeypatch.setattr(private_dirs, "service_groups", lambda: set())  # the folder's group is not ours
    shared = tmp_path / "shared"
    shared.mkdir()
    cache = shared / "cache"
    first = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert first.prepare_documents(threads=1) == "onnxruntime"
    truth = first.encode_texts(TEXTS)
    (entry,) = sorted(cache.iterdir())
    _plant_negated(entry)  # stands for what they would plant: read means their vectors are used
    shared.chmod(0o770)
    later = _encoder(tiny_folder, tmp_path, cache=str(cache))
    assert later.prepare_documents(threads=1) == "onnxruntime"
    assert later.loaded, "the entry under a folder others may rename in was used"
    assert np.abs(later.encode_documents(TEXTS) - truth).max() <= TOLERANCE
