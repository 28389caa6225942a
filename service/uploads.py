"""Untrusted uploads: bounded copies to private temp files, type sniffing, and images opened with a
decompression-bomb guard.

A client's file name is only ever a display string: it is cleaned (``figvault.text_checks.display_name``,
as every shown document name is) and never used as a path.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from PIL import Image

from figvault.errors import ExtractionError, MachineBoundError, UnsafeFileError, UnsupportedFileError
from figvault.ingest.safety import eight_bit
from figvault.text_checks import display_name as display_name

if TYPE_CHECKING:  # the worker that decodes a query image imports this module: keep it light
    from figvault.pipeline.extract_worker import ExtractLimits
    from figvault.settings import Settings

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


QUERY_IMAGE_SIDE = 1024
"""The longest side a query image is handed on at: CLIP sees 224-448 pixels of it, and the decoded image
comes back from its worker through a pipe (a 40 Mpx one is 120 MB of RGB)."""


def open_query_image(data: bytes, max_pixels: int, limits: ExtractLimits | None = None) -> Image.Image:
    """Decode an uploaded query image: only real images of known formats, never more than ``max_pixels``,
    in a worker process under ``limits`` (``run_limited``; None: decoded here, for tests and tools).

    The size is checked from the header before any pixel is decoded, so a small file that would inflate to
    gigabytes is refused cheaply. A small file can still cost minutes of CPU to decode (a progressive JPEG
    whose scans repeat: 300 KB and 4 Mpx took 45 CPU-s): a request thread cannot be stopped in C, so the
    decode runs where its CPU time is counted and the process killed past the limit (UnsafeFileError).
    """
    if not data:
        raise UnsupportedFileError("empty image")
    if limits is None:
        size, raw = decode_query_image(data, max_pixels)
    else:
        from figvault.pipeline.extract_worker import run_limited

        try:
            size, raw = run_limited(decode_query_image, (data, max_pixels), limits, verb="read this image")
        except (UnsupportedFileError, UnsafeFileError):
            raise
        except MachineBoundError:  # the wall backstop of a busy machine, the worker killed: not the file's
            from figvault.service.admission import Overloaded

            raise Overloaded(503, "the server is too busy to read the query image now", 10) from None
        except ExtractionError:  # over its CPU time or memory, or it crashed decoding: the file's
            raise UnsafeFileError(
                f"image refused: decoding it took more than its {limits.seconds:g} CPU-s"
                f" ({limits.seconds_setting}) or {limits.memory_mb} MB (extract.doc_memory_mb), or failed"
            ) from None
    return Image.frombytes("RGB", size, raw)


def query_image_limits(settings: Settings) -> ExtractLimits:
    """The limits a query image is decoded under: the extraction's memory and niceness, and
    ``service.query_image_cpu_s`` of CPU time."""
    from figvault.pipeline.extract_worker import ExtractLimits

    extract = ExtractLimits.from_settings(settings.extract)
    seconds = float(settings.service.query_image_cpu_s)
    return dataclasses.replace(extract, seconds=seconds, seconds_setting="service.query_image_cpu_s")


def decode_query_image(data: bytes, max_pixels: int) -> tuple[tuple[int, int], bytes]:
    """The image's pixels, 8-bit RGB, at most ``QUERY_IMAGE_SIDE`` on its longer side: (size, raw bytes).
    Runs in a limited worker (``open_query_image``): module level, picklable arguments and answer."""
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
    picture = eight_bit(image).convert("RGB")  # a 16-bit greyscale query came out white
    picture.thumbnail((QUERY_IMAGE_SIDE, QUERY_IMAGE_SIDE), Image.Resampling.BICUBIC)
    return picture.size, picture.tobytes()
