"""No LibreOffice outlives the extraction that started it. soffice runs in a session of its own (so that a
timeout can end soffice.bin, not only its launcher), which also put it out of reach of the two ways an
extraction ends without the parent's ``_kill``: a worker whose requester was killed ended its own process
group only, and a conversion interrupted in this process (Ctrl-C, a cancel raised in the thread) left
soffice running. Both left it converting on alone, up to its CPU backstop. A stand-in ``soffice`` (a shell
script that records its pid and sleeps) plays LibreOffice here."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from figvault.ingest.slide_render import _convert
from figvault.settings import ExtractSettings

REPO = Path(__file__).resolve().parents[2]
SETTINGS = ExtractSettings(libreoffice_timeout_s=300)


def fake_soffice(tmp_path: Path) -> tuple[Path, Path]:
    pid_file = tmp_path / "soffice.pid"
    script = tmp_path / "soffice"
    script.write_text(
        f'#!/bin/sh\necho $$ > "{pid_file}.tmp" && mv "{pid_file}.tmp" "{pid_file}"\nexec sleep 120\n'
    )
    script.chmod(0o755)
    return script, pid_file


def started_pid(pid_file: Path, deadline_s: float = 60) -> int:
    deadline = time.monotonic() + deadline_s
    while not pid_file.exists():
        assert time.monotonic() < deadline, "the stand-in soffice never started"
        time.sleep(0.05)
    return int(pid_file.read_text())


def ended(pid: int, deadline_s: float) -> bool:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


class Interrupted(Exception):
    pass


def test_an_interrupted_conversion_ends_soffice(tmp_path: Path) -> None:
    soffice, pid_file = fake_soffice(tmp_path)

    def interrupt(*_: object) -> None:
        raise Interrupted

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 2.0)
    try:
        with pytest.raises(Interrupted):
            _convert(str(soffice), b"deck", tmp_path / "profile", tmp_path, SETTINGS)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    pid = started_pid(pid_file, deadline_s=1)
    alive = not ended(pid, deadline_s=5)
    if alive:
        psutil.Process(pid).kill()
    assert not alive, "soffice ran on after the conversion was interrupted"


REQUESTER = """
import sys
from pathlib import Path
from figvault.ingest.slide_render import _convert
from figvault.pipeline.extract_worker import ExtractLimits, run_limited
from figvault.settings import ExtractSettings

if __name__ == "__main__":
    tmp = Path(sys.argv[2])
    args = (sys.argv[1], b"deck", tmp / "profile", tmp, ExtractSettings(libreoffice_timeout_s=300))
    run_limited(_convert, args, ExtractLimits(seconds=600), verb="convert this deck")
"""


def test_a_worker_whose_requester_was_killed_ends_its_soffice(tmp_path: Path) -> None:
    soffice, pid_file = fake_soffice(tmp_path)
    script = tmp_path / "requester.py"
    script.write_text(REQUESTER)
    work = tmp_path / "work"
    work.mkdir()
    requester = subprocess.Popen([sys.executable, str(script), str(soffice), str(work)], cwd=REPO)
    try:
        pid = started_pid(pid_file)
    finally:
        requester.kill()
        requester.wait()
    alive = not ended(pid, deadline_s=30)
    if alive:
        psutil.Process(pid).kill()
    assert not alive, "soffice ran on after the process that asked for the conversion was killed"
