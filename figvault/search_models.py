"""Search request and response records: the contract between retrieval, the CLI and the HTTP service."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from figvault.tags import MAX_TAG_CHARS, MAX_TAGS, tag_set
from figvault.text_checks import MAX_FILTER_VALUES, NameList
from figvault.units import FigureKind

# The numeric limits of a search, defined here only: the CLI's options, the HTTP API's models and routes
# and the search page's inputs (filled in when the page is served: service/api/routes/page.py) use these.
MAX_TOP_K = 200
"""The most results one search returns."""
MAX_PAGE = 100_000
"""The last page a page range or a page image can name (an open range "3-" ends here)."""
MAX_PIXELS_SIDE = 1_000_000
"""The largest figure width or height a size filter can name."""
SQUARE_RATIO = 1.2
"""A figure whose width/height ratio is within 1.2 either way is ``square``; wider ``landscape``, taller
``portrait``."""
_PAGES = re.compile(r"^\s*(\d*)\s*(?:(-)\s*(\d*))?\s*$")


class Aspect(StrEnum):
    LANDSCAPE = "landscape"
    PORTRAIT = "portrait"
    SQUARE = "square"

    def ratio_range(self) -> tuple[float | None, float | None]:
        """(lowest, highest) width/height ratio of the class; None: open."""
        if self is Aspect.LANDSCAPE:
            return SQUARE_RATIO, None
        if self is Aspect.PORTRAIT:
            return None, 1 / SQUARE_RATIO
        return 1 / SQUARE_RATIO, SQUARE_RATIO


def parse_pages(value: Any) -> tuple[int, int] | None:
    """A page range from "3-7", "5", "3-" (to the end), "-7", [3, 7] or [5]; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        first = last = value
    elif isinstance(value, str):
        match = _PAGES.match(value) if len(value) <= 40 else None
        if match is None or not (match.group(1) or match.group(3)):
            raise ValueError("pages: not a page range like 3-7, 5, 3- or -7")
        first = int(match.group(1)) if match.group(1) else 1
        last = int(match.group(3)) if match.group(3) else (MAX_PAGE if match.group(2) else first)
    elif isinstance(value, list | tuple) and 1 <= len(value) <= 2 and all(isinstance(v, int) for v in value):
        first, last = value[0], value[-1]
    else:
        raise ValueError('pages: give a range as "3-7" or [3, 7]')
    if not 1 <= first <= last <= MAX_PAGE:
        raise ValueError(f"pages: a range goes from a first page to a later one, within 1-{MAX_PAGE}")
    return first, last


class SearchFilters(BaseModel):
    """Request filters. Access (tenant, groups) never comes from here: it comes from the Principal."""

    # A mistyped key ("tag", "min_widht") is refused, never dropped: a dropped filter searched everything.
    model_config = ConfigDict(extra="forbid")

    doc_ids: NameList = Field(default_factory=list)
    docs: NameList = Field(default_factory=list)
    """Source file names."""
    kinds: list[FigureKind] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    after: date | None = None
    """Documents created on or after this day."""
    before: date | None = None
    tags: list[Annotated[str, StringConstraints(max_length=MAX_TAG_CHARS)]] = Field(
        default_factory=list, max_length=MAX_TAGS
    )
    """Units of documents that carry any of these tags."""
    min_width: int | None = Field(default=None, ge=0, le=MAX_PIXELS_SIDE)
    """Unit image size in pixels (as stored: rendered at ``extract.dpi``)."""
    max_width: int | None = Field(default=None, ge=0, le=MAX_PIXELS_SIDE)
    min_height: int | None = Field(default=None, ge=0, le=MAX_PIXELS_SIDE)
    max_height: int | None = Field(default=None, ge=0, le=MAX_PIXELS_SIDE)
    aspect: Aspect | None = None
    """landscape (width/height above ``SQUARE_RATIO``), portrait (below its inverse) or square (between)."""
    min_aspect: float | None = Field(default=None, gt=0, le=1000)
    """Width/height ratio bounds, for finer shapes than ``aspect`` (2.0: at least twice as wide as high)."""
    max_aspect: float | None = Field(default=None, gt=0, le=1000)
    pages: tuple[int, int] | None = None
    """Pages or slides first..last (1-based, inclusive); accepts "3-7", "5", "3-", "-7" or [3, 7]."""

    @field_validator("tags", mode="after")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return tag_set(value)

    @field_validator("pages", mode="before")
    @classmethod
    def _pages(cls, value: Any) -> tuple[int, int] | None:
        return parse_pages(value)

    @model_validator(mode="after")
    def _ranges(self) -> Self:
        pairs = (
            ("min_width", "max_width", "more than"),
            ("min_height", "max_height", "more than"),
            ("min_aspect", "max_aspect", "more than"),
            ("after", "before", "later than"),  # a reversed day range matched nothing, without a word
        )
        for low, high, word in pairs:
            a, b = getattr(self, low), getattr(self, high)
            if a is not None and b is not None and a > b:
                raise ValueError(f"{low} is {word} {high}")
        return self

    def aspect_range(self) -> tuple[float | None, float | None]:
        """The width/height bounds ``aspect``, ``min_aspect`` and ``max_aspect`` set together."""
        low, high = self.aspect.ratio_range() if self.aspect is not None else (None, None)
        if self.min_aspect is not None:
            low = self.min_aspect if low is None else max(low, self.min_aspect)
        if self.max_aspect is not None:
            high = self.max_aspect if high is None else min(high, self.max_aspect)
        return low, high


class SearchRequest(BaseModel):
    query: str = ""
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    rerank: bool | None = None
    """None: the configured default (on when a CUDA device and weights are there)."""
    explain: bool = False
    surface: Literal["cli", "json", "form"] = "cli"
    """Where the request came from: the rerank note tells its reader how to ask for a rerank there (a
    CLI flag, a JSON field, a form field). Set by the surface, never by the caller."""


class UnitPlace(BaseModel):
    """Where a unit is: the first fields of every search result and collapsed copy, here and in the HTTP
    shapes (``service/api/schemas.py``), in this order."""

    unit_id: str
    doc_id: str
    doc: str
    page: int
    page_size: tuple[float, float]
    bbox: tuple[float, float, float, float]


class DuplicateRef(UnitPlace):
    """Another place of the same figure: a near-duplicate collapsed into a hit (retrieval/duplicates.py)."""

    label: str | None = None
    score: float
    """This copy's own score for the question."""


class SearchHit(UnitPlace):
    width: int = 0
    """The unit image's size in pixels: what the filters min_width ... max_aspect compare."""
    height: int = 0
    kind: str
    label: str | None
    title: str = ""
    """The figure's own title (chart panel, slide); empty when it has none or its collection predates it."""
    caption: str
    context: str = ""
    image: str
    """Blob key of the unit image."""
    score: float
    """Final score (rerank score when reranked, else the fused score)."""
    fused_score: float
    channel_scores: dict[str, float] = Field(default_factory=dict)
    rerank_score: float | None = None
    explanation: str | None = None
    embedding_version: str | None = None
    tags: list[str] = Field(default_factory=list)
    also_in: list[DuplicateRef] = Field(default_factory=list)
    """Other places of the same figure that the caller may see, found among this search's candidates; the
    hit itself is the group's original (``retrieval/duplicates.py``). Empty when collapsing is off."""


SEARCH_TIMING_KEYS = ("lookup", "encode", "recall", "fetch", "rerank", "total")
"""The search steps every answer's ``timings`` names (a stable interface, INTERFACES.md); a step that did not
run (rerank off, a caller who sees no document) reads 0 there. Others (``collapse``, ``did_you_mean``,
``rerank_explain``) appear when they ran."""


class SearchResponse(BaseModel):
    results: list[SearchHit]
    no_match: bool = False
    """True when nothing visible answers the question: the VLM reranker's verdict when it ran, else the
    first stage's calibrated decision (``retrieval/no_match.py``)."""
    did_you_mean: str | None = None
    """With ``no_match``: the question with its words that no unit the caller may see holds (typos) replaced
    by the nearest words such units do hold; None otherwise (``retrieval/spelling.py``)."""
    answerable: float | None = None
    """The first stage's P(answerable) behind ``no_match`` (None when the reranker decided or it is off)."""
    reranked: bool = False
    rerank_note: str = ""
    """Why rerank was on or off (e.g. "off: no CUDA device")."""
    embedding_version: str = ""
    timings: dict[str, float] = Field(default_factory=dict)
    """Milliseconds per step that ran (``SEARCH_TIMING_KEYS``, others); callers get ``reported_timings``."""

    def reported_timings(self) -> dict[str, float]:
        """``timings`` with every stable step named, 0 for one that did not run (what the CLI's JSON and
        ``POST /v1/search`` answer; metrics observe only the steps that ran)."""
        return {**dict.fromkeys(SEARCH_TIMING_KEYS, 0.0), **self.timings}
