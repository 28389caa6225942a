"""Nothing a deck points at outside itself is loaded: LibreOffice, which renders decks, would load a
picture linked by the deck (an external relationship) or by an SVG inside it and draw a server file into
a figure."""

from __future__ import annotations

import contextlib
import io
import shutil
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from figvault.ingest import slide_render, soffice_profiles
from figvault.ingest.extract import extract_document
from figvault.ingest.safety import svg_internal_only, without_external_targets
from figvault.settings import ExtractSettings
from tests.helpers.trap import LoopbackTrap
from tests.ingest import pptx_decks as decks
from tests.ingest.hostile_docs import (
    external_link_pptx,
    linked_picture_pptx,
    ole_object_pptx,
    picture_part_outside_pptx,
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
@pytest.mark.parametrize(
    "form",
    [
        "file-uri",
        "relative-path",
        "svg",
        "svgz",
        "svg-dtd-default",
        "internal-relative",
        "internal-uri",
        "internal-absolute",
    ],
)
def test_a_picture_linked_to_a_server_file_never_shows_it(tmp_path: Path, form: str) -> None:
    secret = secret_png(tmp_path / "outside")
    # LibreOffice opens the deck in a temporary folder: enough "../" reach the root from any depth.
    relative = "../" * 30 + str(secret).lstrip("/")
    target = relative if form in ("relative-path", "internal-relative") else secret.as_uri()
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    if form.startswith("internal-"):  # an internal relationship (no TargetMode) naming a server file
        named = {
            "internal-relative": target,
            "internal-uri": secret.as_uri(),
            "internal-absolute": str(secret),
        }
        deck = picture_part_outside_pptx(tmp_path / "internal.pptx", base, named[form])
    elif form.startswith("svg-dtd"):
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


SECRET_WORDS = b"Wombat-7731 the server's own file"
"""The text of a server file a deck links to: no unit, title or warning may hold it."""

LINK_FORMS = [
    # (form, what it points at: "url" the loopback trap, "file" the secret text file)
    ("picture", "url"),
    ("video", "url"),
    ("video", "file"),
    ("audio", "url"),
    ("hyperlink", "url"),
    ("hyperlink", "file"),
    ("linked-ole", "url"),
    ("linked-ole", "file"),
    ("internal-url", "url"),
    ("svg-image", "url"),
    ("svg-stylesheet", "url"),
    ("svg-xinclude", "url"),
    ("svg-script", "url"),
    ("svg-entity", "url"),
    ("svg-entity", "file"),
]


def deck_linking(tmp_path: Path, form: str, target: str) -> Path:
    """The picture deck made to point at ``target`` in one of LINK_FORMS' ways."""
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    deck = tmp_path / f"{form}.pptx"
    if form == "picture":
        return linked_picture_pptx(deck, base, target)
    if form == "internal-url":  # an absolute URL as a part name: TargetMode Internal, no link by the rules
        return external_link_pptx(deck, base, "video", target, mode="Internal")
    if form.startswith("svg-"):
        svg = {
            "svg-image": svg_linking(target),
            "svg-stylesheet": f'<?xml-stylesheet type="text/css" href="{target}"?>'.encode()
            + svg_linking("#none"),
            "svg-xinclude": svg_linking("#none").replace(
                b"<image",
                f'<xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="{target}"/><image'.encode(),
            ),
            "svg-script": svg_linking("#none").replace(
                b"<image", f"<script>fetch('{target}'); new Image().src = '{target}';</script><image".encode()
            ),
            "svg-entity": f'<!DOCTYPE svg [<!ENTITY outside SYSTEM "{target}">]>'.encode()
            + svg_linking("#none").replace(b"<image", b"<text x='10' y='20'>&outside;</text><image"),
        }[form]
        return svg_picture_pptx(deck, base, svg)
    return external_link_pptx(deck, base, form, target)


def everything_said(result: object) -> bytes:
    """Every text a deck's extraction gives back: units (all fields), warnings."""
    return repr(result).encode()


@needs_soffice
@pytest.mark.parametrize(("form", "points_at"), LINK_FORMS)
def test_nothing_a_deck_links_to_is_fetched_or_read(tmp_path: Path, form: str, points_at: str) -> None:
    """A linked picture, video, sound, OLE object (set to update when opened), a hyperlink, an absolute URL
    given as a part name, and an SVG's image, stylesheet, XInclude, script or external entity: neither
    python-pptx nor LibreOffice connects to the URL or reads the file. Safe before this test
    (``without_external_targets`` and the SVG cleaning); it fails when either wall is gone (the lockdown
    test below takes the first away)."""
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_bytes(SECRET_WORDS)
    with LoopbackTrap() as trap:
        target = trap.url(form) if points_at == "url" else secret.as_uri()
        result = extract_document(
            deck_linking(tmp_path, form, target), ExtractSettings(libreoffice="auto", dpi=72)
        )
        assert result.figures  # the deck was read, its linked part left out
    assert trap.hits == []
    assert SECRET_WORDS not in everything_said(result)
    assert not any(SECRET_WORDS in f.png for f in result.figures)


@needs_soffice
@pytest.mark.parametrize("profile", ["fresh", "reused"])
def test_libreoffice_itself_follows_no_link(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, profile: str
) -> None:
    """The second wall: with the deck's links left in (the package check taken away), LibreOffice neither
    fetches a linked picture's URL nor draws a linked server file. Before soffice_profiles.lock_down it did
    both: the trap got ``OPTIONS /x.png`` and ``GET /x.png``, and the secret's colour filled the unit. A
    reused profile is locked down again before each start, whatever its registry says by then."""
    monkeypatch.setattr(slide_render, "without_external_targets", lambda data: data)
    secret = secret_png(tmp_path / "outside")
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    settings = ExtractSettings(libreoffice="auto", dpi=72)
    with LoopbackTrap() as trap, contextlib.ExitStack() as stack:
        if profile == "reused":
            folder = stack.enter_context(stack.enter_context(soffice_profiles.SofficeProfiles()).lease())
            stack.enter_context(soffice_profiles.reusing(folder))
            assert extract_document(decks.diagram_deck(tmp_path / "plain.pptx"), settings).figures
            registry = folder / soffice_profiles.REGISTRY
            registry.write_text(registry.read_text().replace("<value>true</value>", "<value>false</value>"))
        by_url = extract_document(linked_picture_pptx(tmp_path / "u.pptx", base, trap.url("x.png")), settings)
        by_file = extract_document(linked_picture_pptx(tmp_path / "f.pptx", base, secret.as_uri()), settings)
    assert trap.hits == []
    assert [f.unit.page for f in by_url.figures + by_file.figures if secret_share(f.png) > 0.05] == []


def test_lock_down_sets_its_items_once_in_any_registry(tmp_path: Path) -> None:
    """A new profile gets a registry of the lockdown alone; a registry soffice wrote keeps its other items
    and has each lockdown item once, with its value; one cut short is started again."""
    items = [f'oor:name="{name}"' for name in soffice_profiles.LOCKDOWN]
    soffice_profiles.lock_down(tmp_path / "new")
    soffice_profiles.lock_down(tmp_path / "new")
    fresh = (tmp_path / "new" / soffice_profiles.REGISTRY).read_text()
    assert [fresh.count(item) for item in items] == [1, 1, 1]

    registry = tmp_path / "used" / soffice_profiles.REGISTRY
    registry.parent.mkdir(parents=True)
    other = (
        '<item oor:path="/org.openoffice.Setup/Office"><prop oor:name="ooSetupInstCompleted" oor:op="fuse">'
        "<value>true</value></prop></item>\n"
    )
    tampered = fresh.replace("<value>true</value>", "<value>false</value>").replace(
        "</oor:items>", other + "</oor:items>"
    )
    registry.write_text(tampered)
    soffice_profiles.lock_down(tmp_path / "used")
    kept = registry.read_text()
    assert (
        other in kept
        and "<value>false</value>" not in kept
        and [kept.count(item) for item in items] == [1, 1, 1]
    )

    registry.write_text(fresh[:100])
    soffice_profiles.lock_down(tmp_path / "used")
    assert registry.read_text() == fresh


@needs_soffice
@pytest.mark.parametrize("preview", ["embedded", "linked"])
def test_an_embedded_object_is_shown_by_its_preview_and_never_opened(tmp_path: Path, preview: str) -> None:
    """An OLE object embedded in a deck (its data a part of the package) is drawn from its preview
    picture; its data is neither read into a unit nor followed, and a preview linked to a URL is not
    fetched. Safe before this test (LibreOffice draws the preview; the linked one is removed and blocked)."""
    base = decks.picture_deck(tmp_path / "base.pptx").read_bytes()
    payload = SECRET_WORDS * 100
    with LoopbackTrap() as trap:
        link = trap.url("preview.png") if preview == "linked" else None
        deck = ole_object_pptx(tmp_path / "ole.pptx", base, payload, preview_link=link)
        result = extract_document(deck, ExtractSettings(libreoffice="auto", dpi=72))
    assert trap.hits == []
    assert len(result.figures) == 2 and result.warnings == []  # the picture and the object
    assert SECRET_WORDS not in everything_said(result)
