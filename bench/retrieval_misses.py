"""Why the tuning half's questions miss rank 1: a count per class and size (the reporting half is never read).

Replays a dump of ``bench/retrieval.py --dump FILE`` with the offline profile's fusion and priors
(``bench/tune_retrieval.py``'s replay) against the data folders it was made from (for the stored rows of
answers the first stage did not recall). Each tuning question whose answer is not at rank 1 goes to the
first class that fits:

1. ``not extracted``: no stored unit is the answer, so no ranking can find it;
2. ``words not in its text``: the answer's stored text (label, title, caption, figure text with OCR
   words, nearby text, document name) holds under half of the question's content terms: the words are only
   pixels (a picture OCR did not read, an empty slide shape) or the question describes what it looks like;
3. ``same-document neighbour``: the rank-1 figure is another figure of the answer's own document;
4. ``look-alike from another document``: the rank-1 figure is from another document.

    .venv/bin/python bench/retrieval_misses.py DUMP --data full=/tmp/x/offline-full-... [--data labelled=...]
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from common_args import data_folders, replay_parser  # noqa: E402
from tune_fields import SizeData  # noqa: E402
from tune_retrieval import Setting, configured_setting, load, ordered, rank_of  # noqa: E402

from figvault.retrieval.evaluation import EvalQuery, is_hit  # noqa: E402
from figvault.retrieval.evidence import Candidate, coverage, terms  # noqa: E402

CLASSES = (
    "not extracted",
    "words not in its text",
    "same-document neighbour",
    "look-alike from another document",
)
WORDS_FLOOR = 0.5
"""Below this share of the question's content terms in the answer's own stored text, class 2."""


def answers(query: EvalQuery, rows: Mapping[str, Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [
        r
        for r in rows.values()
        if is_hit(
            query,
            r["doc"],
            int(r.get("page", 0)),
            r.get("label") or None,
            (r.get("geometry") or {}).get("bbox"),
        )
    ]


def classify(line: dict[str, Any], setting: Setting, rows: Mapping[str, Mapping[str, Any]]) -> str:
    query = EvalQuery.model_validate(line["query"])
    found = answers(query, rows)
    if not found:
        return CLASSES[0]
    asked = terms(query.query)
    best = max(coverage(asked, Candidate("", 0.0, {}, row).full_text()) for row in found)
    if best < WORDS_FLOOR:
        return CLASSES[1]
    top = ordered(line, setting)[0]
    return CLASSES[2] if top.doc == query.doc else CLASSES[3]


def main() -> None:
    parser = replay_parser(__doc__)
    args = parser.parse_args()
    setting = configured_setting(args.profile)
    print(f"replayed setting: {setting}")
    tuning = [x for x in load(args.dump) if x["split"] == "tune" and x["query"].get("doc")]
    print(f"\n| size | tuning questions | misses at rank 1 | {' | '.join(CLASSES)} |")
    print("| --- " * (3 + len(CLASSES)) + "|")
    for size, folder in data_folders(args.data).items():
        rows = SizeData(folder, args.profile).rows
        lines = [x for x in tuning if x["size"] == size]
        misses = {x["id"]: classify(x, setting, rows) for x in lines if rank_of(x, setting) != 1}
        counts = [sum(1 for c in misses.values() if c == name) for name in CLASSES]
        print(f"| {size} | {len(lines)} | {len(misses)} | {' | '.join(map(str, counts))} |")
        for name in CLASSES:
            print(f"  {size}, {name}: {', '.join(sorted(q for q, c in misses.items() if c == name))}")
        own_doc = [
            x
            for x in lines
            if misses.get(x["id"]) == CLASSES[1] and ordered(x, setting)[0].doc == x["query"]["doc"]
        ]
        print(f"  {size}, {CLASSES[1]}, rank 1 from the answer's own document: {len(own_doc)}")


if __name__ == "__main__":
    main()
