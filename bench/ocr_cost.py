"""Where Tesseract's time goes on the images extraction hands it, and what a setting would save and lose.

    python bench/ocr_cost.py save DIR
    python bench/ocr_cost.py split DIR [--top N] [--repeat R]
    python bench/ocr_cost.py variants DIR NAME=VARIABLE:VALUE ... [--top N] [--repeat R]

``save`` extracts the corpus (PDFs and decks) and the tuning part of the hand-labelled set (never the
report part) with OCR on and writes every image OCR reads, as extraction hands it to Tesseract, to DIR with
an ``index.json`` (document, size, CPU-s of the read, words kept). ``split`` times, per image, Tesseract's
thresholding, its layout analysis and a whole read, and counts the text past ``MAX_OCR_CHARS`` (read, then
cut). ``variants`` reads every image with each Tesseract variable set (``nopara=paragraph_text_based:0``)
and prints its CPU against the default and the share of the default's (image, word) pairs it keeps.

Times are the least process time of ``--repeat`` reads of each image: the machine is shared, and the
least of a few is what the code costs, not the load. ``--top N``: the N images whose saved read took
longest.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from extraction import corpus_dir, corpus_files, distractors_dir, new_set_part, run_extraction

from figvault.ingest import ocr
from figvault.ingest.deadline import Deadline, cpu_now
from figvault.settings import ExtractSettings

SETTINGS = ExtractSettings(ocr_timeout_s=600.0, workers=1)
"""One process, so the reads can be watched; a long limit, so that the load cannot cut a read."""


def save(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    read_lines, doc = ocr.read_lines, {"name": ""}

    def watched(
        image: Image.Image, engine: ocr.OcrEngine, settings: ExtractSettings, until: Deadline | None = None
    ) -> list[ocr.OcrLine]:
        start = cpu_now()  # the reads run in a helper process: its CPU counts too
        lines = read_lines(image, engine, settings, until)
        name = f"{len(rows):03d}.png"
        image.save(out / name)
        words = sum(len(line.text.split()) for line in lines)
        rows.append({"file": name, "doc": doc["name"], "size": image.size, "words": words,
                     "cpu_s": round(cpu_now() - start, 3)})  # fmt: skip
        return lines

    ocr.read_lines = watched  # type: ignore[assignment]
    files = corpus_files(corpus_dir()) + [distractors_dir() / "docs" / n for n in new_set_part("tune")[0]]
    for path in files:
        doc["name"] = path.name
        run_extraction([path], SETTINGS)
    (out / "index.json").write_text(json.dumps(rows, indent=1))
    cpu, words = sum(r["cpu_s"] for r in rows), sum(r["words"] for r in rows)
    print(f"{len(rows)} images from {len(files)} documents: {cpu:.2f} CPU-s, {words} words -> {out}")
    return 0


def _images(folder: Path, top: int | None) -> list[Image.Image]:
    rows = json.loads((folder / "index.json").read_text())
    rows.sort(key=lambda row: -row["cpu_s"])
    return [Image.open(folder / row["file"]).convert("RGB") for row in rows[:top]]


def _least(step: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = cpu_now()
        step()
        best = min(best, cpu_now() - start)
    return best


def _step(api: Any, image: Image.Image, call: str) -> Callable[[], object]:
    """One Tesseract step on ``image``: its thresholding, or its layout analysis (which thresholds too)."""
    return lambda: (api.SetImage(image), getattr(api, call)(), api.Clear())


def _read(image: Image.Image, engine: ocr.OcrEngine) -> Callable[[], object]:
    """A whole read of ``image`` as extraction does it (``ocr.read_lines``)."""
    return lambda: ocr.read_lines(image, engine, SETTINGS)


def split(folder: Path, top: int | None, repeat: int) -> int:
    api, engine = ocr._api(SETTINGS.ocr_languages), ocr.OcrEngine(SETTINGS.ocr_languages)
    totals = {"threshold": 0.0, "layout": 0.0, "read": 0.0}
    past_cap = 0.0
    for image in _images(folder, top):
        totals["threshold"] += _least(_step(api, image, "GetThresholdedImage"), repeat)
        totals["layout"] += _least(_step(api, image, "AnalyseLayout"), repeat)
        read = _least(_read(image, engine), repeat)
        totals["read"] += read
        chars = len("\n".join(line.text for line in ocr.read_lines(image, engine, SETTINGS)))
        past_cap += read * max(0.0, 1 - ocr.MAX_OCR_CHARS / chars) if chars else 0.0
    read = totals["read"]
    for name, cpu in totals.items():
        print(f"{name:10s} {cpu:7.2f} CPU-s  {cpu / read:6.1%} of a read")
    print(f"past MAX_OCR_CHARS (share of each read's time by its characters): {past_cap:.2f} CPU-s")
    return 0


def variants(folder: Path, specs: list[str], top: int | None, repeat: int) -> int:
    api, engine = ocr._api(SETTINGS.ocr_languages), ocr.OcrEngine(SETTINGS.ocr_languages)
    parsed = [("default", "", "")] + [(s.split("=")[0], *s.split("=")[1].split(":")) for s in specs]
    cpu = dict.fromkeys((name for name, _, _ in parsed), 0.0)
    words: dict[str, set[tuple[int, str]]] = {name: set() for name, _, _ in parsed}
    for index, image in enumerate(_images(folder, top)):
        for name, variable, value in parsed:
            before = api.GetVariableAsString(variable) if variable else None
            if variable:
                api.SetVariable(variable, value)
                ocr._READER.stop()  # reads run in a helper forked from this process: the next has it
            cpu[name] += _least(_read(image, engine), repeat)
            lines = ocr.read_lines(image, engine, SETTINGS)
            words[name].update((index, word) for line in lines for word in line.text.split())
            if variable:
                api.SetVariable(variable, before)
                ocr._READER.stop()
    base = words["default"]
    for name, _, _ in parsed:
        kept = len(words[name] & base) / len(base) if base else 1.0
        change = cpu[name] / cpu["default"] - 1
        print(f"{name:12s} {cpu[name]:7.2f} CPU-s ({change:+6.1%})  words kept {kept:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("save").add_argument("folder", type=Path)
    for name in ("split", "variants"):
        p = sub.add_parser(name)
        p.add_argument("folder", type=Path)
        if name == "variants":
            p.add_argument("specs", nargs="+", help="NAME=VARIABLE:VALUE (a Tesseract variable)")
        p.add_argument("--top", type=int, default=None, help="only the N costliest images")
        p.add_argument("--repeat", type=int, default=2, help="reads per image; the least time counts")
    args = parser.parse_args(argv)
    if args.command == "save":
        return save(args.folder)
    if args.command == "split":
        return split(args.folder, args.top, args.repeat)
    return variants(args.folder, args.specs, args.top, args.repeat)


if __name__ == "__main__":
    sys.exit(main())
