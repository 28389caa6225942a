"""Reranker settings reach the rerank stage: ``reranker.explain_max_new_tokens`` bounds each explanation."""

from __future__ import annotations

from typing import Any

import pytest

from figvault.retrieval import rerank_stage
from figvault.retrieval.search import SearchEngine
from figvault.search_models import SearchRequest
from figvault.settings import Settings


def test_explain_max_new_tokens_is_passed_to_the_rerank_stage(
    offline_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from figvault.encoders import reranker as reranker_module

    offline_settings.reranker.explain_max_new_tokens = 7
    asked: dict[str, Any] = {}

    def recording(*args: Any, **kwargs: Any) -> Any:
        asked.update(kwargs)
        return real(*args, **kwargs)  # no hits: nothing is scored or explained

    real = rerank_stage.rerank_hits
    monkeypatch.setattr(rerank_stage, "rerank_hits", recording)
    monkeypatch.setattr(reranker_module, "load_reranker", lambda _settings: None)  # no weights here
    engine = SearchEngine.from_settings(offline_settings)
    engine._rerank(SearchRequest(query="revenue", explain=True), [], 1)
    assert asked["explain_max_new_tokens"] == 7
