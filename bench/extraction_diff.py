"""Check that a speed change leaves extraction's output alone: dump every unit, then compare two dumps.

    python bench/extraction_diff.py dump before.jsonl [--ocr off] [--tune] [--ocr-timeout S]
    python bench/extraction_diff.py compare before.jsonl after.jsonl

``dump`` extracts the corpus (PDFs and PPTX) and, with ``--tune``, the tuning part of the hand-labelled set
(never the report part), and writes one JSON line per unit: where it is, its fields, the OCR lines of its
``figure_text`` and a hash of its image's *pixels* (so a PNG encoded differently but showing the same
picture compares equal). ``compare`` prints the units and fields that differ and the OCR words gained and
lost, and exits 1 when anything differs.

``dump`` reads with an OCR time limit of ``--ocr-timeout`` seconds (default 600, not
``extract.ocr_timeout_s``'s 20): on a loaded machine a read past 20 s of wall time is cut, and its words
would show as lost in a comparison that is about the code, not the load.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from extraction import corpus_dir, corpus_files, distractors_dir, new_set_part, run_extraction

from figvault.settings import ExtractSettings
from figvault.units import split_figure_text

FIELDS = ("kind", "label", "title", "caption", "context", "text", "ocr", "width", "height", "pixels")


def pixel_hash(png: bytes) -> str:
    with Image.open(io.BytesIO(png)) as image:
        return hashlib.sha1(image.mode.encode() + repr(image.size).encode() + image.tobytes()).hexdigest()


def dump(out: Path, ocr: bool, tune: bool, ocr_timeout_s: float = 600.0) -> int:
    files = corpus_files(corpus_dir())
    if tune:
        docs, _ = new_set_part("tune")
        files += [distractors_dir() / "docs" / name for name in docs]
    extractions, failed, _ = run_extraction(files, ExtractSettings(ocr=ocr, ocr_timeout_s=ocr_timeout_s))
    rows = []
    for ex in extractions:
        for figure in ex.figures:
            unit = figure.unit
            text, ocr_text = split_figure_text(unit.figure_text)
            rows.append(
                {
                    "key": f"{unit.doc}|{unit.page}|{','.join(f'{v:.1f}' for v in unit.bbox)}",
                    "kind": str(unit.kind),
                    "label": unit.label,
                    "title": unit.title,
                    "caption": unit.caption,
                    "context": unit.context,
                    "text": text,
                    "ocr": ocr_text,
                    "width": unit.width,
                    "height": unit.height,
                    "pixels": pixel_hash(figure.png),
                }
            )
    rows.sort(key=lambda row: row["key"])
    out.write_text("".join(json.dumps(row) + "\n" for row in rows))
    print(f"{len(rows)} units from {len(extractions)} documents, {len(failed)} failed -> {out}")
    return 0


def _load(path: Path) -> dict[str, dict[str, object]]:
    return {row["key"]: row for row in map(json.loads, path.read_text().splitlines())}


def _words(rows: dict[str, dict[str, object]]) -> set[tuple[str, str]]:
    return {(key, word) for key, row in rows.items() for word in str(row["ocr"]).split()}


def compare(before_path: Path, after_path: Path) -> int:
    before, after = _load(before_path), _load(after_path)
    only_before, only_after = sorted(before.keys() - after.keys()), sorted(after.keys() - before.keys())
    changed = {
        field: [k for k in before.keys() & after.keys() if before[k][field] != after[k][field]]
        for field in FIELDS
    }
    lost, gained = _words(before) - _words(after), _words(after) - _words(before)
    print(f"units: {len(before)} before, {len(after)} after", end="; ")
    print(f"only before {len(only_before)}, only after {len(only_after)}")
    for key in only_before[:10] + only_after[:10]:
        print(f"  {'-' if key in before else '+'} {key}")
    for field, keys in changed.items():
        if keys:
            print(f"{field}: {len(keys)} units differ, e.g. {sorted(keys)[:3]}")
    ocr_words = len(_words(before))
    print(
        f"OCR words: {ocr_words} before, {len(_words(after))} after; lost {len(lost)}, gained {len(gained)}"
    )
    for key, word in sorted(lost)[:15]:
        print(f"  - {word!r} ({key})")
    for key, word in sorted(gained)[:15]:
        print(f"  + {word!r} ({key})")
    differs = only_before or only_after or any(changed.values())
    print("IDENTICAL" if not differs else "DIFFERENT")
    return 1 if differs else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("dump")
    d.add_argument("out", type=Path)
    d.add_argument("--ocr", choices=("on", "off"), default="on")
    d.add_argument("--tune", action="store_true", help="also the tuning part of the hand-labelled set")
    d.add_argument("--ocr-timeout", type=float, default=600.0, help="OCR time limit per image (seconds)")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    if args.command == "dump":
        return dump(args.out, args.ocr == "on", args.tune, args.ocr_timeout)
    return compare(args.before, args.after)


if __name__ == "__main__":
    sys.exit(main())
