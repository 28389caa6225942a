"""``/metrics`` (docs/service.md, "Metrics"; closed by default, open where the operator chooses): its labels
are route templates, standard methods, status codes and search steps, never ids, names, tenants or groups,
and no client sets how many label values there are."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from figvault.service.metrics import MetricsMiddleware, ServiceMetrics

LABELS = re.compile(r'(\w+)="([^"]*)"')


def _client() -> tuple[TestClient, ServiceMetrics]:
    metrics = ServiceMetrics()
    app = FastAPI()

    @app.get("/v1/documents/{doc_id}")
    def document(doc_id: str) -> dict[str, str]:
        return {"doc_id": doc_id}

    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return TestClient(app), metrics


def test_labels_hold_no_names_and_methods_are_bounded() -> None:
    """A client's made-up request methods each became a label value: unbounded series held in memory
    (and text anyone may write into an open /metrics). They now share ``other``."""
    client, metrics = _client()
    client.get("/v1/documents/acme-secret-plan.pdf")
    client.get("/tenant-globex/group-finance")
    for n in range(40):
        client.request(f"LEAK{n}", "/v1/documents/acme-secret-plan.pdf")
    values: dict[str, set[str]] = {}
    for line in metrics.render().decode().splitlines():
        if line.startswith("figvault_http_requests_total{"):
            for name, value in LABELS.findall(line):
                values.setdefault(name, set()).add(value)
    assert set(values) == {"method", "route", "status"}
    assert values["method"] == {"GET", "other"}, values["method"]
    assert values["route"] == {"/v1/documents/{doc_id}", "unmatched"}, values["route"]
    text = metrics.render().decode()
    assert "acme" not in text and "globex" not in text and "finance" not in text
