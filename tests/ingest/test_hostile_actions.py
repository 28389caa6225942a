"""What a PDF asks a reader to do is never done: open actions, links and scripts that launch a program,
fetch a URL, submit a form or open another file; an XFA form's picture and include; an attached file.
MuPDF (PyMuPDF) reads pages and draws them; it runs no action and no script, so the code was safe before
these tests: they fail if a reader that acts (or a JavaScript engine switched on) is ever added."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.pipeline.extract_worker import ExtractLimits, extract_limited
from figvault.pipeline.page_images import rasterise
from figvault.settings import ExtractSettings
from tests.generated_docs import figure_pdf
from tests.helpers.trap import LoopbackTrap
from tests.ingest.hostile_docs import ATTACHED_WORDS, actions_pdf

SECRET_WORDS = b"Wombat-7731 the server's own file"


@pytest.mark.parametrize("script_loops", [False, True])
def test_a_pdf_s_actions_scripts_and_attachments_are_never_acted_on(
    tmp_path: Path, script_loops: bool
) -> None:
    outside = tmp_path / "outside" / "secret.txt"
    outside.parent.mkdir()
    outside.write_bytes(SECRET_WORDS)
    marker = tmp_path / "launched"
    base = figure_pdf(tmp_path / "base.pdf", seed=3)
    settings = ExtractSettings(libreoffice="off", dpi=72)
    with LoopbackTrap() as trap:
        path = actions_pdf(
            tmp_path / "acts.pdf", base, trap.url("pdf"), outside, marker, script_loops=script_loops
        )
        # The worker's limits: a script that ran its endless loop would be killed, the document lost.
        result = extract_limited(path, settings, limits=ExtractLimits(seconds=20, memory_mb=2048))
        image = rasterise(path, 0, 1, 72)
    assert len(result.extraction.figures) == 2  # the page read as without its actions
    assert image.startswith(b"\x89PNG")
    assert trap.hits == []
    assert not marker.exists()
    said = repr(result).encode()
    assert SECRET_WORDS not in said and ATTACHED_WORDS not in said
