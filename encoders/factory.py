"""The encoders a configuration asks for, and the embedding version they produce.

``build_encoders`` resolves every channel (weights located, hashes known, errors raised now when weights
are missing) and returns encoders that load their models on first use. ``configured_embedding_version``
computes the same version without touching model weights beyond hashing files, for ``figvault status``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from figvault.encoders.clip import ClipEncoder, ClipSpec, resolve_clip_spec
from figvault.encoders.device import precision_here
from figvault.encoders.text import SentenceTextEncoder, TextSpec, resolve_text_spec
from figvault.encoders.version import combined_version
from figvault.encoders.weights import FileHashCache, hash_cache_for
from figvault.settings import Settings


@dataclass(frozen=True)
class ChannelSpec:
    """One dense vector channel as the store sees it."""

    name: str
    """Vector field name: "clip" or "text"."""
    dim: int
    embedding_version: str


@dataclass(frozen=True)
class EncoderPlan:
    """The resolved specs of a configuration (no models loaded)."""

    clip: ClipSpec | None
    text: TextSpec | None
    lexical_analyzer: str | None

    def channels(self) -> list[ChannelSpec]:
        return [
            ChannelSpec(spec_name, spec.dim, spec.embedding_version)
            for spec_name, spec in (("clip", self.clip), ("text", self.text))
            if spec is not None
        ]

    @property
    def embedding_version(self) -> str:
        versions = {c.name: c.embedding_version for c in self.channels()}
        return combined_version(versions, self.lexical_analyzer)

    def describe(self) -> dict[str, Any]:
        return {
            "embedding_version": self.embedding_version,
            "channels": {
                name: spec.describe() for name, spec in (("clip", self.clip), ("text", self.text)) if spec
            },
            "lexical": {"analyzer": self.lexical_analyzer} if self.lexical_analyzer else None,
        }


class EncoderSet:
    """The configured encoders. Models load on first use; specs (and weight errors) are resolved at build."""

    def __init__(self, plan: EncoderPlan) -> None:
        self.plan = plan
        self.clip: ClipEncoder | None = ClipEncoder(plan.clip) if plan.clip else None
        self.text: SentenceTextEncoder | None = SentenceTextEncoder(plan.text) if plan.text else None
        self.lexical: bool = plan.lexical_analyzer is not None
        self.embedding_version: str = plan.embedding_version

    def channels(self) -> list[ChannelSpec]:
        """Dense channels only, in a fixed order (clip, text)."""
        return self.plan.channels()

    def describe(self) -> dict[str, Any]:
        """Per-channel provenance: model, weights, preprocessing, dim, precision, version."""
        return self.plan.describe()

    def load(self, *, text: bool = True) -> EncoderSet:
        """Load every model now (a server does this at start; the CLI lets the first call do it); the text
        model only where ``text`` (a batch job whose stored texts need no torch model passes False:
        ``pipeline/stages.load_encoders``)."""
        if self.clip:
            self.clip.load()
        if self.text and text:
            self.text.load()
        return self


def plan_encoders(settings: Settings, *, locate_weights: bool = True) -> EncoderPlan:
    hashes: FileHashCache = hash_cache_for(settings.data_dir)
    return EncoderPlan(
        clip=resolve_clip_spec(settings.clip, hashes, locate_weights=locate_weights)
        if settings.clip.enabled
        else None,
        text=resolve_text_spec(settings.text, hashes, settings.text_export_cache)
        if settings.text.enabled
        else None,
        lexical_analyzer=settings.lexical.analyzer if settings.lexical.enabled else None,
    )


def with_precision_pinned(settings: Settings) -> Settings:
    """``settings`` with each channel's ``auto`` precision replaced by what it resolves to here.

    ``auto`` picks bf16 on a CPU with bf16 kernels and fp32 on one without, so the same settings make
    another version on another machine. What is recorded for a collection, and what a Ray driver sends its
    encoder actors, is pinned this way: every reader and every actor then computes exactly these vectors.
    """
    update = {}
    for name in ("clip", "text"):
        section = getattr(settings, name)
        if section.enabled and section.precision == "auto":
            pinned = precision_here(section.precision, section.device)
            update[name] = section.model_copy(update={"precision": pinned})
    return settings.model_copy(update=update) if update else settings


def build_encoders(settings: Settings) -> EncoderSet:
    """Encoders for ``settings``. Missing weights raise ModelUnavailableError here, fast."""
    return EncoderSet(plan_encoders(settings))


def configured_embedding_version(settings: Settings) -> str:
    """The version ``build_encoders(settings)`` would produce, without loading any model.

    A pretrained tag is identified by name (its file need not be downloaded); local weight files are hashed
    (cached by path, size and mtime). Raises ModelUnavailableError when a file the version depends on is
    missing (a local weights file, an uncached hf-hub repo, the text model).
    """
    return plan_encoders(settings, locate_weights=False).embedding_version
