"""No gRPC "too_many_pings" chatter from Milvus Lite's channel.

pymilvus pinged Lite every 10 s; Lite's server allows one ping per 5 minutes while it sends nothing, so an
idle half minute (a long extraction between writes, an idle `serve`) ended in GOAWAY and the gRPC core
printed `E... Received a GOAWAY with error code ENHANCE_YOUR_CALM and debug data equal to "too_many_pings"`
on stderr (seen after 30 s idle before the fix; `retrieval/milvus_store.py` `LITE_CHANNEL_OPTIONS`).
The child sends pymilvus's pings every second instead of every 10 s, so the idle that drew the GOAWAY is
6 s, not 40 (it drew it at 12:55 UTC 2026-12-05 with the options left out, load 12).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

IDLE_S = 6

SCRIPT = f"""
import sys, time
import grpc

plain = grpc.insecure_channel

def every_second(target, options=None, *args, **kwargs):
    # pymilvus's keepalive pings (10 s) each second; gRPC's "never" (2**31 - 1 ms) is left as it is
    sped = [(k, 1000 if k == "grpc.keepalive_time_ms" and v < 600_000 else v) for k, v in options or []]
    return plain(target, sped, *args, **kwargs)

grpc.insecure_channel = every_second
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
