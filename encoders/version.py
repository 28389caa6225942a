"""embedding_version: a short name for everything that changes a vector, derived and never typed by hand.

A channel's provenance (architecture and its full config, weights identity, preprocessing, tokenizer,
dimension, precision, normalisation) is hashed as canonical JSON. The combined version of an encoder set
hashes the channel versions plus the lexical analyzer; it is safe in a Milvus collection name.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

# Bump when the way provenance is collected changes, so old and new versions can never be confused.
VERSION_SCHEME = 1
DIGEST_CHARS = 12


def fingerprint(payload: Any) -> str:
    """sha256 hex of the canonical JSON of ``payload`` (sorted keys, tuples as lists)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_jsonable)
    return hashlib.sha256(canonical.encode()).hexdigest()


def channel_version(channel: str, provenance: Mapping[str, Any]) -> str:
    """``<channel>_<12 hex>``, e.g. ``clip_3f2a...``: the vectors of one channel."""
    return f"{channel}_{fingerprint({'scheme': VERSION_SCHEME, **provenance})[:DIGEST_CHARS]}"


def combined_version(channel_versions: Mapping[str, str], lexical_analyzer: str | None) -> str:
    """``v<12 hex>`` over the dense channels' versions and the BM25 analyzer ([a-z0-9_] only)."""
    payload = {
        "scheme": VERSION_SCHEME,
        "channels": dict(sorted(channel_versions.items())),
        "lexical": lexical_analyzer,
    }
    return "v" + fingerprint(payload)[:DIGEST_CHARS]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "__fspath__"):
        return str(value)
    raise TypeError(f"not part of a provenance record: {type(value).__name__}")
