"""``figvault status`` while another process holds the embedded store (an ingest running, a serve).

It ended with "error: the embedded store ... is in use by another process: stop the other figvault
process", which in the middle of an ingest is the wrong thing to do. It now shows what the registry knows
(documents by state, the running jobs) and says why the store's part is missing.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from figvault.cli import load_commands
from figvault.commands import app
from figvault.pipeline.jobs import JobStore, JobType
from figvault.settings import load_settings

load_commands()

HOLD = """
import sys, time
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import load_settings
store = MilvusUnitStore.from_settings(load_settings("offline", data_dir=sys.argv[1]))
print("holding", flush=True)
sys.stdin.read()  # until the test closes it
"""


def test_status_of_a_store_held_by_another_process_shows_the_registry(tmp_path: Path) -> None:
    settings = load_settings("offline", data_dir=tmp_path)
    jobs = JobStore.open(settings)
    job = jobs.create(JobType.INGEST, {"paths": ["/docs"]}, started_by="cli", tenant="default")
    jobs.claim(job.id, "elsewhere:1:1")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        base = ["--config", "offline", "--data-dir", str(tmp_path), "status"]
        text = CliRunner().invoke(app, base)
        shown = CliRunner().invoke(app, [*base, "--json"])
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(60)
    assert text.exit_code == 0, text.output
    assert "in use by another process" in text.output and "stop the other" not in text.output
    info = json.loads(shown.stdout)
    assert info["store_in_use"] is True
    assert info["jobs_running"] == [f"{job.id} ingest  0/0"]
