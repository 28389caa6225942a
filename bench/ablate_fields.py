"""Retrieval gain from OCR words and titles: the same stored units indexed again without them.

For each data folder of ``bench/retrieval.py`` (the dump's, ``--data SIZE=DIR``) the stored rows are read
once and indexed again in memory per variant: ``stored`` (as they are), ``no OCR`` (the words after the
``[ocr]`` line of ``figure_text`` removed), ``no titles`` (``title`` empty) and ``neither``. Both text
channels see the change: the BM25F index is built anew from the changed rows (``LexicalIndex``), and the
text channel's unit vectors are encoded anew from what it embeds (``schema.text_channel_input``'s rule:
own words, plus the page's text when there is no caption). The dump's questions are asked of each variant
(text top 50 by cosine, lexical top 50 by BM25F, the caller's whole tenant as the bench asks), fused and
reordered with the configured profile (``bench/tune_retrieval.py``'s replay) and scored per question set
and half. ``stored`` should match the engine (``bench/retrieval.py``) up to tie order.

    .venv/bin/python bench/ablate_fields.py DUMP --data full=/tmp/x/offline-full-... [--data labelled=...]
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import data_folders, replay_parser  # noqa: E402
from tune_retrieval import CANDIDATE_K, HALVES, configured_setting, load, table_row  # noqa: E402

from figvault.retrieval.lexical_index import LexicalIndex, Scope  # noqa: E402
from figvault.retrieval.schema import F_ID, LEXICAL  # noqa: E402
from figvault.retrieval.search import SearchEngine  # noqa: E402
from figvault.settings import load_settings  # noqa: E402
from figvault.units import split_figure_text  # noqa: E402

Row = dict[str, Any]
SCOPE = Scope("default", None)
"""The bench's caller: the whole default tenant."""


def no_ocr(row: Row) -> Row:
    return {**row, "figure_text": split_figure_text(row.get("figure_text") or "")[0]}


def no_titles(row: Row) -> Row:
    return {**row, "title": ""}


VARIANTS: dict[str, Callable[[Row], Row]] = {
    "stored": lambda row: row,
    "no OCR": no_ocr,
    "no titles": no_titles,
    "neither": lambda row: no_titles(no_ocr(row)),
}


def text_input(row: Mapping[str, Any]) -> str:
    """What the text channel embeds for a stored row (``schema.text_channel_input`` on rows)."""
    parts = [row.get(k) or "" for k in ("label", "title", "caption", "context", "figure_text")]
    own = "\n".join(p for p in parts if p)
    if (row.get("caption") or "").strip():
        return own
    return f"{own}\n{row.get('page_text') or ''}".strip()


class Variant:
    """One size's units, changed by one variant, indexed in memory by both text channels."""

    def __init__(self, engine: SearchEngine, rows: list[Row], change: Callable[[Row], Row], schema: Any):
        self.rows = [change(r) for r in rows]
        self.by_id = {r[F_ID]: r for r in self.rows}
        self.index = LexicalIndex(engine.lexical.analyzer, schema)
        self.index.upsert(self.rows)
        self.params = engine.lexical.params
        self.ids = [r[F_ID] for r in self.rows]
        self.vectors = np.asarray(engine.encoders.text.encode_texts([text_input(r) for r in self.rows]))

    def line(self, line: dict[str, Any], question: np.ndarray) -> dict[str, Any]:
        """``line`` with both channels' top ``CANDIDATE_K`` asked of this variant."""
        cosines = self.vectors @ question
        top = np.argsort(-cosines)[:CANDIDATE_K]
        entries: dict[str, dict[str, Any]] = {}
        for i in top:
            uid = self.ids[int(i)]
            entries[uid] = {"unit_id": uid, "channels": {"text": float(cosines[i])}, "row": self.by_id[uid]}
        for uid, score in self.index.search(line["query"]["query"], SCOPE, CANDIDATE_K, self.params):
            entry = entries.setdefault(uid, {"unit_id": uid, "channels": {}, "row": self.by_id[uid]})
            entry["channels"][LEXICAL] = score
        return {**line, "candidates": list(entries.values())}


def size_rows(engine: SearchEngine) -> tuple[list[Row], Any]:
    collection = engine.store.served_collection()
    assert collection, "nothing indexed"
    mirror = engine.lexical.sync(collection).mirror
    fields = sorted(set(mirror.source_fields) | {"geometry", "kind", "label", "caption", "title", "meta"})
    fields = [f for f in fields if f not in engine.store.absent_fields(collection)]
    rows = [dict(r) for r in engine.store.query_rows(collection, f'{F_ID} != ""', fields)]
    return rows, mirror.schema


def main() -> None:
    parser = replay_parser(__doc__)
    parser.add_argument("--tune-only", action="store_true", help="Print the tuning halves only.")
    args = parser.parse_args()
    if args.tune_only:
        HALVES.remove("report")
    setting = configured_setting(args.profile)
    answerable = [x for x in load(args.dump) if x["query"].get("doc")]
    head = "".join(f"| {h} R@1 | {h} R@5 | {h} R@10 | {h} MRR | {h} n " for h in HALVES)
    for size, folder in data_folders(args.data).items():
        engine = SearchEngine.from_settings(load_settings(args.profile, data_dir=folder))
        rows, schema = size_rows(engine)
        lines = [x for x in answerable if x["size"] == size]
        text = engine.encoders.text
        encode = getattr(text, "encode_questions", text.encode_texts)  # as encoders/questions.py asks
        questions = np.asarray(encode([x["query"]["query"] for x in lines]))
        print(f"\n### {size}: {len(rows)} units\n\n| variant: questions {head}|")
        print("| --- " * (1 + 5 * len(HALVES)) + "|")
        for name, change in VARIANTS.items():
            variant = Variant(engine, rows, change, schema)
            asked = [variant.line(x, q) for x, q in zip(lines, questions, strict=True)]
            for source in ("all", *sorted({x["source"] for x in asked})):
                subset = [x for x in asked if source in ("all", x["source"])]
                print(table_row(f"{name}: {source}", subset, setting), flush=True)


if __name__ == "__main__":
    main()
