"""Unauthenticated ``/readyz`` says ready or not with fixed reasons: no store error text (it may carry an
internal address). The details go to the server log; the served collection's name stays (a stable field)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from figvault.service.api.routes.health import router
from figvault.settings import Settings


class _UnreachableStore:
    """An engine whose encoders are warm but whose store is down, and whose alias names a collection."""

    def encoders_loaded(self) -> bool:
        return True

    def count(self, principal: Any) -> int:
        raise ConnectionError("cannot reach milvus at 10.1.2.3:19530\nretrying")

    def served(self) -> list[str]:
        return ["figvault_units_tenant_secret"]


def _client(engine: Any) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.state.settings = Settings()
    app.state.engine = engine
    return TestClient(app)


def test_readyz_hides_store_error_keeps_collection(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="figvault.service"):
        answer = _client(_UnreachableStore()).get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["store"] == "store unreachable"
    assert "10.1.2.3" not in answer.text and "retrying" not in answer.text
    assert answer.json()["checks"]["collection"] == "figvault_units_tenant_secret"  # stable field, kept
    assert "10.1.2.3:19530" in caplog.text  # the operator still learns why
