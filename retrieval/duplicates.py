"""Near-duplicate figures in one result list: the same picture in several places (a chart reused across
decks, a report's v1 and v2, a repeated slide) becomes one hit whose ``also_in`` lists the other places.

Two candidates are the same figure when

- both have a perceptual hash (``figvault/phash.py``, stored at ingest): at most ``PHASH_MAX_BITS`` of its
  256 bits differ and their shapes (width / height) agree within ``ASPECT_TOLERANCE``;
- else (a collection written before hashes were stored, until its re-encode): their image vectors (CLIP)
  agree to ``IMAGE_COSINE``, or, without an image channel, their text vectors agree to ``TEXT_COSINE``; in
  both cases their pixel sizes agree within ``SIZE_TOLERANCE`` (a page's two uncaptioned figures share
  their text input, not their size).

The thresholds come from the corpus (docs/retrieval.md, "Near-duplicates"): copies of one rendering differ
in 0 to 8 hash bits, charts drawn from one template with other data in 12 or more.

Groups form in rank order: a candidate joins the first group whose leader (its best-ranked member) it
matches, so groups never chain (A like B and B like C do not join A and C). A group keeps the rank of its
leader; the hit shown is its **original**: the member whose document states the earliest creation date;
members whose documents state none come after dated ones, ordered by when they were ingested; then by
document name, page and position. Every member came out of the caller's own filtered search, so
``also_in`` never names a unit the caller may not see, and collapsing changes only how many slots the
caller's figures take.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from figvault.retrieval.schema import (
    CREATED_UNKNOWN,
    F_HEIGHT,
    F_ID,
    F_META,
    F_PHASH,
    F_WIDTH,
    created_day,
)
from figvault.search_models import DuplicateRef, SearchHit

PHASH_MAX_BITS = 8
"""Of 256: copies of one rendering measured 0-8 apart; one template with other data 12-40, and the three
versions of one diagram that differ in a few boxes (a deliberate trap of the corpus) 10."""
ASPECT_TOLERANCE = 0.05
IMAGE_COSINE = 0.97
TEXT_COSINE = 0.995
SIZE_TOLERANCE = 0.02


@dataclass(frozen=True)
class Signature:
    """What the duplicate test reads from one stored row."""

    phash: str
    width: int
    height: int
    vector: np.ndarray | None
    """The fallback channel's vector, normalised (None when it was not fetched)."""
    created: int
    """Days since 1970 of the document's stated creation; ``CREATED_UNKNOWN`` when it states none."""
    indexed_at: str

    @classmethod
    def of_row(cls, row: dict[str, Any], vector_field: str | None = None) -> Signature:
        meta = row.get(F_META) or {}
        vector = None
        if vector_field is not None and row.get(vector_field) is not None:
            v = np.asarray(row[vector_field], dtype=np.float32)
            norm = float(np.linalg.norm(v))
            vector = v / norm if norm > 0 else v
        return cls(
            phash=row.get(F_PHASH) or "",
            width=int(row.get(F_WIDTH) or 0),
            height=int(row.get(F_HEIGHT) or 0),
            vector=vector,
            created=created_day(meta.get("created")),
            indexed_at=meta.get("indexed_at") or "",
        )

    phash_bits: int | None = field(init=False, repr=False, compare=False)
    """The hash as a number, parsed once per candidate instead of once per comparison (grouping 50
    candidates compares each with every group leader); None when there is none or it is not hex. Set
    here, not a functools.cached_property: in Python 3.11 that one takes a lock shared by every instance,
    which concurrent searches would contend for."""

    def __post_init__(self) -> None:
        bits = None
        if self.phash:
            try:
                bits = int(self.phash, 16)
            except ValueError:
                bits = None
        object.__setattr__(self, "phash_bits", bits)

    @property
    def aspect(self) -> float:
        return self.width / self.height if self.height > 0 else 0.0


def fallback_channel(dense_channels: list[str]) -> str | None:
    """The vector channel the no-hash rule compares: the image channel when there is one."""
    if "clip" in dense_channels:
        return "clip"
    return "text" if "text" in dense_channels else None


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance * max(abs(a), abs(b), 1e-9)


def _hash_distance(a: Signature, b: Signature) -> int | None:
    """``phash.hash_distance(a.phash, b.phash)``, from the parsed hashes."""
    if a.phash_bits is None or b.phash_bits is None or len(a.phash) != len(b.phash):
        return None
    return (a.phash_bits ^ b.phash_bits).bit_count()


def same_figure(a: Signature, b: Signature, *, image_vectors: bool) -> bool:
    """Whether ``a`` and ``b`` show the same figure (see the module docstring)."""
    distance = _hash_distance(a, b)
    if distance is not None:
        return distance <= PHASH_MAX_BITS and _close(a.aspect, b.aspect, ASPECT_TOLERANCE)
    if a.vector is None or b.vector is None or a.vector.shape != b.vector.shape:
        return False
    if not (_close(a.width, b.width, SIZE_TOLERANCE) and _close(a.height, b.height, SIZE_TOLERANCE)):
        return False
    return float(a.vector @ b.vector) >= (IMAGE_COSINE if image_vectors else TEXT_COSINE)


def _original_key(hit: SearchHit, sig: Signature | None) -> tuple:
    created = sig.created if sig is not None else CREATED_UNKNOWN
    indexed = sig.indexed_at if sig is not None else ""
    return (
        created == CREATED_UNKNOWN,
        created,
        not indexed,
        indexed,
        hit.doc,
        hit.page,
        hit.bbox[1],
        hit.bbox[0],
        hit.unit_id,
    )


def duplicate_ref(hit: SearchHit) -> DuplicateRef:
    return DuplicateRef(
        unit_id=hit.unit_id,
        doc_id=hit.doc_id,
        doc=hit.doc,
        page=hit.page,
        page_size=hit.page_size,
        bbox=hit.bbox,
        label=hit.label,
        score=hit.score,
    )


def group_ids(
    unit_ids: list[str], signatures: dict[str, Signature], *, image_vectors: bool
) -> list[list[str]]:
    """``unit_ids`` (best first) in groups of near-duplicates, each in rank order, the groups in the order
    of their leaders. A unit without a signature is its own group. The first groups of a list are the groups
    of a prefix holding just their members (so a search fetches whole rows for the groups it shows)."""
    groups: list[list[str]] = []
    for uid in unit_ids:
        sig = signatures.get(uid)
        home = None
        if sig is not None:
            for group in groups:
                leader = signatures.get(group[0])
                if leader is not None and same_figure(leader, sig, image_vectors=image_vectors):
                    home = group
                    break
        if home is None:
            groups.append([uid])
        else:
            home.append(uid)
    return groups


def collapse(
    hits: list[SearchHit], signatures: dict[str, Signature], *, image_vectors: bool
) -> list[SearchHit]:
    """``hits`` (best first) with each group of near-duplicates as one hit: its original, the others in
    ``also_in`` in rank order. A hit without a signature is its own group."""
    by_id = {h.unit_id: h for h in hits}
    ids = group_ids([h.unit_id for h in hits], signatures, image_vectors=image_vectors)
    groups = [[by_id[uid] for uid in group] for group in ids]
    out: list[SearchHit] = []
    for group in groups:
        original = min(group, key=lambda h: _original_key(h, signatures.get(h.unit_id)))
        others = [duplicate_ref(h) for h in group if h is not original]
        out.append(original.model_copy(update={"also_in": others}) if others else original)
    return out


SIGNATURE_FIELDS = [F_ID, F_PHASH, F_WIDTH, F_HEIGHT, F_META]
"""What grouping reads of every candidate before it knows which ones are shown: no texts."""


def signatures_of(rows: dict[str, dict[str, Any]], vector_field: str | None) -> dict[str, Signature]:
    return {uid: Signature.of_row(row, vector_field) for uid, row in rows.items() if row.get(F_ID)}
