"""Near-duplicate collapsing (retrieval/duplicates.py): which pairs are one figure, which member is the
original, and that collapsing changes only how many slots a caller's figures take."""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw

from figvault.phash import hash_distance, perceptual_hash
from figvault.retrieval.duplicates import PHASH_MAX_BITS, Signature, _hash_distance, collapse, same_figure
from figvault.retrieval.schema import CREATED_UNKNOWN
from figvault.search_models import SearchHit


def chart_png(values: list[int], size: tuple[int, int] = (400, 300)) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    w, h = size
    bar = w // (len(values) * 2)
    for i, v in enumerate(values):
        x = bar // 2 + i * 2 * bar
        draw.rectangle([x, h - 20 - v * (h - 40) // 100, x + bar, h - 20], fill=(40, 90, 200))
    draw.line([10, h - 20, w - 10, h - 20], fill="black", width=2)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def hit(uid: str, doc: str = "d.pdf", page: int = 1, score: float = 1.0) -> SearchHit:
    return SearchHit(
        unit_id=uid, doc_id=doc, doc=doc, page=page, page_size=(600, 800), bbox=(0, 0, 100, 100),
        kind="raster", label=None, caption="", image="", score=score, fused_score=score,
    )  # fmt: skip


def sig(phash: str = "", created: int = CREATED_UNKNOWN, indexed: str = "", size=(400, 300), vector=None):
    return Signature(phash, size[0], size[1], vector, created, indexed)


def test_the_same_chart_rerendered_is_one_figure_another_chart_is_not() -> None:
    base = perceptual_hash(chart_png([30, 80, 55, 20]))
    with Image.open(io.BytesIO(chart_png([30, 80, 55, 20]))) as image:  # the same picture, twice the size
        bigger = perceptual_hash(image.resize((800, 600), Image.Resampling.LANCZOS))
    other_data = perceptual_hash(chart_png([70, 25, 40, 90]))  # one template, other numbers
    assert hash_distance(base, bigger) <= PHASH_MAX_BITS
    assert hash_distance(base, other_data) > PHASH_MAX_BITS
    assert same_figure(sig(base), sig(bigger, size=(800, 600)), image_vectors=False)
    assert not same_figure(sig(base), sig(other_data), image_vectors=False)
    # The same hash on a very different shape is not the same figure (the hash squashes to a square).
    assert not same_figure(sig(base), sig(base, size=(300, 400)), image_vectors=False)


def test_without_hashes_vectors_and_size_decide() -> None:
    v = np.ones(4, dtype=np.float32) / 2
    assert same_figure(sig(vector=v), sig(vector=v), image_vectors=False)
    assert not same_figure(sig(vector=v), sig(vector=v, size=(400, 200)), image_vectors=False)
    w = np.asarray([0.9, 0.1, 0.3, 0.3], dtype=np.float32)
    w /= np.linalg.norm(w)
    assert not same_figure(sig(vector=v), sig(vector=w), image_vectors=True)
    assert not same_figure(sig(), sig(), image_vectors=False)  # nothing to compare: never merged


def test_the_original_is_the_earliest_document_then_the_earliest_ingest() -> None:
    h = perceptual_hash(chart_png([10, 20, 30]))
    hits = [hit("deck", "deck.pptx", score=0.9), hit("paper", "paper.pdf", score=0.8), hit("x", score=0.5)]
    signatures = {
        "deck": sig(h, created=19000),
        "paper": sig(h, created=16000),  # older document: the original, though ranked lower
        "x": sig(perceptual_hash(chart_png([90, 5, 60]))),
    }
    out = collapse(hits, signatures, image_vectors=False)
    assert [o.unit_id for o in out] == ["paper", "x"]
    assert [(r.unit_id, r.doc, r.score) for r in out[0].also_in] == [("deck", "deck.pptx", 0.9)]
    # No dates: the earlier ingest is the original; a dated document still comes first.
    undated = {"deck": sig(h, indexed="2026-01-02T00:00:00"), "paper": sig(h, indexed="2026-03-01T00:00:00")}
    assert collapse(hits[:2], undated, image_vectors=False)[0].unit_id == "deck"
    undated["paper"] = sig(h, created=5, indexed="2026-03-01T00:00:00")
    assert collapse(hits[:2], undated, image_vectors=False)[0].unit_id == "paper"


def test_collapsing_keeps_every_figure_and_only_saves_slots() -> None:
    """Random lists with planted copies: every unit of the first k hits is in the first k groups (as a hit
    or a copy), nothing else appears, groups never chain, and each unit shows up once."""
    rng = random.Random(7)
    pictures = [perceptual_hash(chart_png([rng.randint(5, 95) for _ in range(5)])) for _ in range(12)]
    for _ in range(40):
        n, k = rng.randint(1, 30), rng.randint(1, 12)
        hits = [
            hit(f"u{i}", f"doc{rng.randint(0, 4)}.pdf", rng.randint(1, 9), 1.0 - i / 100) for i in range(n)
        ]
        signatures = {h.unit_id: sig(rng.choice(pictures), created=rng.randint(0, 3)) for h in hits}
        groups = collapse(hits, signatures, image_vectors=False)
        shown = [g.unit_id for g in groups] + [r.unit_id for g in groups for r in g.also_in]
        assert sorted(shown) == sorted(h.unit_id for h in hits)  # each exactly once, nothing new
        top = {g.unit_id for g in groups[:k]} | {r.unit_id for g in groups[:k] for r in g.also_in}
        assert {h.unit_id for h in hits[:k]} <= top
        for g in groups:
            for r in g.also_in:
                assert signatures[r.unit_id].phash == signatures[g.unit_id].phash


def test_parsed_hashes_give_phash_distance_exactly() -> None:
    """Grouping compares hashes parsed once per candidate: the same distance as ``phash.hash_distance`` on
    the strings, for equal and unequal hashes, missing ones, other lengths and text that is not hex."""
    rng = random.Random(4)
    base = [f"{rng.getrandbits(256):064x}" for _ in range(6)]
    near = [h[:60] + f"{int(h[60:], 16) ^ rng.getrandbits(12):04x}" for h in base]
    odd = ["", "abc", "zz" * 32, base[0][:62], " " + base[1][1:], "0" * 64]
    hashes = base + near + odd
    for a in hashes:
        for b in hashes:
            assert _hash_distance(sig(a), sig(b)) == hash_distance(a, b), (a, b)
