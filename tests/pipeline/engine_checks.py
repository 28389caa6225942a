"""What two engines must agree on: the stored rows, unit for unit (shared by the runner and Ray tests); and
a Ray that cannot be reached."""

from __future__ import annotations

from typing import Any

import numpy as np

from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.retrieval.schema import F_META, F_PAGE_TEXT, OUTPUT_FIELDS
from figvault.settings import Settings

VECTORS = ("clip", "text")
COMPARED = [f for f in OUTPUT_FIELDS if f != F_META] + [F_PAGE_TEXT]
"""Every stored field but ``meta`` (it holds the time the unit was stored)."""


def stored_rows(settings: Settings, tenant: str = "acme") -> dict[str, dict[str, Any]]:
    """unit id -> its stored row (the compared fields and the dense vectors)."""
    store = MilvusUnitStore.from_settings(settings)
    collection = store.served_collection()
    assert collection is not None
    rows = store.get_rows(collection, f'tenant == "{tenant}"', fields=[*COMPARED, *VECTORS])
    return {row["unit_id"]: row for row in rows}


def assert_same_rows(ours: dict[str, dict[str, Any]], theirs: dict[str, dict[str, Any]]) -> None:
    assert ours.keys() == theirs.keys()
    for unit_id, row in ours.items():
        other = theirs[unit_id]
        assert {f: row.get(f) for f in COMPARED} == {f: other.get(f) for f in COMPARED}, unit_id
        for channel in VECTORS:  # batched with other documents: the same vectors, to float noise
            np.testing.assert_allclose(row[channel], other[channel], atol=1e-5)


class UnreachableRay:
    """A ``ray`` whose client cannot connect: what Ray 2.60's client raises when the head's client port is
    not reachable or the cluster wants a token the driver does not send."""

    def is_initialized(self) -> bool:
        return False

    def init(self, **kwargs: object) -> None:
        raise ConnectionError("ray client connection timeout")


RAY_MISMATCH = """Version mismatch: The cluster was started with:
    Ray: 2.59.0
    Python: 3.10.12
This process on Ray Client was started with:
    Ray: 2.60.0
    Python: 3.11.2
"""
"""Ray 2.60's text (``ray._private.utils.check_version_info``) when the driver's versions differ."""


class MismatchedRay(UnreachableRay):
    """A ``ray`` whose client reaches a cluster of another Ray version: Ray raises a RuntimeError."""

    def init(self, **kwargs: object) -> None:
        raise RuntimeError(RAY_MISMATCH)
