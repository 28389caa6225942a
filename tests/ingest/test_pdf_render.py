"""Region rasterisation: dpi, pixel cap (figvault.ingest.render)."""

from __future__ import annotations

import pymupdf
import pytest

from figvault.ingest.render import region_dpi, render_region


def test_region_dpi_keeps_small_regions_at_target() -> None:
    assert region_dpi(72, 72, 150, 1_000_000) == 150


def test_region_dpi_lowers_for_huge_regions() -> None:
    dpi = region_dpi(2000, 2000, 150, 4_000_000)
    assert dpi < 150
    assert (2000 * dpi / 72) ** 2 <= 4_000_000


@pytest.mark.parametrize(("dpi", "cap"), [(150, 4_000_000), (300, 50_000), (96, 9_999)])
def test_rendered_png_respects_cap(dpi: int, cap: int) -> None:
    doc = pymupdf.open()
    page = doc.new_page(width=600, height=800)
    page.draw_rect((50, 50, 550, 750), color=(0, 0, 0), fill=(0.9, 0.2, 0.2))
    out = render_region(page, pymupdf.Rect(33.3, 41.7, 566.6, 777.7), dpi, cap)
    assert out.width * out.height <= cap
    assert out.png.startswith(b"\x89PNG")
    if out.dpi == dpi:
        assert abs(out.width - (566.6 - 33.3) * dpi / 72) <= 2
