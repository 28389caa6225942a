"""What the rest of figvault needs from an encoder (retrieval depends on these protocols, not on torch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from figvault.errors import FigvaultError


@runtime_checkable
class TextEncoder(Protocol):
    channel: str
    """Vector field name in the store: "clip" or "text"."""
    dim: int
    embedding_version: str
    """Pins model, weights, preprocessing and dimension of this channel."""

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        """float32 [n, dim], L2-normalised."""
        ...


@runtime_checkable
class ImageTextEncoder(TextEncoder, Protocol):
    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        """float32 [n, dim], L2-normalised, in the same space as encode_texts."""
        ...


class EncodingError(FigvaultError, ValueError):
    """One input (image or text) cannot be encoded; the message names its position in the batch."""


@dataclass(frozen=True)
class PartialEncoding:
    """Vectors of the inputs that could be encoded, and why the others could not."""

    vectors: np.ndarray
    """float32 [len(indices), dim]."""
    indices: list[int]
    """Position in the input of each row of ``vectors``."""
    errors: dict[int, str] = field(default_factory=dict)
    """Position -> one-line reason, for the inputs that were skipped."""
