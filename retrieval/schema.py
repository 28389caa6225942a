"""The Milvus collection layout of figure units: field names, the schema, and unit <-> row conversion.

A collection holds the vectors of exactly one ``embedding_version``. Its layout (which dense channels with
which dimension, whether a BM25 lexical field exists) is written into the collection's properties, so a
reader can tell what the collection serves without knowing how it was built.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from figvault.units import DocumentMeta, FigureUnit

# Field names (stable: stored collections use them).
F_ID = "unit_id"
F_DOC_ID = "doc_id"
F_DOC = "doc"
F_SHA = "doc_sha256"
F_PAGE = "page"
F_GEOMETRY = "geometry"
"""JSON {"page_size": [w, h], "bbox": [x0, y0, x1, y1]}."""
F_KIND = "kind"
F_LABEL = "label"
F_CAPTION = "caption"
F_TITLE = "title"
"""A unit's own title (a chart panel's title, a slide's title); collections written before it lack it."""
F_CONTEXT = "context"
F_FIGURE_TEXT = "figure_text"
F_IMAGE = "image"
F_WIDTH = "width"
F_HEIGHT = "height"
F_META = "meta"
F_CREATED = "created_day"
"""Days since 1970-01-01 of the document's creation; CREATED_UNKNOWN when it does not say."""
F_TENANT = "tenant"
F_GROUPS = "groups"
F_ACL_KEY = "acl_key"
F_TAGS = "tags"
"""The document's tags (``figvault/tags.py``)."""
F_ASPECT = "aspect"
"""Width / height of the unit image (0.0 when it has no height): the aspect filters' field."""
F_PHASH = "phash"
"""Perceptual hash of the unit image (``figvault/phash.py``), "" when unknown."""
F_VERSION = "embedding_version"
F_SEARCH_TEXT = "search_text"
"""Input of the BM25 function: label, caption, context, in-figure text and the document's name and title."""
F_PAGE_TEXT = "page_text"
"""The whole text of the unit's page or slide (kept so a re-encode rebuilds exactly the same inputs)."""
LEXICAL = "lexical"
"""Name of the lexical channel and of its sparse field."""

CREATED_UNKNOWN = -(10**9)
MAX_GROUPS = 64

# VARCHAR limits are bytes on the server: values are cut to fit (on a UTF-8 boundary) rather than refused.
VARCHAR_LIMITS: dict[str, int] = {
    F_ID: 64,
    F_DOC_ID: 512,
    F_DOC: 512,
    F_SHA: 64,
    F_KIND: 32,
    F_LABEL: 256,
    F_CAPTION: 4096,
    F_TITLE: 1024,
    F_CONTEXT: 8192,
    F_FIGURE_TEXT: 8192,
    F_IMAGE: 128,
    F_TENANT: 128,
    F_ACL_KEY: 64,
    F_VERSION: 256,
    F_PHASH: 64,
    F_SEARCH_TEXT: 16384,
    F_PAGE_TEXT: 8192,
}
GROUP_MAX_LENGTH = 128
TAG_MAX_LENGTH = 256
"""Bytes of one stored tag (a tag is at most ``tags.MAX_TAG_CHARS`` characters, 4 bytes each at most)."""

OPTIONAL_FIELDS = frozenset({F_TITLE, F_TAGS, F_ASPECT, F_PHASH})
"""Fields added after collections were first written: the store leaves them out of the reads and writes of
a collection that lacks them, and such a row reads as an empty value. A filter on tags or aspect is refused
there (``SearchEngine._check_fields``); a re-encode adds them (docs/retrieval.md, "Older collections")."""

PROP_LAYOUT = "figvault.layout"
PROP_VERSION = "figvault.embedding_version"

# Scalar fields returned with every hit (vectors and the BM25 input are left out: large, not shown).
OUTPUT_FIELDS = [
    F_ID,
    F_DOC_ID,
    F_DOC,
    F_SHA,
    F_PAGE,
    F_GEOMETRY,
    F_KIND,
    F_LABEL,
    F_TITLE,
    F_CAPTION,
    F_CONTEXT,
    F_FIGURE_TEXT,
    F_IMAGE,
    F_WIDTH,
    F_HEIGHT,
    F_META,
    F_TENANT,
    F_GROUPS,
    F_ACL_KEY,
    F_VERSION,
    F_TAGS,
    F_PHASH,
]


class ChannelLike(Protocol):
    """What the store needs from an encoder channel description (encoders' ChannelSpec fits)."""

    name: str
    dim: int
    embedding_version: str


@dataclass(frozen=True)
class DenseChannel:
    name: str
    dim: int
    embedding_version: str


@dataclass(frozen=True)
class StoreLayout:
    """What one collection serves: its dense channels, whether it has BM25, and the combined version."""

    embedding_version: str
    dense: tuple[DenseChannel, ...] = ()
    lexical: bool = False
    """The lexical channel is served (by figvault's index, ``retrieval/lexical.py``)."""
    analyzer: str = "standard"
    native_bm25: bool = False
    """The collection also has Milvus's own BM25 field (``search_text`` -> ``lexical``): collections written
    before figvault's lexical index. Kept filled on writes so they stay valid; never searched."""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def channels(self) -> list[str]:
        return [c.name for c in self.dense] + ([LEXICAL] if self.lexical else [])

    def dense_channel(self, name: str) -> DenseChannel | None:
        return next((c for c in self.dense if c.name == name), None)

    def to_json(self) -> str:
        return json.dumps(
            {
                "embedding_version": self.embedding_version,
                "dense": [
                    {"name": c.name, "dim": c.dim, "embedding_version": c.embedding_version}
                    for c in self.dense
                ],
                "lexical": self.lexical,
                "analyzer": self.analyzer,
                "native_bm25": self.native_bm25,
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> StoreLayout:
        raw = json.loads(text)
        lexical = bool(raw.get("lexical", False))
        return cls(
            embedding_version=raw["embedding_version"],
            dense=tuple(DenseChannel(**c) for c in raw.get("dense", [])),
            lexical=lexical,
            analyzer=raw.get("analyzer", "standard"),
            # Layouts written before "native_bm25" existed: "lexical" meant Milvus's BM25 field.
            native_bm25=bool(raw.get("native_bm25", lexical)),
        )

    @classmethod
    def from_channels(
        cls, embedding_version: str, channels: list[ChannelLike], *, lexical: bool, analyzer: str = "standard"
    ) -> StoreLayout:
        # Encoders may list the lexical channel among their specs (dim 0); it is a flag here, not a vector.
        dense = tuple(
            DenseChannel(c.name, int(c.dim), c.embedding_version)
            for c in channels
            if c.name != LEXICAL and int(c.dim) > 0
        )
        has_lexical = lexical or any(c.name == LEXICAL for c in channels)
        return cls(embedding_version=embedding_version, dense=dense, lexical=has_lexical, analyzer=analyzer)


_NAME_SAFE = re.compile(r"[^0-9A-Za-z_]")


def collection_name(alias: str, embedding_version: str) -> str:
    """``<alias>_<version>``, reduced to the characters Milvus accepts in a collection name."""
    raw = f"{alias}_{embedding_version}"
    name = _NAME_SAFE.sub("_", raw)
    if not (name[0].isalpha() or name[0] == "_"):
        name = f"c_{name}"
    return name[:255]


def clip_utf8(text: str, limit: int) -> str:
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")


def created_day(created: str | None) -> int:
    """Days since the epoch of an ISO 8601 date or datetime; CREATED_UNKNOWN when absent or unreadable."""
    if not created:
        return CREATED_UNKNOWN
    text = created.strip().replace("Z", "+00:00")
    try:
        return datetime.fromisoformat(text).date().toordinal() - date(1970, 1, 1).toordinal()
    except ValueError:
        pass
    try:
        return date.fromisoformat(text[:10]).toordinal() - date(1970, 1, 1).toordinal()
    except ValueError:
        return CREATED_UNKNOWN


def day_number(day: date) -> int:
    return day.toordinal() - date(1970, 1, 1).toordinal()


def lexical_text(unit: FigureUnit, page_text: str = "") -> str:
    """What BM25 indexes: the unit's own search text, the document's name and title, and its page's text.

    Questions name documents ("in the Raft paper", "the deck"), so the source belongs in the lexical field;
    the page's text is what finds figures that have no caption of their own.
    """
    parts = [unit.search_text(), doc_name_words(unit.doc)]
    if unit.meta.title:
        parts.append(unit.meta.title)
    parts.append(page_text)
    return "\n".join(p for p in parts if p)


def doc_name_words(doc: str) -> str:
    """A file name as words for lexical matching: no extension, ``-`` and ``_`` as spaces."""
    return doc.rsplit(".", 1)[0].replace("-", " ").replace("_", " ")


def text_channel_input(unit: FigureUnit, page_text: str = "") -> str:
    """What the text channel embeds: the unit's own text, plus its page's text when it has no caption.

    Measured on the dev queries (docs/retrieval.md): uncaptioned screenshots and pictures have no text of
    their own and are found by their page; captioned figures embed their own words only, which keeps two
    figures of one page apart (fused recall@1 0.833 with page text for every unit, 0.852 like this).
    """
    own = unit.search_text()
    if unit.caption.strip():
        return own  # a captioned figure is told apart from its page neighbours by its own words
    return f"{own}\n{page_text}".strip()


def aspect_ratio(width: int, height: int) -> float:
    return float(width) / float(height) if height > 0 else 0.0


def unit_to_row(
    unit: FigureUnit,
    acl_key: str,
    vectors: dict[str, list[float]],
    *,
    lexical: bool = False,
    page_text: str = "",
) -> dict[str, Any]:
    """The stored row of ``unit``. ``lexical``: also the input of Milvus's BM25 field (only collections
    that have one need it, and the store adds it for them: ``with_native_bm25_input``)."""
    if len(unit.groups) > MAX_GROUPS:
        raise ValueError(f"unit {unit.unit_id} has {len(unit.groups)} groups, more than {MAX_GROUPS}")
    row: dict[str, Any] = {
        F_ID: unit.unit_id,
        F_DOC_ID: unit.doc_id or unit.doc,
        F_DOC: unit.doc,
        F_SHA: unit.doc_sha256,
        F_PAGE: int(unit.page),
        F_GEOMETRY: {"page_size": list(unit.page_size), "bbox": list(unit.bbox)},
        F_KIND: str(unit.kind),
        F_LABEL: unit.label or "",
        F_TITLE: unit.title,
        F_CAPTION: unit.caption,
        F_CONTEXT: unit.context,
        F_FIGURE_TEXT: unit.figure_text,
        F_IMAGE: unit.image,
        F_WIDTH: int(unit.width),
        F_HEIGHT: int(unit.height),
        F_META: unit.meta.model_dump(mode="json"),
        F_CREATED: created_day(unit.meta.created),
        F_TENANT: unit.tenant,
        F_GROUPS: [clip_utf8(g, GROUP_MAX_LENGTH) for g in sorted(set(unit.groups))],
        F_ACL_KEY: acl_key,
        F_VERSION: unit.embedding_version or "",
        F_PAGE_TEXT: page_text,
        F_TAGS: list(unit.tags),
        F_ASPECT: aspect_ratio(unit.width, unit.height),
        F_PHASH: unit.phash,
    }
    if lexical:
        row[F_SEARCH_TEXT] = lexical_text(unit, page_text)
    for name, limit in VARCHAR_LIMITS.items():
        if name in row:
            row[name] = clip_utf8(row[name], limit)
    row.update(vectors)
    return row


def with_native_bm25_input(row: dict[str, Any], native_bm25: bool) -> dict[str, Any]:
    """``row`` as a collection with (``native_bm25``) or without Milvus's BM25 field accepts it: the
    function's input ``search_text`` computed from the row's own fields, or dropped."""
    if not native_bm25:
        return {k: v for k, v in row.items() if k != F_SEARCH_TEXT} if F_SEARCH_TEXT in row else row
    if F_SEARCH_TEXT in row:
        return row
    text = lexical_text(row_to_unit(row), row.get(F_PAGE_TEXT) or "")
    return {**row, F_SEARCH_TEXT: clip_utf8(text, VARCHAR_LIMITS[F_SEARCH_TEXT])}


def row_to_unit(row: dict[str, Any]) -> FigureUnit:
    geometry = row.get(F_GEOMETRY) or {}
    return FigureUnit(
        unit_id=row[F_ID],
        doc=row[F_DOC],
        doc_sha256=row[F_SHA],
        doc_id=row[F_DOC_ID],
        page=row[F_PAGE],
        page_size=tuple(geometry.get("page_size", (0.0, 0.0))),
        bbox=tuple(geometry.get("bbox", (0.0, 0.0, 0.0, 0.0))),
        kind=row[F_KIND],
        label=row.get(F_LABEL) or None,
        title=row.get(F_TITLE) or "",
        caption=row.get(F_CAPTION, ""),
        context=row.get(F_CONTEXT, ""),
        figure_text=row.get(F_FIGURE_TEXT, ""),
        image=row.get(F_IMAGE, ""),
        width=row.get(F_WIDTH, 0),
        height=row.get(F_HEIGHT, 0),
        meta=DocumentMeta.model_validate(row.get(F_META) or {}),
        tenant=row[F_TENANT],
        groups=list(row.get(F_GROUPS) or []),
        tags=list(row.get(F_TAGS) or []),
        phash=row.get(F_PHASH) or "",
        embedding_version=row.get(F_VERSION) or None,
    )
