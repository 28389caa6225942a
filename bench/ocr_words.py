"""OCR's word recall: does Tesseract read the words a searcher will type, at what CPU, with how much junk?

    python bench/ocr_words.py synthetic [--count 60] [--variants default,psm11,...] [--save DIR]
    python bench/ocr_words.py corpus [--variants ...]
    python bench/ocr_words.py saved --folder DIR [--variants ...]

``synthetic``: generated pictures with known words (``bench/ocr_images.py``: diagrams, flow charts,
architecture diagrams, application and terminal screenshots, charts; light and dark, coloured fills, words
7-30 px high). Word recall = the share of the drawn words (3 characters or more, split at punctuation, case
ignored) that the read's text holds; junk = the words read that were not drawn, per picture; CPU = the
process time of the read (Tesseract's thread included). Recall is also given by the drawn font size.

``corpus``: the labelled questions of the **tuning halves only** (dev questions by
``bench/labels/dev_split.json``, the other question files by their own ``split``; never the reporting
halves), whose answer is a unit that extraction hands to OCR. Every document holding such an answer is
extracted once per variant (one process, ``ocr_timeout_s`` 600, so the load cannot cut a read), with the
variant reading every picture; recall = the share of those questions' content terms
(``retrieval.evidence.terms``) found in the answer unit's stored ``figure_text``, counted over the terms
its text without OCR lacks (the words only OCR can bring).

``saved``: the pictures extraction hands OCR, written by ``bench/ocr_cost.py save DIR``; each variant against
the default in one process, A B B A (a pass over all pictures each): OCR CPU-s of each pass, words of 3+
characters read, and those the variant gains and loses.

Variants are ``VARIANTS`` below: each reads a picture as ``ingest.ocr.read_lines`` does (``default``),
changed in one way: ``no_enlarge`` without its enlarging of small text, ``no_reread`` without its second
read of the lines it doubted every word of, ``up2`` every picture twice as large instead, the others on top
of the default read.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageFilter, ImageOps

sys.path.insert(0, str(Path(__file__).parent))
from ocr_images import pictures

from figvault.ingest import ocr
from figvault.ingest.deadline import cpu_now
from figvault.settings import ExtractSettings

SETTINGS = ExtractSettings(ocr_timeout_s=600.0, workers=1)
ENGINE = ocr.OcrEngine(SETTINGS.ocr_languages)
TOKEN = re.compile(r"[a-z0-9]+")
Reader = Callable[[Image.Image], list[ocr.OcrLine]]


def tokens(text: str, least: int = 3) -> set[str]:
    """Words as a search would split them: lowercase runs of letters and digits, with a letter."""
    return {t for t in TOKEN.findall(text.lower()) if len(t) >= least and any(c.isalpha() for c in t)}


# ---------------------------------------------------------------------------------------------- variants
_READ_LINES = ocr.read_lines
"""Extraction's read; the corpus part replaces ``ocr.read_lines`` with a variant, which reads through this."""


_HELPER_HAS: dict[str, Any] = {"": "not known"}
"""What a variant changed (a constant, the page segmentation) in the OCR helper now running: the reads run in
a helper forked from this process, which keeps what this process had at the fork. Not known at first (an
earlier load of this module may have left one running): the first read restarts it."""


def _helper_with(changes: dict[str, Any]) -> None:
    """Restart the helper where it was forked with other changes than ``changes`` (once per pass of a
    variant, not once per read: a restart's fork would count in the variant's CPU)."""
    if changes != _HELPER_HAS:
        ocr._READER.stop()
        _HELPER_HAS.clear()
        _HELPER_HAS.update(changes)


def _read(image: Image.Image, **changes: Any) -> list[ocr.OcrLine]:
    _helper_with(changes)
    return _READ_LINES(image, ENGINE, SETTINGS)


@contextmanager
def _psm(mode: int) -> Iterator[None]:
    api = ocr._api(ENGINE.languages)
    before = api.GetPageSegMode()
    api.SetPageSegMode(mode)
    try:
        yield
    finally:
        api.SetPageSegMode(before)


def with_psm(mode: int) -> Reader:
    def read(image: Image.Image) -> list[ocr.OcrLine]:
        with _psm(mode):
            return _read(image, psm=mode)

    return read


def oem_lstm(image: Image.Image) -> list[ocr.OcrLine]:
    api = _lstm_api()
    saved = ocr._api
    ocr._api = lambda languages: api  # type: ignore[assignment]
    try:
        return _read(image)
    finally:
        ocr._api = saved


_LSTM: list[Any] = []


def _lstm_api() -> Any:
    import tesserocr

    if not _LSTM:
        _LSTM.append(
            tesserocr.PyTessBaseAPI(
                path=ocr.tessdata_dir(),
                lang=ENGINE.languages,
                psm=tesserocr.PSM.AUTO,
                oem=tesserocr.OEM.LSTM_ONLY,
            )
        )
    return _LSTM[0]


def grey(image: Image.Image) -> list[ocr.OcrLine]:
    return _read(image.convert("L"))


def otsu(image: Image.Image) -> list[ocr.OcrLine]:
    pixels = np.asarray(image.convert("L"))
    histogram = np.bincount(pixels.ravel(), minlength=256).astype(float)
    levels = np.arange(256)
    weight = np.cumsum(histogram)
    mean = np.cumsum(histogram * levels)
    between = (mean[-1] * weight - mean * weight[-1]) ** 2 / np.maximum(weight * (weight[-1] - weight), 1)
    cut = int(np.argmax(between))
    return _read(Image.fromarray(((pixels > cut) * 255).astype(np.uint8)))


def dark_background(image: Image.Image) -> bool:
    """The most common grey level (with its neighbours) is dark: light words on a dark ground."""
    histogram = np.bincount(np.asarray(image.convert("L").resize((160, 160))).ravel(), minlength=256)
    return int(np.argmax(np.convolve(histogram, np.ones(5), "same"))) < 100


def invert_dark(image: Image.Image) -> list[ocr.OcrLine]:
    return _read(ImageOps.invert(image.convert("RGB")) if dark_background(image) else image)


def scaled(image: Image.Image, factor: float) -> Image.Image:
    if factor == 1:
        return image
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS if factor < 1 else Image.Resampling.BICUBIC)


def with_constant(name: str, value: Any) -> Reader:
    """A read with one of ``ingest.ocr``'s constants set to ``value`` (``SMALL_TEXT_PX`` 0: no enlarging)."""

    def read(image: Image.Image) -> list[ocr.OcrLine]:
        saved = getattr(ocr, name)
        setattr(ocr, name, value)
        try:
            return _read(image, **{name: value})
        finally:
            setattr(ocr, name, saved)

    return read


def upscale(factor: float) -> Reader:
    """Every picture read ``factor`` times larger, whatever its text (ocr's own enlarging off)."""
    plain = with_constant("SMALL_TEXT_PX", 0)

    def read(image: Image.Image) -> list[ocr.OcrLine]:
        return _unscaled(plain(scaled(image, factor)), factor)

    return read


def _unscaled(lines: list[ocr.OcrLine], factor: float) -> list[ocr.OcrLine]:
    return [ocr.OcrLine(x.text, tuple(round(v / factor) for v in x.box), x.lead) for x in lines]  # type: ignore[misc]


BACKGROUND_SHRINK = 4
"""The local background is read at 1/4 scale: a 4 px stroke becomes one pixel, which a median of 5 removes."""


def background_normalised(image: Image.Image, cut: int = 110) -> Image.Image:
    """Grey, each pixel divided by its local background (a median wider than a stroke), and turned over where
    that background is dark: every fill becomes white, its words dark. Light words in dark or coloured boxes
    (a filled box, a dark title bar, a terminal pasted into a diagram) then look like the rest of the
    picture; Tesseract's layout otherwise takes such a box for a picture and reads nothing in it."""
    grey_image = image.convert("L")
    small = grey_image.resize(
        (max(1, grey_image.width // BACKGROUND_SHRINK), max(1, grey_image.height // BACKGROUND_SHRINK)),
        Image.Resampling.BOX,
    )
    background = small.filter(ImageFilter.MedianFilter(5)).resize(grey_image.size, Image.Resampling.BILINEAR)
    g = np.asarray(grey_image, dtype=np.float32)
    bg = np.asarray(background, dtype=np.float32)
    dark = bg < cut
    out = np.where(dark, (255 - g) / np.maximum(255 - bg, 1), g / np.maximum(bg, 1)) * 255
    return Image.fromarray(np.clip(out, 0, 255).astype(np.uint8))


def polarity(image: Image.Image) -> list[ocr.OcrLine]:
    return _read(background_normalised(image))


def polarity_wide(image: Image.Image) -> list[ocr.OcrLine]:
    """``polarity`` with its background read at 1/8 scale: a bold heading's 5-8 px strokes stay ink."""
    global BACKGROUND_SHRINK
    saved, BACKGROUND_SHRINK = BACKGROUND_SHRINK, 8
    try:
        return _read(background_normalised(image))
    finally:
        BACKGROUND_SHRINK = saved


def grey_native(reader: Reader = _read) -> Reader:
    """``reader`` with the picture handed to Tesseract as 8-bit grey (``grey`` turns it back to RGB in
    ``read_lines``): Tesseract then thresholds one channel instead of three, and enlarges a third of the
    bytes."""

    def read(image: Image.Image) -> list[ocr.OcrLine]:
        saved = ocr._capped
        ocr._capped = lambda picture, most: saved(picture.convert("L"), most)  # type: ignore[assignment]
        try:
            return reader(image)
        finally:
            ocr._capped = saved

    return read


FEW_WORDS = 3
"""A second read: a first read with fewer confident words of 3+ letters than this read little."""


def second_read(again: Reader) -> Reader:
    """The default read; where it read little (FEW_WORDS), ``again`` too, and whichever read more words."""

    def read(image: Image.Image) -> list[ocr.OcrLine]:
        first = _read(image)
        if len(tokens(ocr.lines_text(first))) >= FEW_WORDS:
            return first
        other = again(image)
        return other if len(tokens(ocr.lines_text(other))) > len(tokens(ocr.lines_text(first))) else first

    return read


def dehyphenated(image: Image.Image) -> list[ocr.OcrLine]:
    """The default read, a word broken at a line's end ("imple-" / "mentation") also stored whole."""
    lines = _read(image)
    out = list(lines)
    for index, (line, after) in enumerate(itertools.pairwise(lines)):
        head, tail = line.text.rsplit(" ", 1)[-1], after.text.split(" ", 1)[0]
        if len(head) > 2 and head.endswith("-") and head[-2].isalpha() and tail[:1].islower():
            out[index] = dataclasses.replace(line, text=f"{line.text} {head[:-1]}{tail}")
    return out


def _capitalised(word: str) -> bool:
    return word.isalpha() and word[0].isupper()


def joined(image: Image.Image) -> list[ocr.OcrLine]:
    """The default read, two capitalised words in a row ("STACK TRACE", "Data Lake") also stored joined."""
    out = []
    for line in _read(image):
        words = line.text.split()
        pairs = [a + b for a, b in itertools.pairwise(words) if _capitalised(a) and _capitalised(b)]
        out.append(dataclasses.replace(line, text=" ".join([line.text, *pairs])) if pairs else line)
    return out


def _tesserocr_set_image(api: Any, image: Image.Image) -> None:
    """How pictures were handed to Tesseract before ``ocr._set_image``: tesserocr's ``SetImage`` (a BMP
    written and decoded)."""
    api.SetImage(image)


VARIANTS: dict[str, Reader] = {
    "default": _read,
    "no_enlarge": with_constant("SMALL_TEXT_PX", 0),
    "no_reread": with_constant("REREAD_LINES", 0),
    "up2": upscale(2.0),
    "line32": with_constant("TEXT_LINE_PX", 32),
    "line40": with_constant("TEXT_LINE_PX", 40),
    "small12": with_constant("SMALL_TEXT_PX", 12),
    "small20": with_constant("SMALL_TEXT_PX", 20),
    "psm6": with_psm(6),
    "psm11": with_psm(11),
    "oem1": oem_lstm,
    "grey": grey,
    "otsu": otsu,
    "invert": invert_dark,
    "polarity": polarity,
    "polarity8": polarity_wide,
    "grey_l": grey_native(),
    "grey_l_1.5m": grey_native(with_constant("ENLARGED_MAX_PIXELS", 1_500_000)),
    "reread_polarity": second_read(polarity),
    "reread_psm11": second_read(with_psm(11)),
    "dehyphen": dehyphenated,
    "joined": joined,
    "bmp_setimage": with_constant("_set_image", _tesserocr_set_image),
}


# --------------------------------------------------------------------------------------------- synthetic
def synthetic(count: int, names: list[str], save: Path | None) -> int:
    pics = pictures(count)
    if save:
        save.mkdir(parents=True, exist_ok=True)
        for pic in pics:
            pic.image.save(save / f"{pic.name}.png")
    print(f"{len(pics)} pictures, {sum(len(p.words) for p in pics)} words drawn")
    columns = [
        "word recall",
        "recall 7-10 px",
        "11-14 px",
        "15-30 px",
        "dark",
        "junk / picture",
        "CPU-s / picture",
    ]
    print("| variant | " + " | ".join(columns) + " |\n" + "| --- " * 8 + "|")
    for name in names:
        found = drawn = junk = 0
        cpu = 0.0
        by_size: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for pic in pics:
            start = cpu_now()  # the reads run in a helper process: its CPU counts too
            text = ocr.lines_text(VARIANTS[name](pic.image))
            cpu += cpu_now() - start
            read = tokens(text, 2)
            truth = {t: px for word, px in pic.words for t in tokens(word)}
            drawn += len(truth)
            found += len(truth.keys() & read)
            junk += len(read - tokens(" ".join(w for w, _ in pic.words), 2))
            for t, px in truth.items():
                for key in (_size_bin(px), "dark" if pic.dark else ""):
                    by_size[key][0] += t in read
                    by_size[key][1] += 1
        cells = [f"{found / drawn:.3f}"] + [_share(by_size[k]) for k in ("7-10", "11-14", "15-30", "dark")]
        cells += [f"{junk / len(pics):.1f}", f"{cpu / len(pics):.3f}"]
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0


def _size_bin(px: int) -> str:
    return "7-10" if px <= 10 else "11-14" if px <= 14 else "15-30"


def _share(pair: list[int]) -> str:
    return f"{pair[0] / pair[1]:.3f} ({pair[1]})" if pair[1] else "-"


# ---------------------------------------------------------------------------------------------- pictures
def saved_pictures(folder: Path) -> list[Image.Image]:
    """The pictures ``bench/ocr_cost.py save`` wrote, as extraction hands them to OCR."""
    rows = json.loads((folder / "index.json").read_text())
    return [Image.open(folder / row["file"]).convert("RGB") for row in rows]


def read_all(reader: Reader, images: list[Image.Image]) -> tuple[float, set[tuple[int, str]]]:
    """One pass: the reads' CPU-s (the helper's included) and the (picture, word) pairs read."""
    start, words = cpu_now(), set()
    for index, image in enumerate(images):
        words |= {(index, t) for t in tokens(ocr.lines_text(reader(image)))}
    return cpu_now() - start, words


def saved(folder: Path, names: list[str]) -> int:
    """Each variant against the default on the saved pictures, A B B A in this process: OCR CPU-s of each
    pass, words of 3+ characters, and those the variant gains and loses."""
    images = saved_pictures(folder)
    print(f"{len(images)} pictures from {folder}")
    print("| variant | default CPU-s (A, A) | variant CPU-s (B, B) | B / A | words A / B | gained / lost |")
    print("| --- | --- | --- | ---: | --- | --- |")
    for name in names:
        a1, base = read_all(_read, images)
        b1, words = read_all(VARIANTS[name], images)
        b2, _ = read_all(VARIANTS[name], images)
        a2, _ = read_all(_read, images)
        ratio = (b1 + b2) / (a1 + a2)
        cells = [f"{a1:.2f}, {a2:.2f}", f"{b1:.2f}, {b2:.2f}", f"{ratio:.3f}", f"{len(base)} / {len(words)}"]
        cells.append(f"{len(words - base)} / {len(base - words)}")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return 0


# ------------------------------------------------------------------------------------------------ corpus
def corpus(names: list[str]) -> int:
    from ocr_corpus_words import corpus_recall

    return corpus_recall(names, VARIANTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("synthetic", "corpus", "saved"))
    parser.add_argument("--count", type=int, default=60, help="generated pictures (synthetic)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from VARIANTS")
    parser.add_argument("--save", type=Path, help="write the generated pictures here")
    parser.add_argument("--folder", type=Path, help="saved: the pictures bench/ocr_cost.py save wrote")
    args = parser.parse_args(argv)
    names = [n for n in args.variants.split(",") if n]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants: {', '.join(unknown)}; known: {', '.join(VARIANTS)}")
    if ocr.tessdata_dir() is None:
        print("tesseract-ocr-eng is not installed: nothing to measure")
        return 1
    if args.part == "synthetic":
        return synthetic(args.count, names, args.save)
    if args.part == "saved":
        if args.folder is None:
            parser.error("saved needs --folder (bench/ocr_cost.py save FOLDER first)")
        return saved(args.folder, names)
    return corpus(names)


if __name__ == "__main__":
    sys.exit(main())
