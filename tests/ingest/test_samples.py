"""The demo documents are byte-for-byte reproducible, across processes and clock seconds."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pymupdf

from figvault.ingest.samples import sample_pdf_bytes, sample_pptx_bytes, write_sample_documents


def test_samples_are_identical_in_another_process() -> None:
    code = (
        "import hashlib, sys; from figvault.ingest.samples import sample_pdf_bytes, sample_pptx_bytes; "
        "sys.stdout.write(hashlib.sha256(sample_pdf_bytes() + sample_pptx_bytes()).hexdigest())"
    )
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert other == hashlib.sha256(sample_pdf_bytes() + sample_pptx_bytes()).hexdigest()


def test_sample_pdf_has_vector_figures_and_captions(tmp_path: Path) -> None:
    pdf_path, pptx_path = write_sample_documents(tmp_path)
    with pymupdf.open(pdf_path) as doc:
        page = doc[0]
        text = page.get_text()
        assert "Figure 1: Quarterly revenue by region" in text and "Figure 2:" in text
        assert page.get_images() == []  # every figure is drawn, none is a picture
        assert len(page.get_drawings()) > 20
    assert pptx_path.read_bytes() == sample_pptx_bytes()
