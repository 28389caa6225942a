"""embedding_version: every input that changes a vector changes it; the same settings give the same one."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from figvault.encoders.clip import resolve_clip_spec
from figvault.encoders.factory import build_encoders, configured_embedding_version
from figvault.encoders.version import channel_version, combined_version
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, TINY_B, save_state_dict, tiny_clip_env, tiny_settings

REPO = Path(__file__).resolve().parents[2]
SAFE_NAME = re.compile(r"^v[0-9a-f]{12}$")


def version_of(settings: Settings) -> str:
    return build_encoders(settings).embedding_version


def test_version_is_short_and_collection_safe(tiny_clip_settings: Settings) -> None:
    encoders = build_encoders(tiny_clip_settings)
    assert SAFE_NAME.match(encoders.embedding_version)
    for channel in encoders.channels():
        assert re.fullmatch(rf"{channel.name}_[0-9a-f]{{12}}", channel.embedding_version)


def test_configured_version_matches_built_encoders(tiny_clip_settings: Settings) -> None:
    encoders = build_encoders(tiny_clip_settings)
    assert configured_embedding_version(tiny_clip_settings) == encoders.embedding_version
    assert not encoders.clip.loaded and not encoders.text.loaded  # type: ignore[union-attr]


def test_configured_version_needs_no_downloaded_tag(data_dir: Path) -> None:
    """The default profile's version is known offline although its weights are not there."""
    default = Settings(data_dir=data_dir)
    version = configured_embedding_version(default)
    assert SAFE_NAME.match(version)
    default.clip.pretrained = "laion400m_e32"
    assert configured_embedding_version(default) != version


def test_every_setting_that_changes_vectors_changes_the_version(
    tiny_clip_settings: Settings, data_dir: Path, tmp_path: Path
) -> None:
    base = version_of(tiny_clip_settings)
    variants: dict[str, Settings] = {}

    def variant(name: str) -> Settings:
        variants[name] = tiny_clip_settings.model_copy(deep=True)
        return variants[name]

    variant("architecture").clip.model = str(TINY_B)
    variant("weights seed").clip.pretrained = "none:1"
    variant("precision").clip.precision = "bf16"
    variant("text precision").text.precision = "bf16"
    variant("text max_chars").text.max_chars = 500
    variant("lexical analyzer").lexical.analyzer = "jieba"
    variant("lexical off").lexical.enabled = False
    variant("text channel off").text.enabled = False
    variant("clip channel off").clip.enabled = False
    model = build_encoders(tiny_clip_settings).clip.load()._model  # type: ignore[union-attr]
    weights_file = save_state_dict(model, tmp_path / "tiny.safetensors")
    variant("weights file").clip.pretrained = f"local-file:{weights_file}"

    versions = {name: version_of(settings) for name, settings in variants.items()}
    assert base not in versions.values(), versions
    assert len(set(versions.values())) == len(versions), versions

    # Retraining changes the file, so its hash, so the version.
    with weights_file.open("r+b") as handle:
        handle.seek(-4, os.SEEK_END)
        handle.write(b"\x01\x02\x03\x04")
    retrained = variants["weights file"].model_copy(deep=True)
    assert version_of(retrained) != versions["weights file"]


def test_preprocessing_and_tokenizer_fields_are_in_the_version(tiny_clip_settings: Settings) -> None:
    spec = resolve_clip_spec(tiny_clip_settings.clip)
    changes = {
        "size": dataclasses.replace(spec, preprocess={**spec.preprocess, "size": [96, 96]}),
        "mean": dataclasses.replace(spec, preprocess={**spec.preprocess, "mean": [0.5, 0.5, 0.5]}),
        "std": dataclasses.replace(spec, preprocess={**spec.preprocess, "std": [0.5, 0.5, 0.5]}),
        "resize": dataclasses.replace(spec, preprocess={**spec.preprocess, "resize_mode": "squash"}),
        "interp": dataclasses.replace(spec, preprocess={**spec.preprocess, "interpolation": "bilinear"}),
        "context": dataclasses.replace(spec, context_length=64),
        "dim": dataclasses.replace(spec, dim=64),
    }
    versions = {name: s.embedding_version for name, s in changes.items()}
    assert spec.embedding_version not in versions.values()
    assert len(set(versions.values())) == len(versions)
    # The device does not change what is computed, so it is not part of the version.
    assert dataclasses.replace(spec, device="cuda").embedding_version == spec.embedding_version


def test_version_helpers_are_order_independent() -> None:
    a = channel_version("clip", {"dim": 2, "weights": "x"})
    assert a == channel_version("clip", {"weights": "x", "dim": 2})
    assert combined_version({"clip": a, "text": "t"}, "standard") == combined_version(
        {"text": "t", "clip": a}, "standard"
    )
    assert combined_version({"clip": a}, None) != combined_version({"clip": a}, "standard")


@pytest.mark.parametrize("config", [TINY_A])
def test_same_settings_same_version_in_another_process(
    tiny_clip_settings: Settings, data_dir: Path, config: Path
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")},
        **tiny_clip_env(config),
        "FIGVAULT_DATA_DIR": str(data_dir),
        "FIGVAULT_CLIP__BATCH_SIZE": "8",
    }
    script = (
        "from figvault.settings import load_settings\n"
        "from figvault.encoders.factory import build_encoders\n"
        "e = build_encoders(load_settings('default'))\n"
        "print(e.embedding_version, e.clip.encode_texts(['chart'])[0][:4].round(5).tolist())\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    version, vector = result.stdout.split(" ", 1)
    here = build_encoders(tiny_settings(data_dir, config))
    assert version == here.embedding_version
    assert vector.strip() == str(here.clip.encode_texts(["chart"])[0][:4].round(5).tolist())  # type: ignore[union-attr]
