"""Words of vector pictures (EMF/WMF) read from their text records: a Visio diagram in a deck is findable."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

from figvault.ingest.metafile_text import metafile_text
from figvault.ingest.pptx import extract_pptx_units
from figvault.settings import ExtractSettings
from figvault.units import FigureKind
from tests.ingest import pptx_decks as decks

NETWORK = [
    ("Connectivity", 100, 200, 50),  # one label written as two runs on one baseline, a space apart
    ("Subscription", 750, 200, 50),
    ("Azure", 100, 900, 50),  # one word written as two glued runs
    ("Firewall", 350, 900, 50),
    ("ExpressRoute", 100, 1600, 50),
]


def wmf_bytes(lines: list[tuple[str, int, int]]) -> bytes:
    """A placeable WMF drawing each ``(text, x, y)`` with META_TEXTOUT."""
    records = b""
    for text, x, y in lines:
        raw = text.encode("cp1252")
        padded = raw + b"\0" * (len(raw) % 2)
        params = struct.pack("<H", len(raw)) + padded + struct.pack("<hh", y, x)
        records += struct.pack("<IH", (6 + len(params)) // 2, 0x0521) + params
    records += struct.pack("<IH", 3, 0)  # META_EOF
    placeable = struct.pack("<IHhhhhHI", 0x9AC6CDD7, 0, 0, 0, 1000, 800, 96, 0)
    placeable += struct.pack("<H", 0)  # checksum (not checked here)
    header = struct.pack("<HHHIHIH", 1, 9, 0x300, (18 + len(records)) // 2, 0, 20, 0)
    return placeable + header + records


def test_emf_runs_become_lines_of_words() -> None:
    text = metafile_text(decks.emf_bytes(NETWORK))
    assert text.splitlines() == ["Connectivity Subscription", "AzureFirewall", "ExpressRoute"]


def test_icon_font_symbols_are_dropped() -> None:
    runs = [("\u036c\u035f", 100, 200, 50), ("\ue0a1", 100, 600, 50), ("Key Vault", 100, 1000, 50)]
    assert metafile_text(decks.emf_bytes(runs)) == "Key Vault"


def test_wmf_text_records_are_read() -> None:
    assert metafile_text(wmf_bytes([("Hub VNet", 10, 20), ("Spoke", 10, 80)])).splitlines() == [
        "Hub VNet",
        "Spoke",
    ]


def test_other_bytes_and_broken_metafiles_give_no_words() -> None:
    assert metafile_text(decks.png_bytes()) == ""
    assert metafile_text(b"") == ""
    whole = decks.emf_bytes(NETWORK)
    for cut in (90, 150, len(whole) // 2, len(whole) - 30):
        assert set(metafile_text(whole[:cut]).split()) <= {"Connectivity", "Subscription", "AzureFirewall"}


def test_a_deck_s_vector_picture_carries_its_labels(tmp_path: Path) -> None:
    path = decks.metafile_deck(tmp_path / "diagram.pptx", decks.emf_bytes(NETWORK))
    data = path.read_bytes()
    settings = ExtractSettings(libreoffice="off")
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert [f.unit.kind for f in result.figures] == [FigureKind.PICTURE]
    words = result.figures[0].unit.figure_text.split()
    assert {"Connectivity", "Subscription", "ExpressRoute"} <= set(words)
