"""Second stage of search: rerank recalled hits with the Qwen-VL reranker.

Retrieval knows the reranker only through this duck type (``score_timed``/``explain``), so it needs no torch
import of its own. A hit whose image cannot be read is not dropped and does not fail the search: it goes
after every scored hit, with ``rerank_score`` None and ``score`` 0.0, and a warning names it.
"""

from __future__ import annotations

import io
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from PIL import Image

from figvault.cores import usable_cores
from figvault.encoders.reranker import RerankItem
from figvault.search_models import SearchHit
from figvault.storage import BlobStore

log = logging.getLogger(__name__)

IMAGE_WORKERS = 8


class Reranker(Protocol):
    model_id: str

    def score_timed(self, query: str, items: list[RerankItem]) -> tuple[list[float], dict[str, float]]: ...

    def explain(self, query: str, items: list[RerankItem], max_new_tokens: int = 24) -> list[str]: ...


def load_hit_image(blobs: BlobStore, key: str) -> Image.Image:
    """The unit image behind ``key``, decoded now (so a broken file fails here, not inside the model)."""
    with Image.open(io.BytesIO(blobs.get(key))) as image:
        image.load()
        return image.convert("RGB")


def _load_one(blobs: BlobStore, hit: SearchHit) -> Image.Image | None:
    try:
        return load_hit_image(blobs, hit.image)
    except (KeyError, OSError, ValueError, Image.DecompressionBombError) as err:
        log.warning("rerank: image of unit %s unreadable (%s); ranked last", hit.unit_id, err)
        return None


def _load_images(blobs: BlobStore, hits: list[SearchHit]) -> list[Image.Image | None]:
    """Decode in threads: PNG decoding releases the GIL, and at 7-8 ms a figure it is a visible share of
    the stage (docs/reranker.md)."""
    workers = min(IMAGE_WORKERS, usable_cores(), len(hits))
    if workers <= 1:
        return [_load_one(blobs, hit) for hit in hits]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rerank-img") as pool:
        return list(pool.map(lambda hit: _load_one(blobs, hit), hits))


def rerank_hits(
    reranker: Reranker,
    query: str,
    hits: list[SearchHit],
    blobs: BlobStore,
    top_k: int,
    threshold: float,
    explain: bool,
    explain_max_new_tokens: int = 24,
    explain_max_hits: int = 10,
) -> tuple[list[SearchHit], bool, dict[str, float]]:
    """Score ``hits`` by P("yes"), order them by it, keep ``top_k``.

    Sets ``rerank_score`` and ``score`` (= rerank score) of each hit; with ``explain``, the ``explanation`` of
    each of the first ``explain_max_hits`` returned hits. Returns (hits, no_match, timings in ms).
    ``no_match`` is true when the best score is below ``threshold`` (or nothing could be scored).
    """
    started = time.perf_counter()
    items: list[RerankItem] = []
    scored: list[SearchHit] = []
    unreadable: list[SearchHit] = []
    for hit, image in zip(hits, _load_images(blobs, hits), strict=True):
        if image is None:
            unreadable.append(hit)
        else:
            items.append(RerankItem(image=image, caption=hit.caption, context=hit.context))
            scored.append(hit)
    loaded = time.perf_counter()

    scores, model_timings = reranker.score_timed(query, items) if items else ([], {})
    for hit, value in zip(scored, scores, strict=True):
        hit.rerank_score = value
        hit.score = value
    for hit in unreadable:
        hit.rerank_score = None
        hit.score = 0.0
    order = sorted(range(len(scored)), key=lambda i: scores[i], reverse=True)  # stable for equal scores
    ranked = [scored[i] for i in order] + unreadable
    kept = ranked[: max(0, top_k)]
    timings = {
        "rerank_load_images": (loaded - started) * 1000,
        **{f"rerank_{name}": ms for name, ms in model_timings.items()},
    }

    if explain:
        explain_started = time.perf_counter()
        to_explain = [(hit, items[i]) for hit, i in _positions(kept[:explain_max_hits], scored)]
        if to_explain:
            reasons = reranker.explain(query, [item for _, item in to_explain], explain_max_new_tokens)
            for (hit, _), reason in zip(to_explain, reasons, strict=True):
                hit.explanation = reason
        timings["rerank_explain"] = (time.perf_counter() - explain_started) * 1000

    best = max(scores, default=None)
    no_match = best is None or best < threshold
    timings["rerank"] = (time.perf_counter() - started) * 1000
    return kept, no_match, timings


def _positions(kept: list[SearchHit], scored: list[SearchHit]) -> list[tuple[SearchHit, int]]:
    """(hit, its index among the scored hits) for each kept hit that has an image."""
    position = {id(hit): i for i, hit in enumerate(scored)}
    return [(hit, position[id(hit)]) for hit in kept if id(hit) in position]
