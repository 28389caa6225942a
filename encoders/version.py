"""embedding_version: a short name for everything that changes a vector, derived and never typed by hand.

A channel's provenance (architecture and its full config, weights identity, preprocessing, tokenizer,
dimension, precision, normalisation) is hashed as canonical JSON. The combined version of an encoder set
hashes the channel versions plus the lexical analyzer; it is safe in a Milvus collection name.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

# Bump when the way provenance is collected changes, so old and new versions can never be confused.
VERSION_SCHEME = 1
DIGEST_CHARS = 12
NORMALIZE = "l2"
"""How every dense channel normalises its vectors (so that a dot product is their cosine)."""


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


class ChannelSpec(ABC):
    """What a dense channel's resolved spec shares: its version is derived from its provenance record, and
    what ``figvault models`` shows of it opens with the channel and that version."""

    channel: ClassVar[str]

    @abstractmethod
    def provenance(self) -> dict[str, Any]:
        """The record behind the embedding version (everything that changes a vector)."""

    @abstractmethod
    def details(self) -> dict[str, Any]:
        """What ``describe`` shows of the channel's model, weights, preprocessing, device and precision."""

    @property
    def embedding_version(self) -> str:
        return channel_version(self.channel, self.provenance())

    def describe(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "embedding_version": self.embedding_version,
            **self.details(),
            "normalize": NORMALIZE,
        }
