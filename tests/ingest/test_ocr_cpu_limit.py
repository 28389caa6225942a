"""An OCR read is limited by the CPU time it uses, not by the wall time a loaded machine stretches it to; a
read that spins is still stopped (at its CPU limit), one that gets no CPU at all by the wall backstop, and
nothing of a stopped read is left running."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from figvault.ingest import cpu_limited, deadline, ocr
from figvault.settings import ExtractSettings
from tests.ingest.test_ocr import needs_tesseract

REPO = Path(__file__).resolve().parents[2]

STARVED_READ = textwrap.dedent(
    """
    import io, sys
    from PIL import Image
    from figvault.ingest import deadline, ocr
    from figvault.settings import ExtractSettings
    from tests.ingest.test_ocr import text_picture

    deadline.WALL_FACTOR = 1000  # this read is about the CPU limit, not the wall backstop
    engine, settings = ocr.OcrEngine("eng"), ExtractSettings(workers=1, ocr_timeout_s=2.0)
    lines = [f"Replication lag dashboard {i}" for i in range(14)]
    image = Image.open(io.BytesIO(text_picture(tuple(lines), 1400, 1200)))
    ocr.read_lines(Image.open(io.BytesIO(text_picture())), engine, settings)  # the engine loaded
    print("ready", flush=True)
    sys.stdin.readline()
    try:
        print(ocr.lines_text(ocr.read_lines(image, engine, settings)).replace("\\n", " "), flush=True)
    except TimeoutError as exc:
        print(f"TimeoutError: {exc}", flush=True)
    """
)


@needs_tesseract
def test_a_read_starved_of_cpu_is_not_cut() -> None:
    # A loaded machine, made deterministic: the process (and whatever it started) runs 30 ms in every 330.
    # The read needs about 0.3 CPU-s, under its 2 s limit, but takes more than 3 s of wall time. Before:
    # the limit counted wall time, and the read was stopped ("OCR stopped after 2 s").
    reader = subprocess.Popen(
        [sys.executable, "-c", STARVED_READ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert reader.stdin is not None and reader.stdout is not None
    try:
        assert reader.stdout.readline().strip() == "ready"
        reader.stdin.write("go\n")
        reader.stdin.flush()
        started = time.monotonic()
        while reader.poll() is None and time.monotonic() - started < 300:
            os.killpg(reader.pid, signal.SIGSTOP)
            time.sleep(0.3)
            os.killpg(reader.pid, signal.SIGCONT)
            time.sleep(0.03)
        out = reader.stdout.read()
    finally:
        if reader.poll() is None:
            os.killpg(reader.pid, signal.SIGKILL)
        reader.wait()
    assert time.monotonic() - started > 2.0  # it was starved past its limit in wall time
    assert not out.startswith("TimeoutError") and "dashboard 13" in out, out


class _Spinning:
    """An engine whose read never ends on its own: it uses a core (``spin``) or sleeps, as a picture that
    makes Tesseract's layout run on would; it notes the process it runs in."""

    def __init__(self, mark: Path, spin: bool) -> None:
        self.mark = mark
        self.spin = spin

    def SetImageBytes(self, data: bytes, width: int, height: int, depth: int, line: int) -> None:
        # tesserocr's names (ocr._set_image)
        self.mark.write_text(str(os.getpid()))

    def SetSourceResolution(self, dpi: int) -> None:
        pass

    def AnalyseLayout(self) -> None:
        return None  # no text line found: the picture is read at its own size (ocr._sized_for_text)

    def Recognize(self, timeout: int) -> bool:
        stop = self.mark.with_suffix(".stop")
        while not stop.exists():  # the test's end releases a read left running (before: a thread)
            if not self.spin:
                time.sleep(0.05)
        return False

    def Clear(self) -> None:
        pass


def _read_with(engine: _Spinning, monkeypatch: pytest.MonkeyPatch, settings: ExtractSettings) -> None:
    monkeypatch.setattr(ocr, "_api", lambda languages: engine)
    monkeypatch.setattr(ocr, "_READER", cpu_limited.Helper())
    try:
        ocr.read_lines(Image.new("RGB", (400, 300), "white"), ocr.OcrEngine("eng"), settings)
    finally:
        time.sleep(0.1)
        reader = int(engine.mark.read_text())
        alive = psutil.pid_exists(reader) and psutil.Process(reader).status() != psutil.STATUS_ZOMBIE
        engine.mark.with_suffix(".stop").write_text("")
        assert not alive, "the stopped read is still running"
        assert reader != os.getpid()


def test_a_spinning_read_is_stopped_at_its_cpu_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: stopped at 0.3 s of wall time, and left running in a thread of the worker (Tesseract cannot
    # be stopped in its layout), using the CPU the document's time is counted in.
    engine = _Spinning(tmp_path / "read", spin=True)
    # About the CPU limit, not the wall backstop: under load (21 on 2 cores, nice 10) the spinning helper
    # got 0.2 CPU-s in 3 s and the 10x backstop stopped it first.
    monkeypatch.setattr(deadline, "WALL_FACTOR", 1000)
    with pytest.raises(
        TimeoutError, match=r"^OCR stopped after 0\.3 s of CPU time \(extract\.ocr_timeout_s\)$"
    ):
        _read_with(engine, monkeypatch, ExtractSettings(workers=1, ocr_timeout_s=0.3))


def test_a_read_that_gets_no_cpu_is_stopped_by_the_wall_backstop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A read that waits, or is stopped, uses no CPU: it ends at WALL_FACTOR times its limit, and says so.
    engine = _Spinning(tmp_path / "read", spin=False)
    limit = 0.1
    backstop = f"{deadline.WALL_FACTOR * limit:g} s of wall time \\({deadline.WALL_FACTOR} times extract"
    with pytest.raises(TimeoutError, match=f"^OCR stopped after {backstop}"):
        _read_with(engine, monkeypatch, ExtractSettings(workers=1, ocr_timeout_s=limit))


def test_the_documents_deadline_counts_the_cpu_of_its_children() -> None:
    # OCR reads run in a child process now; before, the deadline counted this process's CPU only, and a
    # document's reads were no longer held to its share of extract.doc_timeout_s.
    until = deadline.Deadline.after(0.3, 600)
    burn = "import time\nstart = time.process_time()\nwhile time.process_time() - start < 0.5: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    assert until.passed()


def test_a_helper_answers_on_a_descriptor_past_1024() -> None:
    # A process holding many files (the service) gets pipes numbered 1024 and up, which select() refuses
    # ("filedescriptor out of range in select()"): every read of such a process failed.
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip("this process may not open 1,100 files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1030)]
    try:
        helper = cpu_limited.Helper()
        assert helper.call(os.getpid, (), 5.0, 50.0) != os.getpid()
        helper.stop()
    finally:
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


REAPED_CHILD = """
import subprocess, sys, time
spin = "import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass"
subprocess.run([sys.executable, "-c", spin], check=True)  # ended and reaped: in this process's children times
print("reaped", flush=True)
time.sleep(30)
"""


def test_tree_cpu_seconds_counts_the_children_that_ended() -> None:
    """``tree_cpu_seconds`` (LibreOffice's limit, the extraction worker's clock) counts the CPU of a process
    tree's descendants that already ended and were reaped (their parent's ``children_*`` times), not only
    the live ones': a LibreOffice that starts a short-lived converter used CPU the budget must see."""
    proc = subprocess.Popen(
        [sys.executable, "-c", REAPED_CHILD], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "reaped"
        own = cpu_limited.process_cpu_seconds(psutil.Process(proc.pid))
        assert cpu_limited.descendants(proc.pid) == []
        assert cpu_limited.tree_cpu_seconds(psutil.Process(proc.pid)) >= own + 0.45
    finally:
        proc.kill()
        proc.wait(5)


LIVE_CHILD = """
import subprocess, sys, time
spin = "import time\\nend = time.process_time() + 0.5\\nwhile time.process_time() < end: pass\\n"
spin += "print('spun', flush=True)\\ntime.sleep(30)"
child = subprocess.Popen([sys.executable, "-c", spin], stdout=subprocess.PIPE, text=True)
child.stdout.readline()  # alive, never reaped: in no children times, only in its own
print(child.pid, flush=True)
time.sleep(30)
"""


def test_tree_cpu_seconds_counts_the_children_still_running() -> None:
    """The other half: a live descendant's CPU (a LibreOffice still converting, a reader never stopped) is
    its own, not yet in its parent's ``children_*`` times, and ``tree_cpu_seconds`` counts it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", LIVE_CHILD], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert proc.stdout is not None
        child = int(proc.stdout.readline())
        own = cpu_limited.process_cpu_seconds(psutil.Process(proc.pid))
        assert cpu_limited.descendants(proc.pid) == [child]
        assert cpu_limited.tree_cpu_seconds(psutil.Process(proc.pid)) >= own + 0.45
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
