"""LibreOffice profiles reused across a batch's decks: leased one at a time, built once, scrubbed of
documents, discarded after a failed conversion."""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path

import pytest

from figvault.ingest import soffice_profiles
from figvault.ingest.pptx import extract_pptx_units
from figvault.ingest.soffice_profiles import SofficeProfiles
from figvault.pipeline.extract_worker import extract_limited
from figvault.settings import ExtractSettings
from figvault.units import FigureKind
from tests.ingest import pptx_decks as decks

needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) not installed"
)
MARK = "Quokka4417"
"""A word of the first deck that no file of the profile may hold after its conversion."""


def extract(path: Path, settings: ExtractSettings) -> list[str]:
    data = path.read_bytes()
    result = extract_pptx_units(path, data, hashlib.sha256(data).hexdigest(), settings)
    assert [f.unit.kind for f in result.figures] == [FigureKind.DIAGRAM]
    return result.warnings


def files_holding(folder: Path, needle: bytes) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and needle in p.read_bytes()]


@needs_soffice
def test_a_leased_profile_is_built_once_and_keeps_no_deck(tmp_path: Path) -> None:
    first = decks.diagram_deck(tmp_path / "first.pptx", labels=(MARK, "Gateway", "Store"))
    second = decks.diagram_deck(tmp_path / "second.pptx")
    with SofficeProfiles() as profiles, profiles.lease() as folder, soffice_profiles.reusing(folder):
        assert extract(first, ExtractSettings(dpi=72)) == []
        built = (folder / "user" / "extensions" / "buildid").stat()
        assert files_holding(folder, MARK.encode()) == []
        assert files_holding(folder, b"figvault-lo-") == []  # the converted copy's folder: no path kept
        assert extract(second, ExtractSettings(dpi=72)) == []
        again = (folder / "user" / "extensions" / "buildid").stat()
        assert (again.st_ino, again.st_mtime_ns) == (built.st_ino, built.st_mtime_ns)  # reused, not rebuilt
    assert not folder.exists()  # closed with the batch


def fake_soffice(folder: Path, body: str) -> Path:
    """A soffice that creates its profile (with a lock, as a running one does), then runs ``body``."""
    script = folder / "soffice"
    script.write_text(
        "#!/bin/sh\n"
        'profile=$(echo "$1" | sed "s|^-env:UserInstallation=file://||")\n'
        'mkdir -p "$profile/user" && touch "$profile/user/.lock"\n'
        f"{body}\n"
    )
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(
    ("body", "timeout", "why"),
    [
        ("sleep 60", 1, "timed out after 10 s (wall time"),
        ("echo 'Error: crashed' >&2; exit 1", 30, "could not convert the deck (exit code 1)"),
    ],
)
def test_a_failed_conversion_discards_the_profile(tmp_path: Path, body: str, timeout: int, why: str) -> None:
    path = decks.diagram_deck(tmp_path / "diagram.pptx")
    settings = ExtractSettings(libreoffice=str(fake_soffice(tmp_path, body)), libreoffice_timeout_s=timeout)
    with SofficeProfiles() as profiles, profiles.lease() as folder, soffice_profiles.reusing(folder):
        (warning,) = extract(path, settings)
        assert why in warning
        assert not folder.exists()  # a stale lock or a half-built profile is not handed to the next deck


def test_scrub_removes_recent_documents_and_backups_only(tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / "backup").mkdir(parents=True)
    (user / "backup" / "deck_0.pptx").write_bytes(b"a copy")
    kept = '<item oor:path="/org.openoffice.Office.Common/Misc"><prop oor:name="FirstRun"/></item>\n'
    recent = (
        '<item oor:path="/org.openoffice.Office.Histories/Histories/org.openoffice.Office.Histories:'
        'HistoryInfo[\'PickList\']/ItemList"><node oor:name="file:///tmp/deck.pptx"/></item>\n'
    )
    (user / "registrymodifications.xcu").write_text(f"<oor:items>\n{kept}{recent}</oor:items>\n")
    soffice_profiles.scrub(tmp_path)
    assert not (user / "backup").exists()
    assert (user / "registrymodifications.xcu").read_text() == f"<oor:items>\n{kept}</oor:items>\n"


def test_leases_never_share_a_profile_and_a_failed_one_is_discarded() -> None:
    with SofficeProfiles() as profiles:
        with profiles.lease() as a, profiles.lease() as b:
            assert a != b
            a.mkdir(parents=True)
        with pytest.raises(RuntimeError), profiles.lease() as c:
            assert c in (a, b)  # a free one is reused
            c.mkdir(parents=True, exist_ok=True)
            raise RuntimeError("the worker was killed")
        assert not c.exists()
        seen: set[Path] = set()
        hold = threading.Barrier(3)

        def one() -> None:
            with profiles.lease() as folder:
                seen.add(folder)
                hold.wait(5)

        threads = [threading.Thread(target=one) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(seen) == 3
    assert not a.exists()


@needs_soffice
def test_the_extraction_worker_converts_on_the_leased_profile(tmp_path: Path) -> None:
    path = decks.chart_deck(tmp_path / "chart.pptx")
    with SofficeProfiles() as profiles:
        result = extract_limited(path, ExtractSettings(dpi=72), profiles=profiles)
        assert result.extraction.warnings == []
        with profiles.lease() as folder:
            assert (folder / "user" / "registrymodifications.xcu").is_file()  # built by the worker's deck


def test_a_killed_batchs_profiles_are_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch killed before ``close`` (SIGKILL, the OOM killer) left its profiles folder in the temp folder
    for good, a half-converted document's recovery copy with it; the next batch removes the folders whose
    process is gone, and no other."""
    import os
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    dead_pid = int(gone.stdout)
    killed = tmp_path / f"{soffice_profiles.PREFIX}{dead_pid}-abc123"
    (killed / "1" / "user" / "backup").mkdir(parents=True)
    (killed / "1" / "user" / "backup" / "deck.pptx").write_bytes(b"recovery copy")
    running = tmp_path / f"{soffice_profiles.PREFIX}1-live"  # pid 1 is always alive
    running.mkdir()
    unrelated = tmp_path / "figvault-lo-profiles-notapid"
    unrelated.mkdir()
    with SofficeProfiles() as profiles, profiles.lease() as folder:
        assert folder.parent.name.startswith(f"{soffice_profiles.PREFIX}{os.getpid()}-")
        assert not killed.exists() and running.exists() and unrelated.exists()
