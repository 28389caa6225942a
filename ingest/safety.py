"""Guards against hostile documents: zip bombs, decompression-bomb images, odd zip member names.

Each check runs before the expensive step it protects (python-pptx inflating the package, PIL decoding
pixels) and raises :class:`UnsafeFileError` with a one-line reason, so one bad file fails alone.
"""

from __future__ import annotations

import io
import warnings
import zipfile
from pathlib import PurePosixPath

from lxml import etree
from PIL import Image

from figvault.errors import UnsafeFileError, UnsupportedFileError

MAX_ZIP_MEMBERS = 20_000
"""A real deck has a few hundred parts; tens of thousands is an attack on the central-directory parser."""
MAX_MEMBER_RATIO = 200
"""Deflate of XML reaches 10-30x, of flat bitmaps rarely 100x; far beyond that is a crafted bomb."""
RATIO_CHECK_MIN_BYTES = 16 * 2**20
"""Small members may compress arbitrarily well (an empty XML part); only big inflations matter."""


def check_zip_container(data: bytes, max_uncompressed_mb: int) -> None:
    """Refuse a zip package whose members would inflate too far, are too many, or have unsafe names.

    Reads only the central directory (declared sizes); zipfile never inflates a member past its
    declared size (it stops and fails the CRC), so the declared total is a real bound.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = zf.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError) as exc:
        raise UnsupportedFileError(f"corrupt zip container: {exc}") from None
    if len(members) > MAX_ZIP_MEMBERS:
        raise UnsafeFileError(f"zip package has {len(members)} members, over the limit of {MAX_ZIP_MEMBERS}")
    limit = max_uncompressed_mb * 2**20
    total = 0
    for info in members:
        _check_member_name(info.filename)
        total += info.file_size
        if total > limit:
            raise UnsafeFileError(
                f"zip bomb guard: members inflate past {max_uncompressed_mb} MiB"
                f" (at member {info.filename!r})"
            )
        if info.file_size > RATIO_CHECK_MIN_BYTES:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > MAX_MEMBER_RATIO:
                raise UnsafeFileError(
                    f"zip bomb guard: member {info.filename!r} inflates {ratio:.0f}x"
                    f" ({info.file_size / 2**20:.0f} MiB from {info.compress_size} bytes)"
                )


_RELS_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def without_external_targets(data: bytes) -> bytes:
    """The package without its external relationships (``TargetMode`` other than ``Internal``: linked
    pictures, media, OLE objects, hyperlinks), for a program that would follow them. LibreOffice loads a
    linked picture from any path or URL the server can reach (``file:///...``, a path relative to the deck,
    ``http://...``) and draws it into its rendering, so a deck linking a server file showed that file as a
    figure. A ``.rels`` part that does not parse loses every relationship. Unchanged bytes when nothing is
    external; ``data`` has passed ``check_zip_container``."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        cleaned = {
            info.filename: rels
            for info in zf.infolist()
            if info.filename.endswith(".rels") and (rels := _internal_only(zf.read(info))) is not None
        }
        if not cleaned:
            return data
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
            for info in zf.infolist():
                copy.writestr(info, cleaned.get(info.filename) or zf.read(info))
    return out.getvalue()


def _internal_only(rels: bytes) -> bytes | None:
    """A ``.rels`` part without its external relationships; None when it has none."""
    try:
        root = etree.fromstring(rels, _RELS_PARSER)
    except etree.XMLSyntaxError:
        root = None
    if root is None:
        return b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>'
    external = [
        el
        for el in root.iter()
        if isinstance(el.tag, str)
        and etree.QName(el).localname == "Relationship"
        and (el.get("TargetMode") or "Internal").strip() != "Internal"
    ]
    if not external:
        return None
    for el in external:
        el.getparent().remove(el)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _check_member_name(name: str) -> None:
    # OPC part names are relative POSIX paths; anything else is a crafted package.
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or ".." in path.parts or (len(name) > 1 and name[1] == ":"):
        raise UnsafeFileError(f"zip member with an unsafe path: {name!r}")


def image_size(blob: bytes) -> tuple[int, int] | None:
    """Pixel size read from the image header only (no decoding); None when PIL cannot identify it."""
    # PIL's own guard would raise in open() with its own limit and wording; we check the size ourselves.
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(io.BytesIO(blob)) as img:
            return img.size
    except Exception:
        return None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


_UNDECODABLE = {"WMF", "EMF"}
"""PIL reads their headers but can draw them only on Windows; LibreOffice renders them."""


def decodable(blob: bytes) -> bool:
    """Whether PIL can decode this image (judged from the header, without decoding)."""
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        with Image.open(io.BytesIO(blob)) as img:
            return img.format not in _UNDECODABLE
    except Exception:
        return False
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def check_image_pixels(width: int, height: int, max_pixels: int, what: str = "image") -> None:
    if width <= 0 or height <= 0:
        raise UnsafeFileError(f"{what} declares an empty size {width}x{height}")
    if width * height > max_pixels:
        raise UnsafeFileError(
            f"decompression-bomb guard: {what} claims {width}x{height} pixels"
            f" ({width * height / 1e6:.0f} Mpx, limit {max_pixels / 1e6:.0f} Mpx)"
        )


def open_image_checked(blob: bytes, max_pixels: int, what: str = "image") -> Image.Image | None:
    """Decode an embedded image after checking its header size; None when PIL cannot read the format.

    Raises UnsafeFileError for a header that claims more than ``max_pixels``.
    """
    size = image_size(blob)
    if size is None:
        return None
    check_image_pixels(size[0], size[1], max_pixels, what)
    try:
        with warnings.catch_warnings():
            # The size is already checked against our own limit; PIL's lower default must not object.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, max_pixels
            try:
                img = Image.open(io.BytesIO(blob))
                img.load()
            finally:
                Image.MAX_IMAGE_PIXELS = saved
        return img
    except Image.DecompressionBombError as exc:
        raise UnsafeFileError(f"decompression-bomb image: {exc}") from None
    except Exception:
        # Truncated or unsupported payload (EMF, WMF, broken PNG): the caller renders it another way.
        return None
