"""A job that fills the disk ends ``failed`` in the process that hit it, with the disk-full reason.

On a full data folder the job's end record (the registry, SQLite in the same folder) failed too, so the job
stayed ``running`` until a ``figvault serve`` on the folder requeued it as an orphan; the command line said
it "may still be listed as running". Now the data folder keeps a 1 MiB reserve (``pipeline/disk_reserve.py``)
that the job gives back to record its end. Each case runs in a child process with a small tmpfs of its own
(a private mount namespace: nothing is mounted for the rest of the machine; needs root, as CI runs).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PRELUDE = r"""
import json, subprocess, sys
from pathlib import Path

data = Path(sys.argv[1])
subprocess.run(["mount", "-t", "tmpfs", "-o", sys.argv[2], "tmpfs", str(data)], check=True)

from figvault.pipeline import disk_reserve, jobs
from figvault.settings import load_settings


def fill_disk():
    with open(data / "filler", "wb") as out:  # another program fills the disk
        try:
            while True:
                out.write(b"\xff" * 65536)
                out.flush()
        except OSError:
            pass
"""
"""What each case's script starts with: the data folder (argv[1]) mounted as a tmpfs with the options of
argv[2], figvault's modules, and ``fill_disk``."""

SCRIPT = (
    PRELUDE
    + r"""
settings = load_settings("offline", data_dir=data)
store = jobs.JobStore.open(settings)
# A job before the disk filled (a trivial re-encode: no models).
jobs.HANDLERS[jobs.JobType.REENCODE] = lambda: lambda ctx: {}
earlier = store.create(jobs.JobType.REENCODE, {}, started_by="cli", tenant="*")
assert jobs.run_here(settings, earlier).state == "succeeded"
job = store.create(jobs.JobType.INGEST, json.loads(sys.argv[3]), started_by="cli", tenant="default")
claimed = store.claim(job.id, jobs.this_owner())
fill_disk()  # the ingest's next write fails
try:
    final = jobs.execute(jobs.JobContext(store, claimed, settings))
except Exception as exc:  # the end could not be recorded
    print(json.dumps({"raised": type(exc).__name__}))
else:
    end = {"state": final.state, "message": final.message, "phase": final.phase}
    print(json.dumps(end | {"detail": final.result.get("detail", "")}))
"""
)


def _in_private_mount(script: str, data: Path, *args: str) -> str:
    """``script`` run by this Python with ``data`` and ``args`` as its arguments, in a private mount
    namespace (its mounts never reach the rest of the machine); its last line of output. Skips where such a
    namespace cannot be made (not root, no unshare(1), or a sandbox without CAP_SYS_ADMIN)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and unshare(1) to mount a small tmpfs in a private mount namespace")
    unshare = ["unshare", "--mount", "--propagation", "private"]
    probe = subprocess.run([*unshare, "true"], capture_output=True, text=True, timeout=60, check=False)
    if probe.returncode != 0:
        pytest.skip(f"no private mount namespace here: {probe.stderr.strip()[:200]}")
    command = [*unshare, sys.executable, "-c", script, str(data), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def _run(tmp_path: Path, params: dict[str, object], size: str = "4m") -> dict[str, str]:
    data = tmp_path / "data"
    data.mkdir()
    return json.loads(_in_private_mount(SCRIPT, data, f"size={size}", json.dumps(params)))


def test_a_job_that_fills_the_disk_ends_failed_with_the_reason(tmp_path: Path) -> None:
    end = _run(tmp_path, {"paths": ["/nowhere"]})
    assert end.get("state") == "failed", end
    assert end["message"].startswith("stopped: the disk is full (free space where the data folder")
    assert "run it again" in end["message"] and end["phase"] != "awaiting retry"
    assert "No space left on device" in end["detail"] or "database or disk is full" in end["detail"]


def test_an_upload_stopped_by_a_full_disk_waits_for_a_retry(tmp_path: Path) -> None:
    upload = {"key": "jobs/0123456789ab/uploads/a.pdf", "name": "a.pdf"}  # the real ingest handler's own
    end = _run(tmp_path, {"uploads": [upload]})
    assert end.get("state") == "failed", end
    assert end["phase"] == "awaiting retry"
    assert "/retry" in end["message"]


READ_ONLY = (
    PRELUDE
    + r"""
print(disk_reserve.ensure(load_settings("offline", data_dir=data)))
"""
)


def test_a_read_only_data_folder_gets_no_reserve_and_no_error(tmp_path: Path) -> None:
    """``ensure`` runs before every job: where the reserve cannot be made it answers False. Before
    2026-12-05 a read-only mount raised from its clean-up (Linux refuses to unlink even a missing file
    there: EROFS), out of ``jobs.execute``, which must not raise."""
    data = tmp_path / "data"
    data.mkdir()
    assert _in_private_mount(READ_ONLY, data, "size=1m,ro") == "False"


SUCCEEDS = (
    PRELUDE
    + r"""
def fill_then_succeed(ctx):
    fill_disk()  # while the job runs
    return {"summary": "done"}


settings = load_settings("offline", data_dir=data)
store = jobs.JobStore.open(settings)
jobs.HANDLERS[jobs.JobType.REENCODE] = lambda: fill_then_succeed
job = store.create(jobs.JobType.REENCODE, {}, started_by="cli", tenant="*")
claimed = store.claim(job.id, jobs.this_owner())
try:
    print(jobs.execute(jobs.JobContext(store, claimed, settings)).state)
except Exception as exc:  # the end could not be recorded
    print("raised " + type(exc).__name__)
"""
)


def test_a_job_that_succeeds_on_a_disk_filled_under_it_records_its_end(tmp_path: Path) -> None:
    """The disk filled by someone else while the job ran; its handler wrote nothing more and succeeded.
    Before 2026-12-05 only a failure gave the reserve back: the success record raised (OperationalError,
    database or disk is full) and the job stayed ``running``."""
    data = tmp_path / "data"
    data.mkdir()
    assert _in_private_mount(SUCCEEDS, data, "size=4m") == "succeeded"
