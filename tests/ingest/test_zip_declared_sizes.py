"""A zip member whose headers declare a small size over a stream that inflates far more: zipfile's whole
read inflated up to 1 GiB in one step before it cut the result to the declared size, so a 1.6 MB deck took
2 GiB of memory (an audit, 2026-12-07). With the extraction's checks loaded (``ingest/safety.py``), a whole
read asks for the declared size and inflates no further; a large real member is still read in one step
(1 MiB steps joined one by one took 26 s for a 300 MB video), and BZIP2/LZMA members, which zipfile
inflates without bound, are not read."""

from __future__ import annotations

import io
import struct
import tracemalloc
import zipfile
import zlib

import pytest

from figvault.errors import UnsupportedFileError
from figvault.ingest import safety

DECLARED = 4096
REAL = 64 * 2**20


def lying_zip() -> bytes:
    """One member, ``ppt/media/image1.png``: 64 MiB of zeros stored deflated, its headers saying 4 KiB (with
    the CRC of those 4 KiB, so the read itself succeeds)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("ppt/media/image1.png", bytes(REAL))
    data = bytearray(buffer.getvalue())
    crc = zlib.crc32(bytes(DECLARED))
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 14, crc)
    struct.pack_into("<I", data, local + 22, DECLARED)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 16, crc)
    struct.pack_into("<I", data, central + 24, DECLARED)
    return bytes(data)


def test_a_member_is_inflated_no_further_than_its_declared_size() -> None:
    data = lying_zip()
    assert len(data) < 2**20  # the deck is small; its stream is not
    assert safety.check_zip_container(data, 256) == []  # the declared sizes pass, as in the audit
    tracemalloc.start()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            read = zf.read("ppt/media/image1.png")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == bytes(DECLARED)
    assert peak < 8 * 2**20, f"{peak / 2**20:.0f} MiB to read a 4 KiB member"  # was the 64 MiB stream


def test_a_large_member_is_read_in_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("ppt/media/media1.mp4", bytes(REAL))
    steps: list[int] = []
    step = zipfile.ZipExtFile._read1

    def counted(self, n):  # type: ignore[no-untyped-def]
        steps.append(n)
        return step(self, n)

    monkeypatch.setattr(zipfile.ZipExtFile, "_read1", counted)
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as zf:
        assert len(zf.read("ppt/media/media1.mp4")) == REAL
    assert len(steps) <= 2, f"{len(steps)} steps"  # fixed 1 MiB steps: 64, each joining all before it


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_members_zipfile_inflates_without_bound_are_not_read(method: int) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("ppt/slides/slide1.xml", b"<p:sld/>", compress_type=method)
        zf.writestr("ppt/media/image1.png", bytes(REAL), compress_type=method)
    data = buffer.getvalue()
    with pytest.raises(UnsupportedFileError, match=r"slide1\.xml' uses compression method"):
        safety.check_zip_container(data, 256)
    media_only = io.BytesIO()
    with zipfile.ZipFile(media_only, "w") as zf:
        zf.writestr("ppt/slides/slide1.xml", b"<p:sld/>", compress_type=zipfile.ZIP_DEFLATED)
        zf.writestr("ppt/media/image1.png", bytes(1024), compress_type=method)
    assert safety.check_zip_container(media_only.getvalue(), 256) == ["ppt/media/image1.png"]  # skipped
