"""No gRPC "too_many_pings" chatter from Milvus Lite's channel.

pymilvus pinged Lite every 10 s; Lite's server allows one ping per 5 minutes while it sends nothing, so an
idle half minute (a long extraction between writes, an idle `serve`) ended in GOAWAY and the gRPC core
printed `E... Received a GOAWAY with error code ENHANCE_YOUR_CALM and debug data equal to "too_many_pings"`
on stderr (seen after 30 s idle before the fix; `retrieval/milvus_store.py` `LITE_CHANNEL_OPTIONS`).
About 45 s: the chatter needs the idle time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

IDLE_S = 40

SCRIPT = f"""
import sys, time
from figvault.retrieval.milvus_store import _client_for
client = _client_for(sys.argv[1], "")
client.create_collection("c", dimension=4)
time.sleep({IDLE_S})
assert client.list_collections() == ["c"]
print("ok")
"""


def test_an_idle_lite_channel_is_not_sent_away(tmp_path: Path) -> None:
    env = os.environ | {"GRPC_VERBOSITY": "ERROR"}  # gRPC's own default: what a library user sees
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "milvus.db")],
        env=env,
        capture_output=True,
        text=True,
        timeout=IDLE_S + 240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
    grpc_errors = [line for line in done.stderr.splitlines() if re.match(r"[EW]\d{4} ", line)]
    assert grpc_errors == []
