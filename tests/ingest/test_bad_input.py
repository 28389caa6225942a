"""Hostile and broken input: each case fails alone with a one-line reason, before any costly step."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import Image, features

from figvault.errors import ExtractionError, UnsafeFileError, UnsupportedFileError
from figvault.ingest import safety
from figvault.ingest.extract import extract_document
from figvault.ingest.samples import sample_pdf_bytes, sample_pptx_bytes
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.ingest import pptx_decks as decks

SETTINGS = ExtractSettings(libreoffice="off", workers=1)

_CONTENT_TYPES = (
    b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)


def pptx_like_zip(extra: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as zf:
        zf.writestr("[Content_Types].xml", _CONTENT_TYPES)
        zf.writestr("ppt/presentation.xml", b"<p:presentation/>")
        for name, data in extra.items():
            zf.writestr(name, data)
    return out.getvalue()


def fails_with(
    path: Path, error: type[ExtractionError], *words: str, settings: ExtractSettings = SETTINGS
) -> str:
    with pytest.raises(error) as info:
        extract_document(path, settings)
    reason = str(info.value)
    assert "\n" not in reason and reason, reason
    for word in words:
        assert word.lower() in reason.lower(), reason
    return reason


def test_zip_bomb_total_size_is_refused_before_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 64 MiB of zeros deflate to ~64 KiB: a real bomb, scaled to a test-sized limit of 8 MiB.
    bomb = tmp_path / "bomb.pptx"
    bomb.write_bytes(pptx_like_zip({"ppt/media/image1.png": bytes(64 * 2**20)}))
    assert bomb.stat().st_size < 2**20
    # Refused from the central directory, nothing inflated: counted, not timed (a wall-time bound of 2 s
    # failed at load 20, 7.5 s, most of it the first import of the PPTX reader).
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def counted_open(
        self: zipfile.ZipFile, name: str | zipfile.ZipInfo, *args: object, **kwargs: object
    ) -> object:
        opened.append(name.filename if isinstance(name, zipfile.ZipInfo) else name)
        return real_open(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", counted_open)
    fails_with(
        bomb, UnsafeFileError, "zip bomb", "8 MiB", settings=ExtractSettings(max_pptx_uncompressed_mb=8)
    )
    assert opened == []


def test_zip_bomb_compression_ratio_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "ratio.pptx"
    bomb.write_bytes(pptx_like_zip({"ppt/slides/slide1.xml": bytes(32 * 2**20)}))
    fails_with(bomb, UnsafeFileError, "inflates", "ppt/slides/slide1.xml")


def test_too_many_zip_members_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(safety, "MAX_ZIP_MEMBERS", 500)
    many = tmp_path / "many.pptx"
    many.write_bytes(pptx_like_zip({f"ppt/media/m{i}.bin": b"x" for i in range(600)}, zipfile.ZIP_STORED))
    fails_with(many, UnsafeFileError, "members", "500")


def test_path_traversal_member_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.pptx"
    evil.write_bytes(pptx_like_zip({"../../etc/cron.d/evil": b"* * * * * root true"}))
    fails_with(evil, UnsafeFileError, "unsafe path")


def bomb_deck(path: Path) -> Path:
    """Slide 1: a plain picture; slide 2: a picture whose header claims 100000x100000 pixels; slide 3: a
    group holding such a picture beside a plain one."""
    from pptx.util import Inches

    bomb = decks.png_header_only(100_000, 100_000)
    prs = decks.new_deck()
    for pictures in ([decks.png_bytes()], [bomb]):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
        slide.shapes.add_picture(io.BytesIO(pictures[0]), Inches(2), Inches(2), Inches(4), Inches(3))
    group = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY]).shapes.add_group_shape()
    group.shapes.add_picture(io.BytesIO(decks.png_bytes()), Inches(1), Inches(2), Inches(3), Inches(3))
    group.shapes.add_picture(io.BytesIO(bomb), Inches(5), Inches(2), Inches(3), Inches(3))
    return decks.save(prs, path)


def test_a_picture_over_the_pixel_limit_is_skipped_never_decoded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One picture over extract.max_source_image_pixels refused the whole deck, while a PDF skips only
    that picture: a deck now skips the picture (or the group holding it) with a warning, from its header."""
    from figvault.ingest import pptx

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # python-pptx asks PIL for the format when adding it
        path = bomb_deck(tmp_path / "pixels.pptx")
    decoded: list[tuple[int, int] | None] = []

    def recording(
        blob: bytes, max_pixels: int, what: str = "image", keep_pixels: int | None = None
    ) -> Image.Image | None:
        decoded.append(safety.image_size(blob))
        return safety.open_image_checked(blob, max_pixels, what, keep_pixels)

    monkeypatch.setattr(pptx, "open_image_checked", recording)
    result = extract_document(path, SETTINGS)
    assert [f.unit.page for f in result.figures] == [1]
    assert decoded and (100_000, 100_000) not in decoded
    limit = f"(limit {SETTINGS.max_source_image_pixels:,}: extract.max_source_image_pixels)"
    assert f"slide 2: picture of 10,000,000,000 pixels skipped {limit}" in result.warnings
    assert f"slide 3: group holding a picture of 10,000,000,000 pixels skipped {limit}" in result.warnings


def test_a_renderer_gets_a_placeholder_for_a_picture_over_the_pixel_limit(tmp_path: Path) -> None:
    """LibreOffice renders the whole deck (charts, diagrams): it must not decode the skipped picture."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Image, "MAX_IMAGE_PIXELS", None)
        data = bomb_deck(tmp_path / "pixels.pptx").read_bytes()
    cleaned = safety.without_oversized_images(data, 200_000_000)

    def sizes(package: bytes) -> list[tuple[int, int] | None]:
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            media = sorted(n for n in zf.namelist() if n.startswith("ppt/media/"))
            return [safety.image_size(zf.read(n)) for n in media]

    assert (100_000, 100_000) in sizes(data)
    assert (100_000, 100_000) not in sizes(cleaned) and (1, 1) in sizes(cleaned)
    assert (300, 200) in sizes(cleaned)
    plain = decks.picture_deck(tmp_path / "plain.pptx").read_bytes()
    assert safety.without_oversized_images(plain, 200_000_000) is plain


def test_image_guard_reads_only_the_header() -> None:
    header = decks.png_header_only(100_000, 100_000)
    assert safety.image_size(header) == (100_000, 100_000)
    with pytest.raises(UnsafeFileError, match="100000x100000"):
        safety.open_image_checked(header, max_pixels=200_000_000)
    assert safety.open_image_checked(b"not an image", max_pixels=10) is None


def test_a_large_photo_in_a_sketched_diagram_is_drawn_as_its_outline(tmp_path: Path) -> None:
    """Without LibreOffice a group is sketched, and the sketch decodes pictures up to 50 MP: a 60 MP photo
    (a camera's size, under the extraction's 200 MP) in a diagram failed the whole deck as a bomb."""
    prs = decks.new_deck()
    slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
    slide.shapes.title.text = "Site layout"
    decks.add_group_diagram(slide, ("Gate", "Hall", "Dock"))
    group = slide.shapes[-1]
    group.shapes.add_picture(io.BytesIO(decks.png_header_only(9504, 6336)), 0, 0, 914400, 685800)
    result = extract_document(decks.save(prs, tmp_path / "photo.pptx"), SETTINGS)
    [figure] = result.figures
    assert figure.unit.kind == "diagram" and "Gate" in figure.unit.figure_text, figure.unit


def test_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.pptx"
    empty.write_bytes(b"")
    fails_with(empty, UnsupportedFileError, "empty")


def test_oversized_file(tmp_path: Path) -> None:
    big = tmp_path / "big.pdf"
    big.write_bytes(b"%PDF-1.7\n" + bytes(2 * 2**20))
    fails_with(big, UnsafeFileError, "over the 1 MiB limit", settings=ExtractSettings(max_file_mb=1))


def test_text_named_pdf_fails_clearly(tmp_path: Path) -> None:
    fake = tmp_path / "notes.pdf"
    fake.write_text("just some notes, not a document\n")
    fails_with(fake, UnsupportedFileError, "not a PDF or PPTX")


def test_pptx_named_pdf_is_read_as_pptx(tmp_path: Path) -> None:
    misnamed = tmp_path / "deck.pdf"
    misnamed.write_bytes(sample_pptx_bytes())
    result = extract_document(misnamed, SETTINGS)
    assert result.meta.mime.endswith("presentationml.presentation")
    assert {f.unit.kind.value for f in result.figures} == {"chart", "picture", "diagram"}


def test_pdf_named_pptx_is_read_as_pdf(tmp_path: Path) -> None:
    pytest.importorskip("figvault.ingest.pdf")
    misnamed = tmp_path / "report.pptx"
    misnamed.write_bytes(sample_pdf_bytes())
    result = extract_document(misnamed, SETTINGS)
    assert result.meta.mime == "application/pdf"
    assert result.figures


def test_corrupt_zip(tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pptx"
    corrupt.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 100)
    fails_with(corrupt, UnsupportedFileError, "corrupt zip")


def test_truncated_pptx(tmp_path: Path) -> None:
    data = sample_pptx_bytes()
    cut = tmp_path / "cut.pptx"
    cut.write_bytes(data[: len(data) // 2])  # the central directory is at the end: gone
    fails_with(cut, UnsupportedFileError, "corrupt zip")


def test_zip_that_is_not_a_deck(tmp_path: Path) -> None:
    other = tmp_path / "archive.pptx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    other.write_bytes(buf.getvalue())
    fails_with(other, UnsupportedFileError, "zip archive")


def test_broken_package_inside_a_valid_zip(tmp_path: Path) -> None:
    # Looks like a deck to the sniffer, but presentation.xml and its relationships are missing.
    broken = tmp_path / "broken.pptx"
    broken.write_bytes(pptx_like_zip({}))
    fails_with(broken, ExtractionError, "PPTX")


def test_legacy_ppt(tmp_path: Path) -> None:
    legacy = tmp_path / "old.ppt"
    legacy.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))
    fails_with(legacy, UnsupportedFileError, "legacy")


def test_a_flat_uncompressed_picture_is_skipped_not_the_deck(tmp_path: Path) -> None:
    """A one-colour BMP of 18 MiB deflates ~1000x, like a bomb: before, the whole deck was refused
    ("zip bomb guard: member 'ppt/media/image1.bmp' inflates ..."); now that picture alone is not read."""
    flat = io.BytesIO()
    Image.new("RGB", (2500, 2500), (30, 90, 160)).save(flat, "BMP")
    prs = decks.new_deck()
    for blob in (flat.getvalue(), decks.png_bytes()):
        slide = prs.slides.add_slide(prs.slide_layouts[decks.TITLE_ONLY])
        slide.shapes.title.text = "Network overview"
        slide.shapes.add_picture(io.BytesIO(blob), 914400, 914400, 3657600, 2743200)
    path = decks.save(prs, tmp_path / "flat.pptx")
    with zipfile.ZipFile(path) as zf:
        (bmp,) = [i for i in zf.infolist() if i.filename.endswith(".bmp")]
    assert bmp.file_size > safety.RATIO_CHECK_MIN_BYTES
    assert bmp.file_size / bmp.compress_size > safety.MAX_MEMBER_RATIO
    result = extract_document(path, SETTINGS)
    assert [w for w in result.warnings if bmp.filename in w] == [safety.skipped_media_warning(bmp.filename)]
    assert [(f.unit.page, f.unit.width) for f in result.figures] == [(2, 300)]  # no unit of the skipped one
    with pytest.raises(UnsafeFileError, match="inflates"):  # a part the parser reads still refuses the deck
        safety.check_zip_container(pptx_like_zip({"ppt/slides/slide1.xml": bytes(32 * 2**20)}), 1024)


def test_skipped_pictures_are_never_inflated_and_still_count_against_the_total() -> None:
    bomb = pptx_like_zip({f"ppt/media/image{i}.png": bytes(17 * 2**20) for i in range(3)})
    names = [f"ppt/media/image{i}.png" for i in range(3)]
    assert safety.check_zip_container(bomb, 1024) == names
    with zipfile.ZipFile(io.BytesIO(safety.without_members(bomb, names))) as zf:
        assert [zf.getinfo(name).file_size for name in names] == [0, 0, 0]
    with pytest.raises(UnsafeFileError, match="inflate past 32 MiB"):
        safety.check_zip_container(bomb, 32)


def webp_deck(path: Path, side: int) -> Path:
    """A picture deck whose picture is a WebP part (``image/webp``: a content type python-pptx does not
    list)."""
    webp = io.BytesIO()
    Image.new("RGB", (side, side), (200, 40, 40)).save(webp, "WEBP", lossless=True)
    base = decks.picture_deck(path).read_bytes()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as zin, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in zin.infolist():
            data, name = zin.read(item), item.filename
            if name.startswith("ppt/media/"):
                data, name = webp.getvalue(), name.rsplit(".", 1)[0] + ".webp"
            elif name.endswith(".rels"):
                data = data.replace(b"image1.png", b"image1.webp")
            elif name == "[Content_Types].xml":
                webp_type = b'<Default Extension="webp" ContentType="image/webp"/>'
                data = data.replace(b"</Types>", webp_type + b"</Types>")
            zout.writestr(name, data)
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.skipif(not features.check("webp"), reason="Pillow without WebP")
def test_a_webp_picture_is_decoded_with_the_same_pixel_caps(tmp_path: Path) -> None:
    """Before: python-pptx holds an ``image/webp`` part as a plain part (no ``.image``), so the picture had no
    bytes and its unit was a 600 x 450 sketch with the "LibreOffice rendering is off" warning."""
    result = extract_document(webp_deck(tmp_path / "webp.pptx", 8000), SETTINGS)
    assert [(f.unit.kind.value, f.unit.width) for f in result.figures] == [("picture", 2000)]
    assert result.warnings == []
    capped = ExtractSettings(libreoffice="off", workers=1, max_source_image_pixels=50_000_000)
    result = extract_document(tmp_path / "webp.pptx", capped)
    assert result.figures == []
    assert any("picture of 64,000,000 pixels skipped" in w for w in result.warnings), result.warnings


def test_a_pdf_no_page_of_which_can_be_read_fails(tmp_path: Path) -> None:
    """Cut short (a download that stopped), its page was a warning and the file "indexed" without figures,
    as if it were a text-only PDF; a file no page of which can be read is a damaged file."""
    whole = figure_pdf(tmp_path / "whole.pdf", seed=3, n_figures=2).read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) * 9 // 10])
    reason = fails_with(cut, ExtractionError, "corrupt PDF: its page could not be read")
    assert reason.endswith("(bad xref)"), reason
