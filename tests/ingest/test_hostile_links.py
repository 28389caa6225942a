"""Nothing a deck points at outside itself is loaded: LibreOffice, which renders decks, would load a
picture linked by the deck (an external relationship) or by an SVG inside it and draw a server file into
a figure."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from figvault.ingest.extract import extract_document
from figvault.ingest.safety import svg_internal_only, without_external_targets
from figvault.settings import ExtractSettings
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import (
    linked_picture_pptx,
    svg_linking,
    svg_linking_through_its_dtd,
    svg_picture_pptx,
)

SECRET_RGB = (250, 10, 200)
"""The colour of the server file the deck links to; no figure may show it."""


def secret_png(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "secret.png"
    Image.new("RGB", (200, 200), SECRET_RGB).save(path)
    return path


def secret_share(png: bytes) -> float:
    """The share of the image's pixels that have the secret's colour."""
    with Image.open(io.BytesIO(png)) as img:
        pixels = list(img.convert("RGB").resize((64, 64)).getdata())
    close = [p for p in pixels if sum(abs(a - b) for a, b in zip(p, SECRET_RGB, strict=True)) < 40]
    return len(close) / len(pixels)


needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"
)


@needs_soffice
@pytest.mark.parametrize("form", ["file-uri", "relative-path", "svg", "svgz", "svg-dtd-default"])
def test_a_picture_linked_to_a_server_file_never_shows_it(tmp_path: Path, form: str) -> None:
    secret = secret_png(tmp_path / "outside")
    # LibreOffice opens the deck in a temporary folder: enough "../" reach the root from any depth.
    target = "../" * 30 + str(secret).lstrip("/") if form == "relative-path" else secret.as_uri()
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    if form.startswith("svg-dtd"):
        svg = svg_linking_through_its_dtd(target, form.removeprefix("svg-dtd-"))
        deck = svg_picture_pptx(tmp_path / "svg.pptx", base, svg)
    elif form.startswith("svg"):
        deck = svg_picture_pptx(tmp_path / "svg.pptx", base, svg_linking(target), gzipped=form == "svgz")
    else:
        deck = linked_picture_pptx(tmp_path / "linked.pptx", base, target)

    result = extract_document(deck, ExtractSettings(libreoffice="auto", dpi=72))
    assert [f.unit.page for f in result.figures if secret_share(f.png) > 0.05] == []


def test_external_relationships_are_removed_and_internal_ones_kept(tmp_path: Path) -> None:
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    assert without_external_targets(base) is base  # nothing external: the same bytes, no copy
    deck = linked_picture_pptx(tmp_path / "linked.pptx", base, "http://169.254.169.254/latest/x.png")

    cleaned = zipfile.ZipFile(io.BytesIO(without_external_targets(deck.read_bytes())))
    rels = cleaned.read("ppt/slides/_rels/slide1.xml.rels")
    assert b"External" not in rels and b"169.254" not in rels
    assert b"slideLayout" in rels  # the internal relationships stay
    with zipfile.ZipFile(deck) as original:
        assert sorted(cleaned.namelist()) == sorted(original.namelist())
        assert cleaned.read("ppt/slides/slide1.xml") == original.read("ppt/slides/slide1.xml")


def test_an_svg_keeps_only_references_inside_it() -> None:
    raster = "data:image/png;base64,iVBORw0KGgo="
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        "<style>@import url(http://evil/x.css); .a { fill: url(file:///etc/x#g) }"
        " .b { fill: url(#g) }</style>"
        '<image href="http://169.254.169.254/x.png"/><image xlink:href="data:image/svg+xml;base64,PHN2Zz4="/>'
        f'<image xlink:href="{raster}"/><use xlink:href="#g"/><rect style="fill: url(\'/etc/y\')"/></svg>'
    ).encode()
    cleaned = svg_internal_only(svg)
    assert cleaned is not None
    for gone in (b"evil", b"file:", b"169.254", b"svg+xml", b"/etc/y"):
        assert gone not in cleaned
    for kept in (raster.encode(), b'xlink:href="#g"', b"url(#g)"):
        assert kept in cleaned
    assert svg_internal_only(cleaned) is None  # nothing left to remove
    assert svg_internal_only(b"<svg") == b'<svg xmlns="http://www.w3.org/2000/svg"/>'  # unreadable: empty


@pytest.mark.parametrize("how", ["default", "entity"])
def test_an_svg_loses_references_its_doctype_adds(how: str) -> None:
    """An ATTLIST default or an entity carrying markup adds an href the parsed elements do not show at
    first sight; LibreOffice applies both. The DOCTYPE goes, the entities are expanded and cleaned."""
    cleaned = svg_internal_only(svg_linking_through_its_dtd("file:///srv/secret.png", how))
    assert cleaned is not None
    assert b"file:" not in cleaned and b"DOCTYPE" not in cleaned and b"<image" in cleaned
    assert svg_internal_only(cleaned) is None


def test_an_svg_referring_to_an_external_entity_becomes_empty() -> None:
    svg = b'<!DOCTYPE svg [<!ENTITY x SYSTEM "file:///etc/hostname">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>'
    assert svg_internal_only(svg) == b'<svg xmlns="http://www.w3.org/2000/svg"/>'
