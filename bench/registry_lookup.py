"""The API-key row lookup every authenticated request makes on the event loop, interleaved in one run:
the sqlite3 query of the registry before SQLAlchemy vs ``figvault.pipeline.users.find_by_key_id`` (both
build the ``UserRecord``). Prints a table and the load average before and after.

    .venv/bin/python bench/registry_lookup.py [--rounds 20] [--per-round 300]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from figvault.access import Role
from figvault.db import open_database, sqlite_url
from figvault.pipeline import users

COLUMNS = "name, key_id, key_hash, role, groups_json, tenant, created_at, revoked_at"
OLD_QUERY = f"SELECT {COLUMNS} FROM users WHERE key_id = ?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--per-round", type=int, default=300)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="figvault-bench-"))
    path = folder / "registry.sqlite3"
    db = open_database(sqlite_url(path))
    record, _ = users.add_user(db, "ana", Role.READER, ["g"], "t")
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def old() -> object:
        name, key_id, key_hash, role, groups, tenant, created, revoked = raw.execute(
            OLD_QUERY, (record.key_id,)
        ).fetchone()
        user = users.UserRecord(
            name=name,
            role=Role(role),
            groups=json.loads(groups),
            tenant=tenant,
            key_id=key_id,
            created_at=created,
            revoked_at=revoked,
        )
        return user, key_hash

    def new() -> object:
        return users.find_by_key_id(db, record.key_id)

    variants = {"sqlite3 (before)": old, "figvault.db (after)": new}
    for fn in variants.values():
        for _ in range(200):
            fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    load_before = os.getloadavg()
    for _ in range(args.rounds):
        for name, fn in variants.items():
            started = time.perf_counter()
            for _ in range(args.per_round):
                fn()
            times[name].append((time.perf_counter() - started) / args.per_round * 1e6)
    load_after = os.getloadavg()
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f} (1 min)")
    print("| lookup | median µs | min µs |\n| --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.1f} | {min(values):.1f} |")


if __name__ == "__main__":
    main()
