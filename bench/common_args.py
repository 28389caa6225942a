"""The command line the retrieval replays share: tune_retrieval, tune_fields, retrieval_misses, ablate_fields.

Each replays a dump written by ``bench/retrieval.py --dump``; the sized ones re-open the data folders the dump
was taken from (``--data SIZE=DATA_DIR``, once a size) under one ``--profile``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

MIN_GAIN_HELP = "Smallest tuning MRR gain of a step."


def replay_parser(doc: str | None, *, sized: bool = True) -> argparse.ArgumentParser:
    """The dump (positional) and, when ``sized``, ``--data SIZE=DATA_DIR`` (repeated) and ``--profile``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    if sized:
        parser.add_argument(
            "--data", action="append", required=True, help="SIZE=DATA_DIR (the dump's folders)"
        )
        parser.add_argument("--profile", default="offline")
    return parser


def data_folders(items: list[str]) -> dict[str, Path]:
    """``--data`` items as ``{size: folder}``, in the order given."""
    return {size: Path(folder) for size, folder in (item.split("=", 1) for item in items)}


def fusion_pair(text: str) -> tuple[int, float]:
    """``--fusion K,W``: an RRF k and a lexical weight (an argparse ``type``)."""
    try:
        k, w = text.split(",")
        return int(k), float(w)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K,W (such as 60,1.0), got {text!r}") from None
