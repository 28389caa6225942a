"""``figvault extract`` and ``figvault demo`` end to end: a bad file in a batch, warnings, quiet, ids."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.ingest.pdf import DAMAGED_PDF
from figvault.ingest.samples import sample_pptx_bytes
from figvault.ingest.slide_render import SOFFICE_OFF
from tests.generated_docs import damaged_pdf, figure_pdf
from tests.ingest import pptx_decks as decks

load_commands()
# LibreOffice off keeps these tests fast and makes the one-warning rule visible; workers=1 avoids spawn cost.
ENV = {"FIGVAULT_EXTRACT__LIBREOFFICE": "off", "FIGVAULT_EXTRACT__WORKERS": "1"}


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "deck.pptx").write_bytes(sample_pptx_bytes())
    decks.diagram_deck(folder / "sub" / "diagram.pptx")
    (folder / "broken.pptx").write_bytes(b"PK\x03\x04 this is not a zip at all")
    (folder / "ignored.txt").write_text("folders only give their .pdf/.pptx files")
    return folder


def run_cli(args: list[str], data_dir: Path) -> object:
    return CliRunner().invoke(app, ["--data-dir", str(data_dir), *args], env=ENV)


def read_units(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "units.jsonl").read_text(encoding="utf-8").splitlines()]


def test_batch_with_a_corrupt_file(batch: Path, tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(["extract", str(batch), "--out", str(out), "--quiet"], data_dir)
    assert result.exit_code == 1, result.output
    units = read_units(out)
    assert {u["doc"] for u in units} == {"deck.pptx", "diagram.pptx"}
    assert len(units) == 4
    for unit in units:
        assert (out / unit["image"]).read_bytes().startswith(b"\x89PNG")
        assert set(unit) >= {"unit_id", "doc_sha256", "page", "page_size", "bbox", "kind", "label", "title",
                             "caption", "context", "figure_text", "image", "width", "height"}  # fmt: skip
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and "broken.pptx" in failed[0] and "corrupt zip" in failed[0]
    assert "extracted 4 units from 2 file(s)" in result.output and "1 failed" in result.output
    assert result.output.count(SOFFICE_OFF) == 1  # two decks need rendering; the warning is said once
    soffice = next(line for line in result.output.splitlines() if SOFFICE_OFF in line)
    assert "(2 files: " in soffice and str(batch / "deck.pptx") in soffice, soffice
    assert str(batch / "sub" / "diagram.pptx") in soffice, soffice


def test_a_damaged_pdf_is_named_in_its_warning(tmp_path: Path, data_dir: Path) -> None:
    # A truncated PDF was read as far as MuPDF could repair it without a word (its pictures gone), and
    # the warnings a folder's files gave did not say which file they were about.
    folder = tmp_path / "in"
    folder.mkdir()
    whole = figure_pdf(folder / "whole.pdf", seed=3).read_bytes()
    (folder / "cut.pdf").write_bytes(damaged_pdf(whole))
    result = run_cli(["extract", str(folder), "--out", str(tmp_path / "out"), "--quiet"], data_dir)
    assert result.exit_code == 0, result.output
    assert f"warning: {DAMAGED_PDF} ({folder / 'cut.pdf'})" in result.output.splitlines()


def test_quiet_hides_the_progress_bar(batch: Path, tmp_path: Path, data_dir: Path) -> None:
    loud = run_cli(["extract", str(batch), "--out", str(tmp_path / "a")], data_dir)
    quiet = run_cli(["extract", str(batch), "--out", str(tmp_path / "b"), "--quiet"], data_dir)
    assert "extract:" in loud.output and "file" in loud.output
    assert "extract:" not in quiet.output
    assert "FAILED" in quiet.output  # failures and the summary are never hidden


def test_extracting_twice_gives_identical_units(batch: Path, tmp_path: Path, data_dir: Path) -> None:
    run_cli(["extract", str(batch), "--out", str(tmp_path / "one"), "-q"], data_dir)
    run_cli(["extract", str(batch), "--out", str(tmp_path / "two"), "-q"], data_dir)
    assert (tmp_path / "one" / "units.jsonl").read_bytes() == (tmp_path / "two" / "units.jsonl").read_bytes()


def test_extract_as_a_subprocess(batch: Path, tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    env = {**os.environ, **ENV, "FIGVAULT_DATA_DIR": str(data_dir)}
    cmd = [sys.executable, "-m", "figvault", "extract", str(batch), "--out", str(out), "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "FAILED" in proc.stderr and "broken.pptx" in proc.stderr
    assert "extracted 4 units from 2 file(s)" in proc.stdout
    assert len(read_units(out)) == 4


def test_demo_writes_samples_and_lists_their_units(tmp_path: Path, data_dir: Path) -> None:
    docs = tmp_path / "docs"
    first = run_cli(["demo", "--out", str(docs)], data_dir)
    assert first.exit_code == 0, first.output
    assert sorted(p.name for p in docs.iterdir()) == ["figvault-demo-deck.pptx", "figvault-demo-report.pdf"]
    stamp = {p.name: p.read_bytes() for p in docs.iterdir()}
    assert "figure units" in first.output and "chart" in first.output and "diagram" in first.output
    second = run_cli(["demo", "--out", str(docs)], data_dir)
    assert second.exit_code == 0, second.output
    assert {p.name: p.read_bytes() for p in docs.iterdir()} == stamp  # idempotent
    units = read_units(data_dir / "demo" / "extract")
    kinds = {(u["doc"].rsplit(".", 1)[1], u["kind"]) for u in units}
    assert {("pptx", "chart"), ("pptx", "picture"), ("pptx", "diagram")} <= kinds


def test_a_missing_path_fails_once_and_the_rest_goes_on(batch: Path, tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    missing = tmp_path / "no-such-report.pdf"
    result = run_cli(
        ["extract", str(batch / "deck.pptx"), str(missing), "--out", str(out), "--quiet"], data_dir
    )
    assert result.exit_code == 1, result.output
    failed = [line for line in result.output.splitlines() if line.startswith("FAILED")]
    assert failed == [f"FAILED {missing}: no such file or folder"]
    assert "from 1 file(s)" in result.output and "; 1 failed" in result.output
    assert {u["doc"] for u in read_units(out)} == {"deck.pptx"}


def test_extract_again_into_the_same_folder_keeps_only_this_runs_images(tmp_path: Path) -> None:
    """A second run replaced units.jsonl but left the first run's PNGs in DIR/images, named by no line."""
    out = tmp_path / "out"
    first = [str(figure_pdf(tmp_path / f"r{seed}.pdf", seed=seed, n_figures=1)) for seed in (1, 2)]
    assert (
        run_cli(["--config", "offline", "extract", *first, "--out", str(out)], tmp_path / "d").exit_code == 0
    )
    (out / "images" / "my-notes.png").write_bytes(b"not ours")
    md5_named = out / "images" / f"{'0123456789abcdef' * 2}.png"  # a name of a unit id's form, not ours
    md5_named.write_bytes(b"not ours either")
    assert len(list((out / "images").glob("*.png"))) == 4
    again = run_cli(["--config", "offline", "extract", first[0], "--out", str(out)], tmp_path / "d")
    assert again.exit_code == 0, again.output
    named = {Path(json.loads(line)["image"]).name for line in (out / "units.jsonl").read_text().splitlines()}
    left = {p.name for p in (out / "images").glob("*.png")}
    assert left == named | {"my-notes.png", md5_named.name} and len(named) == 1


def test_extract_does_not_read_a_link_swapped_in_after_the_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``extract /shared/drop --out ...`` listed the folder, then its workers opened each path again: a link
    to a file outside it swapped in meanwhile was extracted (a review, 2026-12-06). The bytes read must be
    those hashed where the file was listed."""
    from figvault.pipeline import extract_worker

    drop = tmp_path / "drop"
    drop.mkdir()
    victim = figure_pdf(drop / "victim.pdf", seed=3, n_figures=1)
    secret = figure_pdf(tmp_path / "secret.pdf", seed=4, n_figures=1)
    many = extract_worker.extract_many

    def swapped_first(files: Any, *args: Any, **kwargs: Any) -> Any:
        link = drop / ".swap"
        link.symlink_to(secret)
        link.replace(victim)
        return many(files, *args, **kwargs)

    monkeypatch.setattr(extract_worker, "extract_many", swapped_first)
    out = tmp_path / "out"
    result = run_cli(["--config", "offline", "extract", str(drop), "--out", str(out)], tmp_path / "d")
    assert result.exit_code == 1
    assert "the file changed while it was read" in result.stderr
    assert (out / "units.jsonl").read_text() == ""
