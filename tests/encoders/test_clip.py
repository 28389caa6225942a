"""OpenCLIP channel on tiny random architectures, built through the production code path (nothing mocked)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from figvault.encoders.base import EncodingError, ImageTextEncoder
from figvault.encoders.clip import ClipEncoder, resolve_clip_spec
from figvault.encoders.factory import build_encoders
from figvault.settings import Settings
from tests.encoders.tiny_models import TINY_A, TINY_B, save_state_dict, tiny_settings


def sample_images() -> list[Image.Image]:
    rng = np.random.default_rng(7)
    noise = Image.fromarray(rng.integers(0, 255, (90, 120, 3), dtype=np.uint8))
    return [
        Image.new("RGB", (64, 64), (220, 30, 30)),
        noise,
        Image.new("L", (40, 200), 128),
        Image.new("RGB", (300, 50), (10, 120, 240)),
        noise.rotate(90, expand=True),
    ]


def clip_encoder(settings: Settings) -> ClipEncoder:
    return ClipEncoder(resolve_clip_spec(settings.clip))


def test_vectors_are_normalised_float32_in_one_space(tiny_clip_settings: Settings) -> None:
    encoder = clip_encoder(tiny_clip_settings)
    assert isinstance(encoder, ImageTextEncoder)
    images = encoder.encode_images(sample_images())
    texts = encoder.encode_texts(["a bar chart of revenue", "network topology", ""])
    assert images.shape == (5, 32) and texts.shape == (3, 32) and encoder.dim == 32
    assert images.dtype == np.float32 and texts.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, atol=1e-5)
    # Distinct inputs give distinct vectors (a broken pipeline tends to collapse them).
    assert not np.allclose(images[0], images[1], atol=1e-3)
    assert not np.allclose(texts[0], texts[1], atol=1e-3)


def test_empty_batches_keep_the_dimension(tiny_clip_settings: Settings) -> None:
    encoder = clip_encoder(tiny_clip_settings)
    assert encoder.encode_images([]).shape == (0, 32)
    assert encoder.encode_texts([]).shape == (0, 32)


def test_batched_equals_one_by_one(tiny_clip_settings: Settings) -> None:
    tiny_clip_settings.clip.batch_size = 3  # two batches, one partial
    encoder = clip_encoder(tiny_clip_settings)
    images = sample_images()
    together = encoder.encode_images(images)
    alone = np.concatenate([encoder.encode_images([image]) for image in images])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    texts = ["pie chart", "line plot of temperature", "x", "a much longer caption about a scatter plot"]
    np.testing.assert_allclose(
        encoder.encode_texts(texts), np.concatenate([encoder.encode_texts([t]) for t in texts]), atol=1e-5
    )


def test_same_seed_same_model_other_seed_other_model(tiny_clip_settings: Settings, data_dir: Path) -> None:
    first = clip_encoder(tiny_clip_settings).encode_texts(["chart"])
    again = clip_encoder(tiny_settings(data_dir, TINY_A, seed=0)).encode_texts(["chart"])
    other = clip_encoder(tiny_settings(data_dir, TINY_A, seed=1)).encode_texts(["chart"])
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other, atol=1e-3)


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_weights_file_round_trip(tiny_clip_settings: Settings, tmp_path: Path, suffix: str) -> None:
    in_memory = clip_encoder(tiny_clip_settings).load()
    assert in_memory._model is not None
    path = save_state_dict(in_memory._model, tmp_path / f"tiny{suffix}")
    images = sample_images()

    for pretrained in (f"local-file:{path}", str(path)):
        tiny_clip_settings.clip.pretrained = pretrained
        from_file = clip_encoder(tiny_clip_settings)
        assert from_file.spec.weights.source == "file"
        assert from_file.spec.weights.identity.startswith("sha256:")
        assert from_file.embedding_version != in_memory.embedding_version
        np.testing.assert_allclose(
            from_file.encode_images(images), in_memory.encode_images(images), atol=1e-6
        )
        np.testing.assert_allclose(
            from_file.encode_texts(["revenue"]), in_memory.encode_texts(["revenue"]), atol=1e-6
        )


def test_second_architecture_has_its_own_dims_and_preprocessing(tiny_clip_settings_b: Settings) -> None:
    encoder = clip_encoder(tiny_clip_settings_b)
    assert encoder.dim == 48
    assert encoder.spec.preprocess["size"] == [32, 32]
    assert encoder.spec.context_length == 32
    assert encoder.encode_images(sample_images()[:2]).shape == (2, 48)
    assert encoder.encode_texts(["a" * 500]).shape == (1, 48)  # longer than the context: truncated


def test_transparent_pixels_are_white(tiny_clip_settings: Settings) -> None:
    encoder = clip_encoder(tiny_clip_settings)
    transparent = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    white = Image.new("RGB", (64, 64), (255, 255, 255))
    black = Image.new("RGB", (64, 64), (0, 0, 0))
    vectors = encoder.encode_images([transparent, white, black])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
    assert not np.allclose(vectors[0], vectors[2], atol=1e-3)


def test_bad_inputs_name_their_position(tiny_clip_settings: Settings, tmp_path: Path) -> None:
    encoder = clip_encoder(tiny_clip_settings)
    with pytest.raises(EncodingError, match="item 1: expected a PIL image"):
        encoder.encode_images([Image.new("RGB", (8, 8)), "not an image"])  # type: ignore[list-item]
    with pytest.raises(EncodingError, match="item 0: expected a PIL image, got function"):
        encoder.encode_images([lambda: Image.new("RGB", (8, 8))])  # loaders: encode_images_partial's only
    with pytest.raises(EncodingError, match="item 0: empty image"):
        encoder.encode_images([Image.new("RGB", (0, 5))])
    broken = tmp_path / "broken.png"
    Image.new("RGB", (64, 64), "red").save(broken)
    broken.write_bytes(broken.read_bytes()[:60])
    with pytest.raises(EncodingError, match="item 0: image cannot be decoded"):
        encoder.encode_images([Image.open(broken)])
    with pytest.raises(EncodingError, match="item 2: expected text"):
        encoder.encode_texts(["a", "b", None])  # type: ignore[list-item]


def test_partial_encoding_skips_bad_images_and_keeps_the_rest(tiny_clip_settings: Settings) -> None:
    tiny_clip_settings.clip.batch_size = 2
    encoder = clip_encoder(tiny_clip_settings)
    good = sample_images()
    mixed = [good[0], Image.new("RGB", (0, 3)), good[1], "oops", good[2]]
    result = encoder.encode_images_partial(mixed)  # type: ignore[arg-type]
    assert result.indices == [0, 2, 4]
    assert set(result.errors) == {1, 3} and "empty image" in result.errors[1]
    np.testing.assert_allclose(result.vectors, encoder.encode_images(good[:3]), atol=1e-5)
    assert encoder.encode_images_partial([]).vectors.shape == (0, 32)


def test_bf16_is_close_to_fp32_and_versioned_apart(tiny_clip_settings: Settings) -> None:
    fp32 = clip_encoder(tiny_clip_settings)
    tiny_clip_settings.clip.precision = "bf16"
    bf16 = clip_encoder(tiny_clip_settings)
    assert bf16.spec.precision == "bf16" and bf16.embedding_version != fp32.embedding_version
    images = sample_images()
    a, b = fp32.encode_images(images), bf16.encode_images(images)
    assert b.dtype == np.float32
    assert np.min(np.sum(a * b, axis=1)) > 0.98
    assert np.min(np.sum(fp32.encode_texts(["chart"]) * bf16.encode_texts(["chart"]), axis=1)) > 0.98


def test_concurrent_callers_get_the_same_vectors(tiny_clip_settings: Settings) -> None:
    encoder = clip_encoder(tiny_clip_settings)
    images = sample_images()
    expected = encoder.encode_images(images)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(encoder.encode_images(images))
        except BaseException as err:
            errors.append(err)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(results) == 4
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-6)


def test_encoder_set_exposes_the_clip_channel(tiny_encoders) -> None:
    assert tiny_encoders.clip is not None and tiny_encoders.clip.dim == 32
    channels = {c.name: c for c in tiny_encoders.channels()}
    assert channels["clip"].embedding_version == tiny_encoders.clip.embedding_version
    assert tiny_encoders.clip.encode_images(sample_images()[:1]).shape == (1, 32)


def test_json_config_path_and_registered_name_agree(tiny_clip_settings: Settings) -> None:
    by_path = build_encoders(tiny_clip_settings)
    assert by_path.clip is not None and by_path.clip.spec.architecture == TINY_A.stem
    assert by_path.describe()["channels"]["clip"]["model"] == "fv-tiny-a"
    tiny_clip_settings.clip.model = str(TINY_B)
    assert build_encoders(tiny_clip_settings).clip.dim == 48  # type: ignore[union-attr]
