"""One encode step for ingest and re-encode: units in, one vector per dense channel out.

Both paths behave the same for a unit that cannot be encoded (its image is missing, truncated, not an
image, or refused by the image encoder): that unit fails with a one-line reason and the others go on.
Ingest stores the document without it and reports it; re-encode reports it and refuses to switch the
alias while any unit is missing from the new collection.
"""

from __future__ import annotations

import functools
import io
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from figvault.encoders.base import EncodingError
from figvault.errors import FigvaultError
from figvault.retrieval.schema import DenseChannel
from figvault.units import FigureUnit


@dataclass
class EncodedUnits:
    vectors: list[dict[str, list[float]]]
    """Per unit: channel name -> vector (complete for the units not in ``failed``)."""
    failed: dict[int, str] = field(default_factory=dict)
    """Unit index -> why it could not be encoded."""

    @property
    def ok(self) -> list[int]:
        return [i for i in range(len(self.vectors)) if i not in self.failed]


def decode_image(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.convert("RGB")


def encode_units(
    encoders: Any,
    channels: Sequence[DenseChannel],
    units: Sequence[FigureUnit],
    *,
    image: Callable[[int], bytes],
    texts: Sequence[str],
    reuse: Sequence[dict[str, list[float]]] | None = None,
    timings: dict[str, float] | None = None,
    text_workers: int = 1,
) -> EncodedUnits:
    """Vectors of ``units`` for ``channels``. ``image(i)``: the image bytes of unit ``i`` (KeyError or OSError
    when it is gone); ``texts[i]``: its text channel input; ``reuse[i]``: vectors already known (copied
    channels of a re-encode), whose channels are not computed again; ``text_workers``: texts encoded at
    once (``encode_documents``; the same vectors)."""
    out = EncodedUnits([dict(r) for r in reuse] if reuse is not None else [{} for _ in units])
    timings = timings if timings is not None else {}
    for channel in channels:
        todo = [i for i in out.ok if channel.name not in out.vectors[i]]
        if not todo:
            continue
        started = time.perf_counter()
        if channel.name == "clip":
            _encode_images(encoders, units, image, todo, out)
            key = "encode_images"
        elif channel.name == "text":
            _encode_texts(encoders, todo, [texts[i] for i in todo], out, text_workers)
            key = "encode_texts"
        else:
            raise FigvaultError(f"no encoder for channel {channel.name!r}")
        timings[key] = timings.get(key, 0.0) + time.perf_counter() - started
    return out


def _encode_texts(encoders: Any, todo: list[int], texts: list[str], out: EncodedUnits, workers: int) -> None:
    """Each distinct text encoded once: uncaptioned figures of one page with no words of their own embed
    the same page text (2 % of the corpus units)."""
    distinct = list(dict.fromkeys(texts))
    text = encoders.text  # stored vectors: ``encode_documents`` where the encoder has it (ONNX Runtime)
    if workers > 1 and hasattr(text, "encode_documents"):
        matrix = np.asarray(text.encode_documents(distinct, workers=workers))
    else:
        matrix = np.asarray(getattr(text, "encode_documents", text.encode_texts)(distinct))
    row = {text: i for i, text in enumerate(distinct)}
    for index, text in zip(todo, texts, strict=True):
        out.vectors[index]["text"] = matrix[row[text]].tolist()


def _encode_images(
    encoders: Any,
    units: Sequence[FigureUnit],
    image: Callable[[int], bytes],
    todo: list[int],
    out: EncodedUnits,
) -> None:
    # Each image decoded where its batch is preprocessed and let go after: decoded all at once, a batch of
    # 128 large figures took gigabytes in the ingesting process (in ``serve``: the service's).
    loaders = [functools.partial(_decoded, image, i, units[i].image) for i in todo]
    partial = encoders.clip.encode_images_partial(loaders)
    for k, index in enumerate(partial.indices):
        out.vectors[todo[index]]["clip"] = partial.vectors[k].tolist()
    for index, reason in partial.errors.items():
        out.failed[todo[index]] = reason


def _decoded(image: Callable[[int], bytes], index: int, key: str) -> Image.Image:
    """Unit ``index``'s image decoded; EncodingError when it is gone or unreadable."""
    try:
        return decode_image(image(index))
    except (KeyError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise EncodingError(f"image {key[:12]} unreadable ({type(exc).__name__})") from None
