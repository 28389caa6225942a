"""The usable cores: affinity lowered to a container's CPU quota (figvault/cores.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from figvault import cores


def _cgroup_v2(root: Path, text: str) -> Path:
    (root / "cpu.max").write_text(text)
    return root


def _cgroup_v1(root: Path, quota: str, period: str = "100000") -> Path:
    (root / "cpu").mkdir()
    (root / "cpu" / "cpu.cfs_quota_us").write_text(quota)
    (root / "cpu" / "cpu.cfs_period_us").write_text(period)
    return root


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("200000 100000\n", 2),
        ("150000 100000\n", 2),
        ("50000 100000\n", 1),
        ("max 100000\n", None),
        ("junk", None),
    ],
)
def test_cgroup_v2_quota_in_whole_cores(tmp_path: Path, text: str, expected: int | None) -> None:
    assert cores.cgroup_cpu_quota(_cgroup_v2(tmp_path, text)) == expected


@pytest.mark.parametrize(("quota", "expected"), [("400000", 4), ("-1", None), ("250000", 3)])
def test_cgroup_v1_quota_in_whole_cores(tmp_path: Path, quota: str, expected: int | None) -> None:
    assert cores.cgroup_cpu_quota(_cgroup_v1(tmp_path, quota)) == expected


def test_no_cgroup_files_is_no_limit(tmp_path: Path) -> None:
    assert cores.cgroup_cpu_quota(tmp_path) is None


def test_a_container_quota_lowers_the_host_cores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``docker run --cpus 2`` on a 16-core host: 2, where os.cpu_count() says 16."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(cores, "CGROUP_ROOT", _cgroup_v2(tmp_path, "200000 100000\n"))
    assert cores.usable_cores() == 2


def test_affinity_below_the_quota_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {3}, raising=False)
    monkeypatch.setattr(cores, "CGROUP_ROOT", _cgroup_v2(tmp_path, "800000 100000\n"))
    assert cores.usable_cores() == 1


def test_extraction_workers_default_to_the_usable_cores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default worker count of a job follows the quota, not the host (pipeline/runner.py)."""
    from figvault.pipeline import runner
    from figvault.settings import Settings

    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(cores, "CGROUP_ROOT", _cgroup_v2(tmp_path, "200000 100000\n"))
    settings = Settings(data_dir=tmp_path / "data")
    assert settings.extract.workers == 0
    assert runner.extract_workers(settings, documents=50) == 2
