"""Upload helpers on hostile input: names, sizes, image bombs (no app needed)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from PIL import Image

from figvault.errors import UnsafeFileError, UnsupportedFileError
from figvault.pipeline.extract_worker import ExtractLimits
from figvault.service.uploads import (
    QUERY_IMAGE_SIDE,
    copy_bounded,
    display_name,
    open_query_image,
    spool_to_private_dir,
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\system32\\cmd.exe", "cmd.exe"),
        ("/abs/path/report.pdf", "report.pdf"),
        ("re\x00port\n.pdf", "re_port_.pdf"),
        ("..", "upload"),
        ("", "upload"),
        (None, "upload"),
        ("  .hidden.pdf", "hidden.pdf"),
        ('a<b>c:d"e|f?g*.pdf', "a_b_c_d_e_f_g_.pdf"),
        # C1 controls and line separators passed before (2026-12-05): a name that ends a log line
        ("a\x85job done.pdf", "a_job done.pdf"),
        ("a\u2028b\u2029c.pdf", "a_b_c.pdf"),
        ("a\x9b31mred.pdf", "a_31mred.pdf"),
    ],
)
def test_display_name_is_never_a_path(raw: str | None, shown: str) -> None:
    assert display_name(raw) == shown
    assert "/" not in shown and "\\" not in shown


def test_copy_bounded_refuses_over_limit() -> None:
    out = io.BytesIO()
    assert copy_bounded(io.BytesIO(b"x" * 100), out, 100) == 100
    with pytest.raises(UnsafeFileError, match="limit"):
        copy_bounded(io.BytesIO(b"x" * (3 * 2**20)), io.BytesIO(), 2**20)


def test_spool_uses_server_chosen_name_and_cleans_up_on_failure(tmp_path: Path) -> None:
    folder, path = spool_to_private_dir(io.BytesIO(b"%PDF-1.7"), 1000, suffix="")
    try:
        assert path.name == "upload" and path.read_bytes() == b"%PDF-1.7"
    finally:
        import shutil

        shutil.rmtree(folder)
    before = set(Path(folder).parent.glob("figvault-upload-*"))
    with pytest.raises(UnsafeFileError):
        spool_to_private_dir(io.BytesIO(b"x" * 5000), 1000, suffix="")
    assert set(Path(folder).parent.glob("figvault-upload-*")) == before


def _png(size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge canvas (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")
    )


def test_query_image_accepts_real_images() -> None:
    image = open_query_image(_png((64, 48)), max_pixels=10_000)
    assert image.size == (64, 48) and image.mode == "RGB"


def test_query_image_bomb_refused_before_decoding() -> None:
    # Over our limit (checked from the header), and over Pillow's own bomb limit: both refused, cheaply.
    with pytest.raises(UnsafeFileError, match="pixel limit"):
        open_query_image(_png_header_claiming(8_000, 8_000), max_pixels=40_000_000)
    with pytest.raises(UnsafeFileError, match="decompression bomb"):
        open_query_image(_png_header_claiming(50_000, 50_000), max_pixels=40_000_000)


@pytest.mark.parametrize(
    "data", [b"", b"%PDF-1.7 not an image", b"PK\x03\x04zipzip", b"\x89PNG\r\n\x1a\ntruncated"]
)
def test_query_image_non_images_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedFileError):
        open_query_image(data, max_pixels=40_000_000)


def test_long_names_keep_their_extension_and_stay_apart() -> None:
    # Before: both were cut to the same 200 "x"s (no ".pdf"): the second upload replaced the first one.
    first, second = display_name("x" * 300 + "-a.pdf"), display_name("x" * 300 + "-b.pdf")
    assert first != second
    assert len(first) == len(second) == 200 and first.endswith(".pdf") and second.endswith(".pdf")
    assert display_name("x" * 300 + "-a.pdf") == first  # the same file name finds the same document again
    assert display_name("report.pdf") == "report.pdf"


def test_a_16_bit_greyscale_query_image_keeps_its_grey_levels() -> None:
    # Before: converted to RGB by clipping its levels at 255: a dark-on-light picture came out all white.
    levels = Image.linear_gradient("L").resize((64, 48)).point(lambda v: 20 + v * 225 // 255)  # 20-245
    wide = b"".join((v * 257).to_bytes(2, "little") for v in levels.tobytes())
    out = io.BytesIO()
    Image.frombytes("I;16", levels.size, wide).save(out, "PNG")
    image = open_query_image(out.getvalue(), max_pixels=10_000)
    darkest, lightest = image.convert("L").getextrema()
    assert image.mode == "RGB" and abs(darkest - min(levels.tobytes())) <= 1 and lightest > 200


def _jpeg_whose_last_scan_repeats(times: int) -> bytes:
    """A 4 Mpx progressive JPEG whose last scan is repeated: every scan walks every block, and libjpeg only
    warns of the bogus progression (about 2 ms of CPU a scan here; 20,000 of them, 300 KB, took 45 CPU-s)."""
    out = io.BytesIO()
    Image.new("RGB", (2000, 2000), (120, 130, 140)).save(out, "JPEG", progressive=True, quality=90)
    data = out.getvalue()
    scan = data[data.rfind(b"\xff\xda") : -2]
    return data[:-2] + scan * times + b"\xff\xd9"


LIMITS = ExtractLimits(seconds=0.5, memory_mb=1024, nice=0, seconds_setting="service.query_image_cpu_s")


def test_a_query_image_that_decodes_for_minutes_is_stopped_at_its_cpu_limit() -> None:
    # Before: decoded in the request thread, where nothing can stop C code: 45 CPU-s for one request.
    bomb = _jpeg_whose_last_scan_repeats(5_000)
    stopped = r"image refused: decoding it took more than its 0.5 CPU-s \(service.query_image_cpu_s\)"
    with pytest.raises(UnsafeFileError, match=stopped):
        open_query_image(bomb, max_pixels=40_000_000, limits=LIMITS)


def test_a_busy_machine_is_not_the_query_images_fault(monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker's wall-time backstop (a loaded machine) was answered 413 "image refused", blaming the file.
    from figvault.errors import MachineBoundError
    from figvault.pipeline import extract_worker
    from figvault.service.admission import Overloaded

    def busy(*_: object, **__: object) -> None:
        raise MachineBoundError("took longer than 100 s to read this image (wall time, ...)")

    monkeypatch.setattr(extract_worker, "run_limited", busy)
    with pytest.raises(Overloaded) as answered:
        open_query_image(_png((8, 8)), max_pixels=10_000, limits=LIMITS)
    assert answered.value.status == 503 and answered.value.retry_after > 0


def test_a_query_image_decoded_in_its_worker_comes_back_at_most_1024_pixels_wide() -> None:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((2000, 1500)).convert("RGB").save(out, "PNG")
    image = open_query_image(out.getvalue(), max_pixels=40_000_000, limits=LIMITS)
    assert image.mode == "RGB" and image.size == (QUERY_IMAGE_SIDE, 768)
    with pytest.raises(UnsupportedFileError, match="not a readable image"):  # the worker's own refusal
        open_query_image(b"\x89PNG\r\n\x1a\ntruncated", max_pixels=40_000_000, limits=LIMITS)
