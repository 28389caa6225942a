"""Which encoder settings produced a collection, recorded in the collection itself, and encoders rebuilt
from that record.

A collection's layout property says *what* it holds (channels, dims, version); this module adds *how* the
vectors were made (the ``clip``, ``text`` and ``lexical`` settings sections) as one more collection property,
``figvault.encoders``. With it, a process whose configuration names another version can still encode
queries for the collection the alias serves (during a re-encode, or after another process switched the
alias), and never matches a query of one version against vectors of another: rebuilt encoders are used only
when their derived ``embedding_version`` equals the collection's.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from figvault.errors import FigvaultError, VersionMismatchError
from figvault.retrieval.milvus_store import MilvusUnitStore
from figvault.settings import ClipSettings, LexicalSettings, Settings, TextSettings

log = logging.getLogger(__name__)

PROP_ENCODERS = "figvault.encoders"
SECTIONS = ("clip", "text", "lexical")
# Where a model runs and how many inputs go per call never change a vector: the reading process decides.
_LOCAL_KEYS = ("device", "batch_size")


def encoder_settings_record(settings: Settings) -> dict[str, Any]:
    """The settings sections that decide vectors, as plain JSON data, with ``auto`` precisions resolved
    (a machine with other CPU features would resolve them to another version)."""
    from figvault.encoders.factory import with_precision_pinned

    pinned = with_precision_pinned(settings)
    return {name: getattr(pinned, name).model_dump(mode="json") for name in SECTIONS}


def record_encoder_settings(store: MilvusUnitStore, collection: str, settings: Settings) -> None:
    """Write the encoder settings of ``settings`` into ``collection``'s properties (idempotent)."""
    value = json.dumps(encoder_settings_record(settings), sort_keys=True)
    try:
        store.client.alter_collection_properties(collection, {PROP_ENCODERS: value})
    except Exception as exc:
        raise FigvaultError(f"cannot record encoder settings on {collection}: {exc}") from exc


def recorded_encoder_settings(store: MilvusUnitStore, collection: str) -> dict[str, Any] | None:
    """The recorded sections, or None for a collection written before encoder settings were recorded."""
    try:
        props = store.client.describe_collection(collection).get("properties") or {}
    except Exception as exc:
        raise FigvaultError(f"cannot describe collection {collection}: {exc}") from exc
    raw = props.get(PROP_ENCODERS)
    return json.loads(raw) if raw else None


def changed_encoder_settings(settings: Settings, record: dict[str, Any] | None) -> list[str]:
    """What differs between the clip and text settings a collection recorded and ``settings``', as
    ``text.precision fp32 -> bf16`` (lexical settings are not part of an embedding_version): what a user
    changed since the store was written. Empty for a collection without a record."""
    if not record:
        return []
    now = encoder_settings_record(settings)
    changes = []
    for section in ("clip", "text"):
        was, is_ = record.get(section) or {}, now[section]
        for key in sorted(set(was) | set(is_)):
            if key not in _LOCAL_KEYS and was.get(key) != is_.get(key):
                changes.append(f"{section}.{key} {was.get(key)} -> {is_.get(key)}")
    return changes


def mismatch_hint(
    settings: Settings,
    record: dict[str, Any] | None,
    served: str,
    configured: str,
    *,
    name_profile: bool = True,
) -> str:
    """``store serves X, configured Y (text.precision fp32 -> bf16): run `figvault reencode```: the one
    sentence for a store of another version, with what changed when the collection recorded it; led by the
    packaged profile that makes ``served`` where one does (``name_profile``: ``served`` is a store's)."""
    changed = ", ".join(changed_encoder_settings(settings, record))
    line = (
        f"store serves {served}, configured {configured}"
        + (f" ({changed})" if changed else "")
        + (": run `figvault reencode`")
    )
    profile = profile_of_version(settings, served) if name_profile else None
    if profile is None:
        return line
    return (
        f"this store was built with the `{profile}` profile: add --config {profile} (or run"
        f" `figvault reencode` to move it to this configuration); {line}"
    )


def profile_of_version(settings: Settings, version: str) -> str | None:
    """The packaged profile other than the one in use whose encoders make ``version`` (its settings with
    this process's variables, as a command given ``--config`` that profile would load them), else None."""
    from figvault.encoders.factory import configured_embedding_version
    from figvault.settings import PROFILES, config_argument, load_settings

    for name in PROFILES:
        if name == config_argument(settings):
            continue
        try:
            if configured_embedding_version(load_settings(name, data_dir=settings.data_dir)) == version:
                return name
        except (FigvaultError, ValueError):  # its weights are not here, or a variable does not fit it
            continue
    return None


def served_other_version(settings: Settings, store: MilvusUnitStore) -> tuple[str, str, str] | None:
    """(collection, its embedding_version, the configured one) when the store serves vectors of another
    version than ``settings`` encode, known without loading a model; None when they match, nothing is
    served, or the configured version cannot be computed (the model load then says what is missing)."""
    from figvault.encoders.factory import configured_embedding_version
    from figvault.errors import ModelUnavailableError

    served = store.served_collection()
    if served is None:
        return None
    try:
        configured = configured_embedding_version(settings)
    except ModelUnavailableError:
        return None
    version = store.layout_of(served).embedding_version
    return None if version == configured else (served, version, configured)


def ingest_mismatch_line(settings: Settings, store: MilvusUnitStore, collection: str, configured: str) -> str:
    """Why an ingest into ``collection`` (served, of another embedding_version than ``configured``) is
    refused, and the two ways out: ``mismatch_hint`` + ``, or restore the encoder settings``. One text for
    the CLI's check before its job and the job's own check (``IngestRunner.target_collection``), which
    catches a store switched in between."""
    record = recorded_encoder_settings(store, collection)
    served = store.layout_of(collection).embedding_version
    return f"{mismatch_hint(settings, record, served, configured)}, or restore the encoder settings"


def settings_for_collection(settings: Settings, record: dict[str, Any]) -> Settings:
    """``settings`` with the recorded encoder sections (device and batch size stay this process's)."""
    clip = dict(record.get("clip") or {})
    text = dict(record.get("text") or {})
    for key in _LOCAL_KEYS:
        clip[key] = getattr(settings.clip, key)
        text[key] = getattr(settings.text, key)
    return settings.model_copy(
        update={
            "clip": ClipSettings.model_validate(clip),
            "text": TextSettings.model_validate(text),
            "lexical": LexicalSettings.model_validate(record.get("lexical") or {}),
        }
    )


def encoders_for_collection(settings: Settings, store: MilvusUnitStore, collection: str) -> Any:
    """An EncoderSet that produces exactly ``collection``'s embedding_version, or VersionMismatchError.

    Tries the configured encoders first, then the ones recorded in the collection. Models are not loaded
    here (they load on first use).
    """
    from figvault.encoders.factory import build_encoders, configured_embedding_version

    served = store.layout_of(collection).embedding_version
    try:
        configured = configured_embedding_version(settings)
    except FigvaultError as exc:
        configured = f"unavailable ({exc})"
    if configured == served:
        return build_encoders(settings)
    record = recorded_encoder_settings(store, collection)

    def hint() -> str:  # only when refused: naming a profile computes every packaged profile's version
        return mismatch_hint(settings, record, served, configured)

    if record is None:
        raise VersionMismatchError(f"{hint()} (the served collection does not record its encoders)")
    try:
        encoders = build_encoders(settings_for_collection(settings, record))
    except FigvaultError as exc:
        raise VersionMismatchError(f"{hint()} (its recorded encoders cannot be built: {exc})") from exc
    if encoders.embedding_version != served:
        raise VersionMismatchError(
            f"{hint()} (its recorded encoders now give {encoders.embedding_version}: weights changed on disk)"
        )
    return encoders


def ensure_recorded(settings: Settings, store: MilvusUnitStore) -> bool:
    """Record the configured encoders on the served collection when they produce its version and it has no
    record yet (collections written before records existed, or by a direct ``ingest_paths``). True when a
    record was written."""
    from figvault.encoders.factory import configured_embedding_version

    served = store.served_collection()
    if served is None or recorded_encoder_settings(store, served) is not None:
        return False
    try:
        if configured_embedding_version(settings) != store.layout_of(served).embedding_version:
            return False
    except FigvaultError:
        return False
    record_encoder_settings(store, served, settings)
    return True
