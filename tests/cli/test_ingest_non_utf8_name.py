"""A folder holding a file whose name is not valid UTF-8 (a Latin-1 "résumé.pdf" copied from an old share):
before, the whole ingest ended at its first progress line with ``UnicodeEncodeError: ... surrogates not
allowed`` (the name, as Python holds it, cannot be stored), and nothing of the folder was ingested. Now that
file fails alone, named, with what to do; the others are ingested, and the exit code says one failed."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.generated_docs import figure_pdf
from tests.helpers.cli import run


def test_a_file_whose_name_is_not_utf8_fails_alone(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    figure_pdf(docs / "plan.pdf", seed=3)
    latin1 = os.path.join(os.fsencode(docs), "r\xe9sum\xe9.pdf".encode("latin-1"))
    figure_pdf(Path(os.fsdecode(latin1)), seed=4)
    data = tmp_path / "data"

    code, out, err = run(data, "ingest", str(docs), "--groups", "eng", "-q")

    assert "UnicodeEncodeError" not in err + out
    assert code == 1, err
    assert "r\ufffdsum\ufffd.pdf: refused: its name is not valid UTF-8" in err, err
    assert "1 new, 0 replaced, 0 unchanged, 1 failed" in out, out
    code, out, _ = run(data, "documents", "list", "--json")
    assert code == 0 and [d["name"] for d in json.loads(out)] == ["plan.pdf"]
