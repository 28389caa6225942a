"""The encoder set a configuration asks for: channels, dims, versions, provenance."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from figvault.encoders.factory import ChannelSpec, EncoderSet, build_encoders
from figvault.settings import Settings


def test_offline_profile_is_text_and_lexical_only(offline_settings: Settings) -> None:
    encoders = build_encoders(offline_settings)
    assert encoders.clip is None and encoders.text is not None and encoders.lexical
    assert [(c.name, c.dim) for c in encoders.channels()] == [("text", 384)]
    described = encoders.describe()
    assert set(described["channels"]) == {"text"}
    assert described["lexical"] == {"analyzer": "standard"}
    assert described["embedding_version"] == encoders.embedding_version


def test_tiny_profile_has_every_channel(tiny_encoders: EncoderSet) -> None:
    channels = tiny_encoders.channels()
    assert [(c.name, c.dim) for c in channels] == [("clip", 32), ("text", 384)]
    assert all(isinstance(c, ChannelSpec) for c in channels)
    with pytest.raises(dataclasses.FrozenInstanceError):
        channels[0].dim = 3  # type: ignore[misc]
    clip = tiny_encoders.describe()["channels"]["clip"]
    for key in ("model", "weights", "preprocess", "dim", "precision", "embedding_version"):
        assert key in clip
    assert clip["weights_identity"] == "random:seed=0" and clip["precision"] == "fp32"

    captions = ["Figure 2: revenue by quarter", "Network topology of the data centre"]
    assert tiny_encoders.text is not None and tiny_encoders.clip is not None
    text_vectors = tiny_encoders.text.encode_texts(captions)
    clip_vectors = tiny_encoders.clip.encode_texts(captions)
    assert text_vectors.shape == (2, 384) and clip_vectors.shape == (2, 32)
    np.testing.assert_allclose(np.linalg.norm(text_vectors, axis=1), 1.0, atol=1e-5)


def test_second_tiny_profile_is_another_version(
    tiny_encoders: EncoderSet, tiny_encoders_b: EncoderSet
) -> None:
    assert tiny_encoders_b.channels()[0].dim == 48
    assert tiny_encoders_b.embedding_version != tiny_encoders.embedding_version
    # The text channel is the same model in both: same channel version.
    assert tiny_encoders_b.channels()[1] == tiny_encoders.channels()[1]


def test_everything_disabled_is_an_empty_set(offline_settings: Settings) -> None:
    offline_settings.text.enabled = False
    offline_settings.lexical.enabled = False
    encoders = build_encoders(offline_settings).load()
    assert encoders.channels() == [] and not encoders.lexical
    assert encoders.embedding_version.startswith("v")
