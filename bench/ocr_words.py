"""OCR's word recall: does Tesseract read the words a searcher will type, at what CPU, with how much junk?

    python bench/ocr_words.py synthetic [--count 60] [--variants default,psm11,...] [--save DIR]
    python bench/ocr_words.py corpus [--variants ...]

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

Variants are ``VARIANTS`` below: each reads a picture as ``ingest.ocr.read_lines`` does (``default``),
changed in one way: ``no_enlarge`` without its enlarging of small text, ``up2`` every picture twice as
large instead, the others on top of the default read.
"""

from __future__ import annotations

import argparse
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


def _read(image: Image.Image) -> list[ocr.OcrLine]:
    return _READ_LINES(image, ENGINE, SETTINGS)


@contextmanager
def _psm(mode: int) -> Iterator[None]:
    api = ocr._api(ENGINE.languages)
    before = api.GetPageSegMode()
    api.SetPageSegMode(mode)
    ocr._READER.stop()  # reads run in a helper forked from this process: the next one gets the mode
    try:
        yield
    finally:
        api.SetPageSegMode(before)
        ocr._READER.stop()


def with_psm(mode: int) -> Reader:
    def read(image: Image.Image) -> list[ocr.OcrLine]:
        with _psm(mode):
            return _read(image)

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
            return _read(image)
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


VARIANTS: dict[str, Reader] = {
    "default": _read,
    "no_enlarge": with_constant("SMALL_TEXT_PX", 0),
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


# ------------------------------------------------------------------------------------------------ corpus
def corpus(names: list[str]) -> int:
    from ocr_corpus_words import corpus_recall

    return corpus_recall(names, VARIANTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("part", choices=("synthetic", "corpus"))
    parser.add_argument("--count", type=int, default=60, help="generated pictures (synthetic)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated, from VARIANTS")
    parser.add_argument("--save", type=Path, help="write the generated pictures here")
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
    return corpus(names)


if __name__ == "__main__":
    sys.exit(main())
