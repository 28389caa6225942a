"""How many CPU cores this process may use: the one definition every default worker/thread count starts from.

``os.cpu_count()`` counts the host's cores. In a container started with a CPU limit (``docker run --cpus 2``,
a Kubernetes ``limits.cpu``) or a process pinned with ``taskset``, that over-counts: figvault would start one
extraction worker a host core (each up to ``extract.memory_mb``) and fight over the few cores it has. So:
the cores in the process's affinity mask, lowered to the cgroup's CPU quota rounded up, at least 1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def usable_cores() -> int:
    """Cores this process may run on: affinity mask, then the cgroup CPU quota (v2 or v1), at least 1."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = cgroup_cpu_quota(CGROUP_ROOT)
    if quota is not None:
        cores = min(cores, quota)
    return max(1, cores)


def cgroup_cpu_quota(root: Path) -> int | None:
    """The cgroup's CPU limit in whole cores (rounded up), or None where there is none or it cannot be read.

    cgroup v2 writes ``<quota> <period>`` or ``max <period>`` to ``cpu.max``; v1 has ``cpu.cfs_quota_us``
    (-1: no limit) and ``cpu.cfs_period_us``. Inside a container the process's own cgroup is mounted at the
    root (a private cgroup namespace, Docker's and Kubernetes' default)."""
    try:
        v2 = root / "cpu.max"
        if v2.is_file():
            quota_text, period_text = v2.read_text().split()[:2]
            return None if quota_text == "max" else _whole_cores(int(quota_text), int(period_text))
        v1 = root / "cpu"
        if (v1 / "cpu.cfs_quota_us").is_file():
            quota = int((v1 / "cpu.cfs_quota_us").read_text())
            return None if quota < 0 else _whole_cores(quota, int((v1 / "cpu.cfs_period_us").read_text()))
    except (OSError, ValueError):
        return None
    return None


def _whole_cores(quota_us: int, period_us: int) -> int | None:
    if quota_us <= 0 or period_us <= 0:
        return None
    return max(1, math.ceil(quota_us / period_us))
