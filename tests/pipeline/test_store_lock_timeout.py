"""The store write lock with a time limit (what a regroup waits for): granted when free or shared with
shared holders, StoreBusyError when a writer holds it past the limit. Both registry back ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from figvault.pipeline.store_lock import StoreBusyError, store_write_lock
from figvault.settings import Settings, load_settings


@pytest.fixture
def settings(tmp_path: Path, registry_url: str) -> Settings:
    settings = load_settings("offline", data_dir=tmp_path / "data")
    settings.registry.url = registry_url
    return settings


def test_a_limited_wait_ends_in_a_clear_error(settings: Settings) -> None:
    busy = "the store is busy: an ingest or re-encode is writing"
    with store_write_lock(settings, exclusive=False):  # an ingest batch is writing
        with store_write_lock(settings, exclusive=False, timeout_s=5):
            pass  # another ingest may write beside it
        with (
            pytest.raises(StoreBusyError, match=busy),
            store_write_lock(settings, exclusive=True, timeout_s=0.3),
        ):
            pytest.fail("granted while a shared holder writes")
    with (
        store_write_lock(settings, exclusive=True, timeout_s=5),
        pytest.raises(StoreBusyError, match=busy),
        store_write_lock(settings, exclusive=False, timeout_s=0.3),
    ):
        pytest.fail("granted while an exclusive holder writes")
