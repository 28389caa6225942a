"""Deck parts zipfile cannot read (an encrypted member, a compression method it does not know): the deck's
reason was zipfile's bare exception ("RuntimeError: File 'ppt/slides/slide1.xml' is encrypted, password
required for extraction", "NotImplementedError: That compression method is not supported"), shown over
HTTP as the upload's error, and one such picture lost the whole deck. Now a part the parser must read
refuses the deck in words, and such a picture is left out as an over-inflating one is
(``safety.check_zip_container``). And a JPEG whose scans repeat, decoded for minutes (fourteenth pass)."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from figvault.errors import UnsupportedFileError
from figvault.ingest.extract import extract_document
from figvault.ingest.safety import MAX_JPEG_SCANS, decodable, open_image_checked, too_many_scans
from figvault.settings import ExtractSettings
from tests.ingest import pptx_decks as decks
from tests.ingest.test_bad_input import fails_with

SETTINGS = ExtractSettings(libreoffice="off", ocr=False, workers=1)


def patched(data: bytes, member: str, *, flags: int = 0, method: int | None = None) -> bytes:
    """``data`` with ``member``'s flag bits or-ed with ``flags`` and its method set, in both headers."""
    out = bytearray(data)
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(member).header_offset
    at = out.find(b"PK\x01\x02")
    while at != -1:
        length = struct.unpack_from("<H", out, at + 28)[0]
        if bytes(out[at + 46 : at + 46 + length]).decode() == member:
            for flag_at, method_at in ((local + 6, local + 8), (at + 8, at + 10)):
                struct.pack_into("<H", out, flag_at, struct.unpack_from("<H", out, flag_at)[0] | flags)
                if method is not None:
                    struct.pack_into("<H", out, method_at, method)
        at = out.find(b"PK\x01\x02", at + 4)
    return bytes(out)


@pytest.fixture(scope="module")
def deck(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return decks.picture_deck(tmp_path_factory.mktemp("base") / "picture.pptx").read_bytes()


@pytest.mark.parametrize(
    ("change", "words"),
    [({"flags": 1}, ("is encrypted",)), ({"method": 99}, ("compression method 99", "cannot be read"))],
)
def test_a_slide_zipfile_cannot_read_refuses_the_deck_in_words(
    tmp_path: Path, deck: bytes, change: dict, words: tuple[str, ...]
) -> None:
    path = tmp_path / "deck.pptx"
    path.write_bytes(patched(deck, "ppt/slides/slide1.xml", **change))
    reason = fails_with(path, UnsupportedFileError, "not a readable PPTX package", "slide1.xml", *words)
    assert "Error:" not in reason


@pytest.mark.parametrize("change", [{"flags": 1}, {"method": 9}])
def test_a_picture_zipfile_cannot_read_is_left_out_not_the_deck(
    tmp_path: Path, deck: bytes, change: dict
) -> None:
    media = [n for n in zipfile.ZipFile(io.BytesIO(deck)).namelist() if n.startswith("ppt/media/")]
    path = tmp_path / "deck.pptx"
    path.write_bytes(patched(deck, media[0], **change))
    result = extract_document(path, SETTINGS)  # before: the deck failed with zipfile's exception
    assert result.meta.pages == 1
    said = "is encrypted" if change.get("flags") else "uses compression method 9, which cannot be read"
    assert f"{media[0]}: picture not read, it {said}" in result.warnings


def jpeg_whose_last_scan_repeats(times: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (2000, 2000), (120, 130, 140)).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    scan = data[data.rfind(b"\xff\xda") : -2]
    return data[:-2] + scan * times + b"\xff\xd9"


def test_a_picture_whose_scans_repeat_is_not_decoded() -> None:
    """300 KB of JPEG whose last scan repeats 20,000 times took 38-43 CPU-s to decode: a deck's one picture
    spent its document's budget, and the deck was lost. Such a picture is not decoded now (it is sketched or
    cropped from the rendering, as an undecodable one); a real progressive JPEG still is."""
    bomb = jpeg_whose_last_scan_repeats(5_000)
    assert open_image_checked(bomb, 200_000_000) is None
    assert not decodable(bomb)  # so its unit is cropped from LibreOffice's rendering, as an EMF's
    assert too_many_scans(jpeg_whose_last_scan_repeats(MAX_JPEG_SCANS))
    real = jpeg_whose_last_scan_repeats(0)
    assert not too_many_scans(real)
    decoded = open_image_checked(real, 200_000_000)
    assert decoded is not None and decoded.size == (2000, 2000)
