"""A page tree whose /Count lies, counted again from its leaves.

MuPDF takes the number of pages from the root's /Count: a one-page file saying ``/Count 1000000`` (or a
negative count) failed whole with ``Invalid number of pages``, one saying ``/Count 0`` with ``no pages``,
though its page reads. Other readers count the tree. Here the tree is walked once (each node once, so a
cycle or a node listed twice counts once; iteratively, whatever its depth) and each /Pages node's /Count is
set, in memory, to the leaves below it.
"""

from __future__ import annotations

import re

import pymupdf

REF = re.compile(r"(\d+)\s+\d+\s+R\b")


def recount_pages(doc: pymupdf.Document) -> int | None:
    """Set every /Count of ``doc``'s page tree to the pages under that node; the pages found, or None when
    the catalog names no page tree. A node reached again (a cycle, a page listed twice) counts where it was
    first reached only."""
    kind, value = doc.xref_get_key(doc.pdf_catalog(), "Pages")
    if kind != "xref":
        return None
    root = int(value.split()[0])
    counts: dict[int, int] = {}
    seen = {root}
    stack = [(root, _kids(doc, root), 0)]
    while stack:
        node, kids, i = stack[-1]
        while i < len(kids) and kids[i] in seen:
            i += 1
        if i == len(kids):
            stack.pop()
            counts[node] = _leaves(doc, node, kids, counts)
            continue
        stack[-1] = (node, kids, i + 1)
        seen.add(kids[i])
        stack.append((kids[i], _kids(doc, kids[i]), 0))
    return counts[root]


def _kids(doc: pymupdf.Document, node: int) -> list[int]:
    """The node's /Kids; [] for a page."""
    if doc.xref_get_key(node, "Type")[1] == "/Page":
        return []
    kind, value = doc.xref_get_key(node, "Kids")
    if kind == "xref":
        value = doc.xref_object(int(value.split()[0]))
    elif kind != "array":
        return []
    last = doc.xref_length()
    return [int(x) for x in REF.findall(value) if 0 < int(x) < last]


def _leaves(doc: pymupdf.Document, node: int, kids: list[int], counts: dict[int, int]) -> int:
    """Pages under ``node``, from the counts of the kids it reached first (``counts`` pops them), written as
    its /Count when it is no page."""
    if doc.xref_get_key(node, "Type")[1] == "/Page":
        return 1
    reached = [kid for kid in dict.fromkeys(kids) if kid in counts]
    total = sum(counts.pop(kid) for kid in reached)
    if doc.xref_object(node, compressed=True).startswith("<<"):  # a removed object reads as null: no page
        doc.xref_set_key(node, "Count", str(total))
        if len(reached) < len(doc.xref_get_key(node, "Kids")[1].split()) // 3:
            # a kid listed again, or a node above it (a cycle): MuPDF refuses the whole tree
            doc.xref_set_key(node, "Kids", "[" + " ".join(f"{kid} 0 R" for kid in reached) + "]")
    return total
