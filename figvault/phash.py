"""Perceptual hashes of unit images, to tell the same picture in several documents.

A 256-bit DCT hash (``imagehash.phash`` with a 16x16 hash): the image in grey, shrunk to 64x64, its lowest
16x16 frequencies compared with their median. The same picture re-rendered at another resolution, or
re-compressed, keeps (nearly) the same bits; two charts drawn from one template with different data differ
in 12 to 40 of them (measured on the corpus, docs/retrieval.md "Near-duplicates"). A crop changes the hash:
a figure shown with and without its title is not the same image to it.
"""

from __future__ import annotations

import io
import re

from PIL import Image

HASH_SIZE = 16
HASH_HEX = HASH_SIZE * HASH_SIZE // 4
"""Length of the stored hex string."""
_HASH_TEXT = re.compile(f"[0-9a-f]{{{HASH_HEX}}}")


def perceptual_hash(image: bytes | Image.Image) -> str:
    """The hash of a PNG (bytes) or an opened image, as ``HASH_HEX`` hex digits."""
    import imagehash

    if isinstance(image, bytes):
        with Image.open(io.BytesIO(image)) as opened:
            opened.load()
            return str(imagehash.phash(opened.convert("RGB"), hash_size=HASH_SIZE))
    return str(imagehash.phash(image.convert("RGB"), hash_size=HASH_SIZE))


def is_perceptual_hash(value: str) -> bool:
    """Whether ``value`` is a hash as ``perceptual_hash`` writes it: an extraction worker hashes the pixels it
    rendered (``ingest/render.py``), and what a worker sends is checked before it is stored."""
    return _HASH_TEXT.fullmatch(value) is not None


def hash_distance(a: str, b: str) -> int | None:
    """Bits in which two hashes differ; None when either is missing or they are not of one size."""
    if not a or not b or len(a) != len(b):
        return None
    try:
        return (int(a, 16) ^ int(b, 16)).bit_count()
    except ValueError:
        return None
