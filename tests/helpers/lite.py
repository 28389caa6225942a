"""Milvus Lite in tests: handing a data folder's embedded store over to another process or a copy."""

from __future__ import annotations

from figvault.retrieval import milvus_store
from figvault.settings import Settings


def release_lite_store(settings: Settings) -> None:
    """Let another process open the embedded store, or its folder be copied whole: Milvus Lite serves a
    folder from one process only, and this process's client keeps it open (and its files changing)."""
    from milvus_lite.server_manager import server_manager_instance

    path = str(milvus_store.lite_path(settings))
    for key in [k for k in milvus_store._clients if k.startswith(path)]:
        milvus_store._clients.pop(key).close()
    server_manager_instance.release_server(path)
