"""File names holding line breaks and terminal escapes (legal on Linux; a folder of uploads or a share may
hold them), as ``figvault ingest``, ``figvault jobs show`` and ``figvault extract`` print them.

Before (twelfth hostile pass), the lines naming a file printed it raw: a name
``"q3\\nFAILED other.pdf: refused.pdf"`` wrote a second, forged ``FAILED`` line, and ``"\\x1b[2J"`` in a
name cleared the terminal of whoever ran the command. Now each such line writes them as escapes (``\\n``,
``\\x1b``), as ``documents list`` does: one line per file, looking like what it is. JSON output was
already escaped by JSON itself."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cli import run
from tests.ingest.hostile_docs import _pdf_file, _stream, one_page_objects

FORGED = "q3\nFAILED other.pdf: refused by policy.pdf"
ESCAPE = "clear\x1b[2Jscreen.pdf"


def _folder(tmp_path: Path) -> Path:
    """A failing file under each hostile name, and a PDF of text only (no figure: its ``note:`` line)."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / FORGED).write_bytes(b"not a document")
    (docs / ESCAPE).write_bytes(b"not a document either")
    text = b"BT /F1 12 Tf 72 700 Td (Notes) Tj ET"
    font = b"/Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >>"
    (docs / "notes\ron one line.pdf").write_bytes(_pdf_file(one_page_objects(font, _stream(text))))
    return docs


def _one_line_each(err: str) -> None:
    assert "\x1b[2J" not in err and "\ron one" not in err, err  # (model loading bars write \r and escapes)
    assert [line for line in err.splitlines() if line.startswith("FAILED")] == [
        line for line in err.splitlines() if "FAILED" in line
    ], err
    assert sum(line.startswith("FAILED") for line in err.splitlines()) == 2, err
    assert "q3\\nFAILED other.pdf: refused by policy.pdf: not a PDF or PPTX file" in err, err
    assert "clear\\x1b[2Jscreen.pdf: not a PDF or PPTX file" in err, err


def test_ingest_and_jobs_show_write_each_file_on_one_line(tmp_path: Path) -> None:
    docs, data = _folder(tmp_path), tmp_path / "data"
    code, out, err = run(data, "ingest", str(docs), "--groups", "eng", "-q")
    assert code == 1, err
    _one_line_each(err)
    assert "notes\\ron one line.pdf: no figures found" in err, err
    job = out.rsplit("(job ", 1)[1].split(")")[0]

    code, shown, _ = run(data, "jobs", "show", job)
    assert code == 0 and "\x1b[2J" not in shown and "\ron one" not in shown, shown
    assert "error      clear_[2Jscreen.pdf: not a PDF" in shown, shown  # its display name: already safe
    code, as_json, _ = run(data, "ingest", str(docs), "--groups", "eng", "--json")
    paths = {Path(d["path"]).name for d in json.loads(as_json)["documents"]}
    assert {FORGED, ESCAPE} <= paths  # JSON keeps the exact names


def test_extract_writes_each_failed_file_on_one_line(tmp_path: Path) -> None:
    code, _, err = run(
        tmp_path / "data", "extract", str(_folder(tmp_path)), "--out", str(tmp_path / "out"), "-q"
    )
    assert code == 1, err
    _one_line_each(err)
