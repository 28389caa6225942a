"""Words inside pictures: Tesseract OCR of figure images whose text is not in the document's text layer.

Screenshots, exported diagrams and pictures of charts carry their words as pixels; so do vector figures
whose glyphs were converted to outlines. Those words are what people search for (a policy name in a
screenshot, a counter in a dashboard picture), so they go into the unit's ``figure_text`` after a line
``[ocr]`` (``figvault.units.OCR_MARKER``), and from there into BM25 and the text channel.

Tesseract runs in the process through ``tesserocr`` (a maintained binding; its wheel carries the Tesseract
library) with the language data of Debian's ``tesseract-ocr-eng`` (installed by ``install.sh``): one engine
per process, loaded once, so a figure costs only its recognition (a 1000 x 800 screenshot: 0.4 CPU-s,
against 0.6 through the ``tesseract`` command, which reloads its model on every call). It is used when the
language data is there and ``extract.ocr`` is on; otherwise extraction goes on and says once, in one line,
why there is no OCR. The work is bounded: only figures that need it (the extractors decide: little
text-layer text), never tiny images, only images with a flat background or a few flat fills
(screenshots, diagrams, charts; photographs are skipped), at most ``extract.ocr_max_per_page`` figures per
page, each scaled to ``extract.ocr_max_pixels`` and stopped after ``extract.ocr_timeout_s`` of CPU time
(each read runs in a child process forked for it, with the engine loaded: ``read_lines``). A picture
whose text lines are small (a screenshot's 9-14 px type, tick labels) is read enlarged
(``_sized_for_text``, within a pixel budget): at its own size Tesseract finds those lines but misreads
their letters. A line whose every word the read doubted (small or faint type) is read again alone,
enlarged (``_line_again``), in the same process and limits. Tesseract runs single-threaded
(``OMP_THREAD_LIMIT=1``): extraction already runs one worker per core. It runs inside extraction
(``extract_document``), so in the extraction workers.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import hashlib
import os
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from PIL import Image

from figvault.errors import one_line
from figvault.ingest import cpu_limited, deadline
from figvault.settings import ExtractSettings
from figvault.units import OCR_MARKER, DocumentExtraction

MIN_SIDE_PX = 40
"""Images narrower or lower than this hold no readable line of text."""
MIN_AREA_PX = 150 * 60
MIN_CONFIDENCE = 55
"""Tesseract's word confidence (0-100) below which a word is dropped: mostly noise from icons and edges."""
FLAT_SHARE = 0.3
"""A flat background: the most common grey level (with its 4 neighbours) covers at least this share of the
image. Screenshots, diagrams and charts have one; photographs and gradient artwork do not, and OCR finds
no words in them worth its cost."""
FLAT_FILLS = 3
FLAT_FILLS_SHARE = 0.45
"""Layout class "diagram of several flat fills": boxes of a few colours on a frame of another (regions and
zones, a catalogue of tiles, a diagram pasted over a dark slide) have no dominant grey level, but their
FLAT_FILLS most common ones (each with its 4 neighbours) cover at least this share together. Photographs
and gradient backgrounds stay under it (measured: 0.16-0.24 for photographs behind a logo, 0.48-0.65 for
such diagrams)."""
MAX_OCR_CHARS = 1500
ICON_GLYPHS = "@©®°*•·|~-_=+#>»"
"""Symbols Tesseract reads for a status icon or bullet set before a heading."""
PICTOGRAPH_RISE = 1.25
"""A one-letter token before a heading's first word standing this many times that word's height or more
is a pictograph read as a letter (a ring icon 1.5-1.85 times that word; a capital 0.8-1.0 times)."""


@dataclass(frozen=True)
class OcrEngine:
    """A usable Tesseract and the languages to read with."""

    languages: str


TESSDATA_GLOBS = ("/usr/share/tesseract-ocr/*/tessdata", "/usr/share/tessdata", "/usr/local/share/tessdata")
"""Where Debian (and a source build) put Tesseract's language data; TESSDATA_PREFIX overrides."""


def tessdata_dir() -> str | None:
    """The folder of Tesseract language data (``eng.traineddata``, ...), or None."""
    prefix = os.environ.get("TESSDATA_PREFIX")
    candidates = [prefix] if prefix else []
    for pattern in TESSDATA_GLOBS:
        candidates += sorted(glob.glob(pattern), reverse=True)  # the newest major version first
    for folder in candidates:
        if folder and glob.glob(os.path.join(folder, "*.traineddata")):
            return folder.rstrip("/") + "/"
    return None


@functools.cache
def _installed_languages() -> frozenset[str] | None:
    """The languages Tesseract can read here; None when there is no Tesseract or no language data."""
    folder = tessdata_dir()
    if folder is None:
        return None
    try:
        import tesserocr

        return frozenset(tesserocr.get_languages(folder)[1])
    except Exception:
        return None


def engine_for(settings: ExtractSettings, warnings: list[str]) -> OcrEngine | None:
    """The OCR engine to use, or None, with one line in ``warnings`` when OCR is on but cannot run."""
    if not settings.ocr:
        return None
    installed = _installed_languages()
    if installed is None:
        warnings.append(
            "OCR unavailable: tesseract not found (install tesseract-ocr and tesseract-ocr-eng, or set"
            " extract.ocr = false); the words inside pictures are not indexed"
        )
        return None
    wanted = [lang for lang in re.split(r"[+,\s]+", settings.ocr_languages) if lang]
    usable = [lang for lang in wanted if lang in installed]
    missing = [lang for lang in wanted if lang not in installed]
    if missing:
        warnings.append(
            f"OCR: no tesseract language data for {', '.join(missing)} (Debian package tesseract-ocr-"
            f"{missing[0]}); reading with {'+'.join(usable) or 'nothing: OCR off'}"
        )
    return OcrEngine("+".join(usable)) if usable else None


@functools.cache
def _api(languages: str) -> Any:
    """One Tesseract engine per process and language set, loaded on first use (after a worker's fork)."""
    import tesserocr

    os.environ.setdefault("OMP_THREAD_LIMIT", "1")  # one core per extraction worker
    quiet_leptonica()
    return tesserocr.PyTessBaseAPI(path=tessdata_dir(), lang=languages, psm=tesserocr.PSM.AUTO)


L_SEVERITY_NONE = 6
"""Leptonica's ``setMsgSeverity`` level that prints nothing (``environ.h``: 5 is errors only)."""


@functools.cache
def quiet_leptonica() -> int | None:
    """Silence Leptonica (the image library under Tesseract) in this process: its messages, such as
    "Error in boxClipToRectangle: box outside rectangle", went to the terminal of `figvault ingest` in the
    middle of its progress, about pictures it had read anyway. The library is the one tesserocr loaded
    (its wheel carries its own); the level it had before, or None where none is loaded."""
    import ctypes

    import tesserocr  # noqa: F401  (loads the library this looks for)

    try:  # Linux's list of what this process mapped; elsewhere the messages stay
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "leptonica" in line or "liblept" in line}
        loaded = sorted(p for p in paths if p.startswith("/"))
        return int(ctypes.CDLL(loaded[0]).setMsgSeverity(L_SEVERITY_NONE)) if loaded else None
    except (OSError, AttributeError):  # no /proc, or a library without the function
        return None


def preload(languages: str = ExtractSettings().ocr_languages) -> None:
    """Load the engine for ``languages`` now, when Tesseract can read them; otherwise do nothing.

    The extraction workers' fork server calls this (``figvault.ingest.ocr_preload``), so that every
    worker, one process per document, is forked with the engine loaded instead of loading it again
    (0.15 CPU-s and a 4 MB read per document). Tesseract starts no threads here (no OpenMP in the build
    ``tesserocr`` ships, ``OMP_THREAD_LIMIT=1``), so forking after it is safe.
    """
    installed = _installed_languages()
    wanted = [lang for lang in re.split(r"[+,\s]+", languages) if lang]
    if installed and wanted and all(lang in installed for lang in wanted):
        _api("+".join(wanted))


def worth_reading(image: Image.Image) -> bool:
    """Big enough to hold words, and drawn on a flat background (FLAT_SHARE) or in a few flat fills
    (FLAT_FILLS_SHARE)."""
    w, h = image.size
    if min(w, h) < MIN_SIDE_PX or w * h < MIN_AREA_PX:
        return False
    histogram = image.convert("L").resize((min(w, 160), min(h, 160))).histogram()
    total = sum(histogram)
    peaks = []
    for _ in range(FLAT_FILLS):
        best = max(range(256), key=lambda i: sum(histogram[max(0, i - 2) : i + 3]))
        peaks.append(sum(histogram[max(0, best - 2) : best + 3]))
        histogram[max(0, best - 2) : best + 3] = [0] * len(histogram[max(0, best - 2) : best + 3])
    return peaks[0] >= FLAT_SHARE * total or sum(peaks) >= FLAT_FILLS_SHARE * total


@dataclass(frozen=True)
class OcrLine:
    """One line of confident words and its box in the pixels of the image read."""

    text: str
    box: tuple[int, int, int, int]
    lead: str = ""
    """Words before the line's first confident word that Tesseract doubted: an icon glued to a heading's
    first word (a status tick before "Overrepresented sequences") pulls that word's confidence down. Not
    in ``text`` (so not indexed); a picture's title may start with them (``heading``)."""
    first_boxes: tuple[tuple[int, int, int, int], ...] = ()
    """The boxes of the first two words of ``text`` (fewer on a shorter line), in the same pixels."""

    @property
    def heading(self) -> str:
        """The line read as a heading: its doubted leading words that read as words (letters only, 3 or
        more: an icon read alone gives "SS" or "HE"), then its confident ones, less a pictograph read as
        their first letter (``words``); only a line whose confident words have 3 letters or more is
        extended (a line of numbers does not become a heading)."""
        text = self.words
        if not self.lead or sum(ch.isalpha() for ch in text) < 3:
            return text
        kept: list[str] = []
        for word in reversed(self.lead.split()):
            word = word.lstrip(ICON_GLYPHS)  # the icon read as a symbol glued to the word ("@Per")
            if len(word) < 3 or not word.isalpha():
                break
            kept.insert(0, word)
        return " ".join([*kept, text])

    @property
    def words(self) -> str:
        """``text`` less a pictograph OCR read as a letter before the first word (layout class "icon before
        a heading": a ring or a logo read as a confident "O" or "Q"): a one-letter token that stands
        PICTOGRAPH_RISE times as tall as the word after it. A letter of the heading's own type is no
        taller than that word; "A", "I" and numbers are words, and a token before no word ("Q & A")
        stays."""
        first, _, rest = self.text.partition(" ")
        if len(first) != 1 or first in "AI" or not first.isalpha() or len(self.first_boxes) < 2:
            return self.text
        if sum(ch.isalpha() for ch in rest.split(" ", 1)[0]) < 2:
            return self.text
        (_, top, _, bottom), (_, next_top, _, next_bottom) = self.first_boxes[:2]
        return rest if bottom - top >= PICTOGRAPH_RISE * (next_bottom - next_top) else self.text


def read_words(image: Image.Image, engine: OcrEngine, settings: ExtractSettings) -> str:
    """The lines of confident words Tesseract reads in ``image``; empty when it finds none.

    Raises TimeoutError past ``extract.ocr_timeout_s`` (CPU time; ``read_lines``)."""
    return lines_text(read_lines(image, engine, settings))


def lines_text(lines: list[OcrLine]) -> str:
    """The text of OCR lines, one a line, capped at MAX_OCR_CHARS."""
    return "\n".join(line.text for line in lines)[:MAX_OCR_CHARS]


_READER = cpu_limited.Helper()
"""The child process this process's OCR reads run in, one after another (started at the first read)."""


def start_reader(settings: ExtractSettings) -> None:
    """Start the process OCR reads run in, when OCR is on and can run: an extraction worker does before it
    reads its document (``cpu_limited.Helper.start``); otherwise the first read does."""
    engine = engine_for(settings, [])
    if engine is None:
        return
    try:
        api = _api(engine.languages)
    except RuntimeError:  # the engine does not load (broken language data): each read says so, as before
        return
    _READER.start(state=api)


def read_lines(
    image: Image.Image, engine: OcrEngine, settings: ExtractSettings, until: deadline.Deadline | None = None
) -> list[OcrLine]:
    """The lines of confident words Tesseract reads in ``image``, with their boxes (see read_words).
    ``until``: the document's deadline, which shortens the read's limits to what is left of its time.

    The read runs in this process's helper child (``_READER``, ``ingest/cpu_limited.py``), stopped after
    ``extract.ocr_timeout_s`` of its CPU time, which a busy machine does not inflate, or WALL_FACTOR times
    that of wall time (a read that gets no CPU at all); its layout included, which Tesseract's own limit
    does not cover. A stopped read leaves nothing running: its helper is killed."""
    return _read(image, engine, settings, until, upright=False)[0]


def read_upright_lines(
    image: Image.Image, engine: OcrEngine, settings: ExtractSettings, until: deadline.Deadline | None = None
) -> tuple[list[OcrLine], int]:
    """``read_lines`` of ``image`` turned upright first: Tesseract's orientation detection (OSD) says by how
    many degrees (0, 90 or 270: a page scanned sideways; SIDEWAYS). Returns the lines, their boxes
    in the pixels of ``image.rotate(turn, expand=True)``, and ``turn``. Within the same limits as the read."""
    return _read(image, engine, settings, until, upright=True)


def _read(
    image: Image.Image,
    engine: OcrEngine,
    settings: ExtractSettings,
    until: deadline.Deadline | None,
    upright: bool,
) -> tuple[list[OcrLine], int]:
    api = _api(engine.languages)  # loaded here, before the helper is forked: it starts with the engine
    capped = _capped(image.convert("RGB"), settings.ocr_max_pixels)
    limits = ReadLimits.of(settings, until)
    if limits.cpu_s <= 0 or limits.wall_s <= 0:
        raise TimeoutError(f"OCR not started: {deadline.TIME_SPENT}")
    args = (engine.languages, capped, settings.ocr_max_pixels, limits.wall_s, upright)
    try:
        read = _READER.call(_read_here, args, limits.cpu_s, limits.wall_s, state=api)
    except cpu_limited.OverLimit as exc:
        raise TimeoutError(limits.stopped(exc)) from None
    if read is None:
        raise RuntimeError(f"Tesseract could not read a {capped.width} x {capped.height} image")
    lines, read_width, turn = read
    # Boxes in the pixels of ``image`` (turned), not of the copy read.
    scale = (image.height if turn in (90, 270) else image.width) / read_width
    return [
        dataclasses.replace(
            line,
            box=_scaled(line.box, scale),
            first_boxes=tuple(_scaled(b, scale) for b in line.first_boxes),
        )
        for line in lines
    ], turn


def _scaled(box: tuple[int, int, int, int], scale: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (round(v * scale) for v in box)
    return x0, y0, x1, y1


@dataclass(frozen=True)
class ReadLimits:
    """One read's limits: ``cpu_s`` CPU seconds, ``wall_s`` seconds of wall time; ``*_of_document``: that
    one shortened by the document's deadline (its message names extract.doc_timeout_s then)."""

    cpu_s: float
    wall_s: float
    cpu_of_document: bool = False
    wall_of_document: bool = False

    @classmethod
    def of(cls, settings: ExtractSettings, until: deadline.Deadline | None) -> ReadLimits:
        cpu_s, wall_s = settings.ocr_timeout_s, deadline.WALL_FACTOR * settings.ocr_timeout_s
        if until is None:
            return cls(cpu_s, wall_s)
        cpu_left, wall_left = until.cpu_left(), until.wall_left()
        return cls(min(cpu_s, cpu_left), min(wall_s, wall_left), cpu_left < cpu_s, wall_left < wall_s)

    def stopped(self, exc: cpu_limited.OverLimit) -> str:
        """Why a read was stopped: which limit, and what to raise."""
        if isinstance(exc, cpu_limited.OverCpu):
            if self.cpu_of_document:
                return f"OCR stopped after {self.cpu_s:.1f} s of CPU time: {deadline.TIME_SPENT}"
            return f"OCR stopped after {self.cpu_s:g} s of CPU time (extract.ocr_timeout_s)"
        if self.wall_of_document:
            return f"OCR stopped after {self.wall_s:.1f} s of wall time: {deadline.TIME_SPENT}"
        return (
            f"OCR stopped after {self.wall_s:g} s of wall time ({deadline.WALL_FACTOR} times"
            f" extract.ocr_timeout_s, with {exc.cpu_s:.1f} CPU-s used): the read got too little CPU (an"
            " overloaded machine, or a stopped process)"
        )


def _read_here(
    languages: str, image: Image.Image, max_pixels: int, wall_s: float, upright: bool = False
) -> tuple[list[OcrLine], int, int] | None:
    """In the helper process: the lines Tesseract reads in ``image`` (or in it enlarged:
    ``_sized_for_text``), boxes in the pixels of the image read, that image's width, and the degrees
    ``image`` was turned (``upright``: by ``_orientation``) before; None when Tesseract refused it (or
    stopped at its own, wall-clock, limit)."""
    turn = _orientation(image) if upright else 0
    if turn:
        image = image.rotate(turn, expand=True)
    api = _api(languages)
    try:
        read = _recognized(api, image, max_pixels, wall_s)
    finally:
        api.Clear()
    return None if read is None else (*read, turn)


ORIENT_MIN_CONFIDENCE = 5.0
"""Tesseract's orientation confidence below which a page is left as it is. Text pages measured 5.5-6.5 in
all four orientations, slides set large 5.7-17.4 (turned right every time); pages of charts with little
text 0.05-8.1, wrong up to 3.7 (an upright survey page read as upside down at 3.7, a sideways one as turned
the other way at 2.55; upside-down text pages 4.2-4.37, wrong on two of three; docs/extraction.md, "Pages
that are one picture")."""


def _orientation(image: Image.Image) -> int:
    """The degrees (counter-clockwise, as ``Image.rotate``) that turn ``image`` upright, by Tesseract's
    orientation and script detection; 0 when it cannot tell (no ``osd`` language data, too few letters)."""
    api = _osd_api()
    if api is None:
        return 0
    try:
        api.SetImage(image)
        found = api.DetectOrientationScript()
    except RuntimeError:
        return 0
    finally:
        api.Clear()
    if not found or found.get("orient_conf", 0.0) < ORIENT_MIN_CONFIDENCE:
        return 0
    turn = int(found["orient_deg"]) % 360
    return turn if turn in SIDEWAYS else 0


SIDEWAYS = (90, 270)
"""The turns made: a page scanned sideways. Upside down (180) is not: Tesseract's verdict was wrong on the
generated report's upside-down text pages (0 at 4.37) and on an upright survey page (180 at 3.7)."""


@functools.cache
def _osd_api() -> Any:
    """Tesseract's orientation detector (``osd`` language data), loaded on first use; None without it."""
    installed = _installed_languages()
    if not installed or "osd" not in installed:
        return None
    import tesserocr

    quiet_leptonica()
    return tesserocr.PyTessBaseAPI(path=tessdata_dir(), lang="osd", psm=tesserocr.PSM.OSD_ONLY)


def _recognized(
    api: Any, image: Image.Image, max_pixels: int, wall_s: float
) -> tuple[list[OcrLine], int] | None:
    """``_read_here`` with the engine ``api``."""
    _set_image(api, image)
    bigger = _sized_for_text(api, image, max_pixels)
    if bigger is not image:
        _set_image(api, bigger)
    timeout_ms = _timeout_ms(wall_s)
    if not api.Recognize(timeout=timeout_ms):
        return None
    lines, missed = _confident_lines(api)
    for at, box in reversed(missed[:REREAD_LINES]):
        again = _line_again(api, image, box, bigger.width / image.width, timeout_ms)
        if again is not None:
            lines.insert(at, again)
    return lines, bigger.width


SOURCE_DPI = 96
"""The resolution a picture is handed to Tesseract with: the one tesserocr's ``SetImage`` gave it (the BMP
PIL writes carries 96 dpi). Tesseract's layout scales some of its size limits by it; without one it warns
and assumes 70 (the same words on the 97 corpus pictures, but not promised for every picture)."""


def _set_image(api: Any, image: Image.Image) -> None:
    """Hand ``image`` (RGB) to Tesseract as its raw pixels, at SOURCE_DPI. tesserocr's ``SetImage`` writes
    the picture as a BMP that Leptonica then decodes: the same pixels (the same read, boxes included, on all
    97 pictures extraction hands OCR on the corpus and the tuning documents) at 2.7 times the CPU (8 ms
    against 3 ms for 1 M pixels), once a read, twice an enlarged one, and once per line read again."""
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    api.SetImageBytes(rgb.tobytes(), rgb.width, rgb.height, 3, 3 * rgb.width)
    api.SetSourceResolution(SOURCE_DPI)


def _timeout_ms(wall_s: float) -> int:
    """Tesseract's own, wall-clock limit, a second after the owner's kill: for a helper whose owner is
    gone."""
    return max(1, int((wall_s + 1) * 1000))


def _confident_lines(api: Any) -> tuple[list[OcrLine], list[tuple[int, tuple[int, int, int, int]]]]:
    """The lines of confident words of the read in ``api``, and the lines it found but doubted every word
    of (a misread: small or faint type), each as (where it goes among the lines, its box)."""
    import tesserocr

    lines: list[OcrLine] = []
    missed: list[tuple[int, tuple[int, int, int, int]]] = []
    words: list[str] = []
    lead: list[str] = []
    firsts: list[tuple[int, int, int, int]] = []
    box: tuple[int, int, int, int] = (0, 0, 0, 0)
    word, line = tesserocr.RIL.WORD, tesserocr.RIL.TEXTLINE
    for item in tesserocr.iterate_level(api.GetIterator(), word):
        if item.IsAtBeginningOf(line):
            box = item.BoundingBox(line) or box
            lead = []
        text = _word_text(item, word)
        if text and any(ch.isalnum() for ch in text):
            if item.Confidence(word) >= MIN_CONFIDENCE:
                if len(words) < 2:  # a pictograph read as a letter is told by its height (OcrLine.words)
                    firsts.append(item.BoundingBox(word) or box)
                words.append(text)
            elif not words:
                lead.append(text)
        if item.IsAtFinalElement(line, word):
            if words:
                lines.append(OcrLine(" ".join(words), box, " ".join(lead), tuple(firsts)))
            elif lead:
                missed.append((len(lines), box))
            words, firsts = [], []
    if words:
        lines.append(OcrLine(" ".join(words), box, " ".join(lead), tuple(firsts)))
    return lines, missed


REREAD_LINES = 12
"""The most doubted lines of one picture read again (``_line_again``: about 10 ms each)."""
REREAD_LINE_PX = 32
"""A doubted line is read again enlarged to this height (its box: ascenders to descenders), at most
MAX_REREAD times."""
MAX_REREAD = 4.0


def _line_again(
    api: Any, image: Image.Image, box: tuple[int, int, int, int], scale: float, timeout_ms: int
) -> OcrLine | None:
    """A second read of one line the first read found but doubted every word of (``_confident_lines``):
    cut from ``image`` (``box`` is in its pixels times ``scale``, those of the first read), enlarged to
    REREAD_LINE_PX and read as one line of text. Layout class "a screenshot's line of small or faint type":
    in the whole picture Tesseract finds the line but misreads it; alone and larger it reads. The line, its
    box in the first read's pixels, when that read gives a confident word; else None."""
    import tesserocr

    cut = _line_cut(image, box, scale)
    if cut is None:
        return None
    crop, left, top, factor = cut
    mode = api.GetPageSegMode()
    api.SetPageSegMode(tesserocr.PSM.SINGLE_LINE)
    try:
        _set_image(api, crop)
        if not api.Recognize(timeout=timeout_ms):
            return None
        lines, _ = _confident_lines(api)
    finally:
        api.SetPageSegMode(mode)
    if not lines:
        return None
    back = scale / factor  # a box in the crop's pixels -> the first read's
    return OcrLine(
        " ".join(line.text for line in lines),
        box,
        first_boxes=tuple(_moved(b, back, left * scale, top * scale) for b in lines[0].first_boxes),
    )


def _line_cut(
    image: Image.Image, box: tuple[int, int, int, int], scale: float
) -> tuple[Image.Image, float, float, float] | None:
    """The line ``box`` (in ``image``'s pixels times ``scale``) cut from ``image`` with a margin of a quarter
    of its height and enlarged to REREAD_LINE_PX, with the cut's left and top in ``image`` and the factor;
    None for a box that is not a line of text (a rule, an icon, a box's frame: not wider than twice its
    height)."""
    x0, y0, x1, y1 = (v / scale for v in box)
    high = y1 - y0
    if high < 4 or x1 - x0 < 2 * high:
        return None
    pad = high / 4
    left, top = max(0.0, x0 - pad), max(0.0, y0 - pad)
    right, bottom = min(image.width, x1 + pad), min(image.height, y1 + pad)
    crop = image.crop((round(left), round(top), round(right), round(bottom)))
    factor = max(1.0, min(MAX_REREAD, REREAD_LINE_PX / high))
    size = (round(crop.width * factor), round(crop.height * factor))
    return (crop.resize(size, Image.Resampling.LANCZOS) if factor > 1 else crop), left, top, factor


def _moved(box: tuple[int, int, int, int], scale: float, dx: float, dy: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return round(x0 * scale + dx), round(y0 * scale + dy), round(x1 * scale + dx), round(y1 * scale + dy)


SMALL_TEXT_PX = 16
"""A picture whose median text line (Tesseract's line box: ascenders to descenders) is this high or lower
holds small text: 7-12 px type, a screenshot's menus and form labels, a chart's tick labels, a diagram's box
labels at the resolution they were captured in. Tesseract's layout finds those lines but misreads their
letters; enlarged, they read (bench/ocr_words.py). Lines of 17-20 px are read as they are: the 5 corpus
pictures of such lines gained 4 words in all for 62 % more CPU when enlarged. 0: never enlarge."""
TEXT_LINE_PX = 24
"""The line height small text is enlarged to (about 12 px of x-height): as many words as 32 on the generated
pictures, for less CPU (Tesseract's layout and thresholding grow with the pixels)."""
MAX_ENLARGE = 3.0
ENLARGE_MIN = 1.25
"""Below this factor a read is not worth redoing the layout for."""
ENLARGED_MAX_PIXELS = 1_000_000
"""The most pixels an enlarged picture gets (``extract.ocr_max_pixels`` if lower): a read's layout and
thresholding grow with its pixels. Measured on the corpus' pictures: with 1.5 M the corpus PDFs' OCR took
36 % more CPU (extraction 17 % fewer pages per CPU-second, under the 40 pages/s target), with 1 M 19 % (7 %
fewer), keeping 152 of the 215 words gained (docs/extraction.md, "OCR's word recall")."""


def _sized_for_text(api: Any, image: Image.Image, max_pixels: int) -> Image.Image:
    """``image`` enlarged so that its median text line is TEXT_LINE_PX high, when that line is small
    (SMALL_TEXT_PX), at most MAX_ENLARGE times and within ``max_pixels`` and ENLARGED_MAX_PIXELS; else
    ``image`` itself, its layout (set in ``api``) kept for the read. The layout is Tesseract's own first
    step, so a picture that is not enlarged costs nothing more; an enlarged one is laid out again."""
    if not SMALL_TEXT_PX:
        return image
    heights = _line_heights(api)
    if not heights:
        return image
    median = sorted(heights)[len(heights) // 2]
    room = (min(max_pixels, ENLARGED_MAX_PIXELS) / (image.width * image.height)) ** 0.5
    factor = min(MAX_ENLARGE, TEXT_LINE_PX / max(median, 1), room)
    if median > SMALL_TEXT_PX or factor < ENLARGE_MIN:
        return image
    size = (round(image.width * factor), round(image.height * factor))
    return image.resize(size, Image.Resampling.LANCZOS)


def _line_heights(api: Any) -> list[int]:
    """The heights of the text lines Tesseract's layout finds in the image set in ``api``: lines wider than
    high (a box's frame or a rule found as a "line" is not text)."""
    import tesserocr

    found = api.AnalyseLayout()
    heights = []
    if found is None:
        return heights
    for item in tesserocr.iterate_level(found, tesserocr.RIL.TEXTLINE):
        box = item.BoundingBox(tesserocr.RIL.TEXTLINE)
        if box and box[2] - box[0] > box[3] - box[1] > 0:
            heights.append(box[3] - box[1])
    return heights


def _word_text(item: Any, level: Any) -> str:
    """The text of one recognised word; empty when Tesseract has none for it (tesserocr raises "No text
    returned" there: that word is skipped, not the figure's other words)."""
    try:
        return (item.GetUTF8Text(level) or "").strip()
    except RuntimeError:
        return ""


TESSERACT_MAX_SIDE = 32767
"""Tesseract refuses an image wider or taller than this: its Recognize fails at once (a picture of 40 x
37,500 pixels, an extreme aspect ratio under the pixel cap, was reported as an OCR timeout)."""


def _capped(image: Image.Image, max_pixels: int) -> Image.Image:
    """``image`` scaled down to at most ``max_pixels`` pixels and TESSERACT_MAX_SIDE on either side."""
    w, h = image.size
    if w * h <= max_pixels and max(w, h) <= TESSERACT_MAX_SIDE:
        return image
    factor = min((max_pixels / (w * h)) ** 0.5, TESSERACT_MAX_SIDE / max(w, h))
    return image.resize((max(1, int(w * factor)), max(1, int(h * factor))), Image.Resampling.LANCZOS)


def with_ocr(figure_text: str, ocr_text: str) -> str:
    """``figure_text``, then an OCR_MARKER line and the OCR lines it does not hold already."""
    known = {line.strip().lower() for line in figure_text.splitlines()}
    fresh = [line for line in ocr_text.splitlines() if line.strip() and line.strip().lower() not in known]
    if not fresh:
        return figure_text
    return "\n".join(part for part in (figure_text, OCR_MARKER, *fresh) if part)


def ocr_lost(figures: int) -> str:
    """What ``figures`` reads stopped by time mean, and what to do (a job's summary, ``figvault ingest`` and
    ``figvault extract``): a read's own limit, or the document's (``deadline``), whichever stopped it."""
    return (
        f"the words inside {figures} figure(s) were not read: OCR stopped after extract.ocr_timeout_s, or"
        f" once the document had used {deadline.OPTIONAL_SHARE:.0%} of extract.doc_timeout_s (a busy machine"
        " reads slower; raise them and extract or ingest again to get them)"
    )


class DocumentOcr:
    """OCR for one document: its engine (None: off or unavailable) and the figures each page had read. What
    it could not do goes into the document's extraction: a line in ``warnings``, and a read that
    ``extract.ocr_timeout_s`` stopped is counted in ``ocr_timeouts`` too (its words are lost: a user must be
    able to tell, the job's result and ``figvault extract`` report the count)."""

    def __init__(self, settings: ExtractSettings, extraction: DocumentExtraction) -> None:
        self.settings = settings
        self.extraction = extraction
        self.warnings = extraction.warnings
        self.engine = engine_for(settings, self.warnings)
        self._read: Counter[int] = Counter()
        self._lines: dict[bytes, tuple[list[OcrLine], int]] = {}
        """Lines read so far, by a digest of the image's pixels: the same picture on several pages (a
        repeated screenshot, a slide shown twice) is read once."""
        self.deadline = deadline.current()
        self._out_of_time = False

    @property
    def on(self) -> bool:
        return self.engine is not None

    def wants(self, page: int) -> bool:
        """OCR is on and ``page`` has not had its cap of figures read: a figure is worth rendering for it.
        Past the document's deadline (``deadline.steps_until``) it is not, and the figure's words are
        counted as lost to time (``ocr_timeouts``) within the page's cap: ask once per figure."""
        if self.engine is None or self._read[page] >= self.settings.ocr_max_per_page:
            return False
        if self.deadline is None or not self.deadline.passed():
            return True
        self._read[page] += 1
        self.extraction.ocr_timeouts += 1
        if not self._out_of_time:
            self._out_of_time = True
            self.warnings.append(
                f"page {page}: OCR stopped, {deadline.TIME_SPENT}; the words in later figures are not read"
            )
        return False

    def read(self, page: int, image: Image.Image) -> list[OcrLine] | None:
        """The lines OCR reads in ``image`` with their boxes; None when ``image`` was not read (off, the
        page's cap, a photograph, a failure): an empty list means OCR read it and found no word."""
        return self._cached(page, image, upright=False)[0]

    def read_upright(self, page: int, image: Image.Image) -> tuple[list[OcrLine] | None, int]:
        """``read`` of ``image`` turned upright first (``read_upright_lines``: a whole scanned page), and
        the degrees it was turned (0 when not read)."""
        return self._cached(page, image, upright=True)

    def _cached(self, page: int, image: Image.Image, upright: bool) -> tuple[list[OcrLine] | None, int]:
        cap = self.settings.ocr_max_per_page
        if self.engine is None or self._read[page] >= cap or not worth_reading(image) or not self.wants(page):
            return None, 0
        self._read[page] += 1
        digest = hashlib.blake2b(
            bytes([upright]) + image.mode.encode() + repr(image.size).encode() + image.tobytes()
        ).digest()
        if digest not in self._lines:
            try:
                if upright:
                    self._lines[digest] = read_upright_lines(image, self.engine, self.settings, self.deadline)
                else:
                    self._lines[digest] = read_lines(image, self.engine, self.settings, self.deadline), 0
            except Exception as exc:  # a timeout or a Tesseract failure costs this figure's OCR only
                reason = one_line(exc)
                self.warnings.append(f"page {page}: OCR of a figure failed ({reason})")
                if isinstance(exc, TimeoutError):
                    self.extraction.ocr_timeouts += 1
                return None, 0
        return self._lines[digest]
