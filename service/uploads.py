"""Untrusted uploads: bounded copies to private temp files, type sniffing, and images opened with a
decompression-bomb guard.

A client's file name is only ever a display string: it is cleaned (``figvault.text_checks.display_name``,
as every shown document name is) and never used as a path.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image

from figvault.errors import UnsafeFileError, UnsupportedFileError
from figvault.ingest.safety import eight_bit
from figvault.text_checks import display_name as display_name

_CHUNK = 1024 * 1024
QUERY_IMAGE_FORMATS = {"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"}


def copy_bounded(source: BinaryIO, target: BinaryIO, limit_bytes: int) -> int:
    """Copy at most ``limit_bytes``; a longer source raises UnsafeFileError. Returns the bytes copied."""
    total = 0
    while chunk := source.read(_CHUNK):
        total += len(chunk)
        if total > limit_bytes:
            raise UnsafeFileError(f"upload is over the {limit_bytes // 2**20} MiB limit")
        target.write(chunk)
    return total


def spool_to_private_dir(source: BinaryIO, limit_bytes: int, suffix: str) -> tuple[Path, Path]:
    """Copy an upload into a new private temp folder under a server-chosen name; returns (dir, file).

    The caller removes the folder (``shutil.rmtree``) when done.
    """
    folder = Path(tempfile.mkdtemp(prefix="figvault-upload-"))
    target = folder / f"upload{suffix}"
    try:
        with target.open("wb") as fh:
            copy_bounded(source, fh, limit_bytes)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder, target


def open_query_image(data: bytes, max_pixels: int) -> Image.Image:
    """Decode an uploaded query image: only real images of known formats, never more than ``max_pixels``.

    The size is checked from the header before any pixel is decoded, so a small file that would inflate to
    gigabytes is refused cheaply.
    """
    if not data:
        raise UnsupportedFileError("empty image")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in QUERY_IMAGE_FORMATS:
                raise UnsupportedFileError(f"unsupported image format {image.format}")
            width, height = image.size
            if width * height > max_pixels:
                raise UnsafeFileError(f"image is {width}x{height} pixels, over the {max_pixels} pixel limit")
            image.load()
    except (UnsupportedFileError, UnsafeFileError):
        raise
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise UnsafeFileError(f"image refused: {exc}") from None
    except Exception as exc:
        raise UnsupportedFileError(f"not a readable image ({type(exc).__name__})") from None
    return eight_bit(image).convert("RGB")  # a 16-bit greyscale query came out white
