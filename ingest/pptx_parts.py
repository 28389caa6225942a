"""Each part a deck's relationships name is the kind of part they say, checked before python-pptx opens it.

python-pptx picks a part's class from its content type and the class of its XML from the root element's
tag, and trusts a relationship to name the kind of part its type says. A package whose presentation part
holds a slide layout, whose ``.rels`` part holds a slide, or whose slide's chart relationship names the
slide itself (members swapped, relationships pointing at the wrong part or their own: the fuzz campaign's
mutants, bench/fuzz_files.py) failed deep inside python-pptx with a bare ``AttributeError: 'SlidePart'
object has no attribute 'chart'``, which says nothing to the person who uploaded it. Here every ``.rels``
part must be a relationships part, and each relationship of a type python-pptx follows while the deck is
read (the presentation, slides, notes, charts, the document's properties: EXPECTED) must name a part of that
content type whose root element is that type's, and a slide or chart relationship must name a part the
package holds (MUST_EXIST), and none may point outside the package (an external TargetMode): else the
deck is refused with a reason naming the part. Another relationship to
a part that is not in the package is left to python-pptx and the extractor (it is read without it).
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
import zlib

from lxml import etree
from pptx.opc.constants import CONTENT_TYPE as CT
from pptx.opc.constants import RELATIONSHIP_TYPE as RT

from figvault.errors import UnsupportedFileError

EXPECTED: dict[str, tuple[str | None, str]] = {
    RT.OFFICE_DOCUMENT: (None, "presentation"),  # its content type python-pptx checks itself, by name
    RT.SLIDE: (CT.PML_SLIDE, "sld"),
    RT.NOTES_SLIDE: (CT.PML_NOTES_SLIDE, "notes"),
    RT.CHART: (CT.DML_CHART, "chartSpace"),
    RT.CORE_PROPERTIES: (CT.OPC_CORE_PROPERTIES, "coreProperties"),
}
"""Relationship type -> (the content type of the part it names, that part's root element): the relationships
whose target python-pptx reads through its own class when the extractor reads a deck. Each of them made to
name a part of another kind (a slide, a layout, the presentation part) in a generated deck, with the code
before this check: every one failed (``AttributeError``, a ``RecursionError`` for notes naming their own
slide), the whole deck lost.
A layout, master, notes master, theme, picture or properties relationship naming the wrong part was read
(python-pptx does not follow it while the extractor reads, or reads its bytes only): not checked, the deck
is read as before."""
RELATIONSHIPS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationships"
"""The root of a ``.rels`` part: one in another namespace (a fuzzed byte) failed as a root of another name
did, ``AttributeError: 'lxml.etree._Element' object has no attribute 'relationship_lst'``."""
MUST_EXIST = {RT.SLIDE, RT.CHART}
"""Relationships whose target must be in the package: python-pptx leaves out a relationship to a missing part,
and the presentation's list of slides or a slide's chart frame then looked its id up and failed with a bare
``KeyError: "no relationship with key 'rId3'"`` (fuzz seed 11, members removed). Measured with the code
before the check, every relationship of a generated deck made to name a missing part: only these two (and
the presentation's own, which python-pptx refuses in words) failed the deck; a missing picture, layout,
master, theme, notes slide or properties part was read without it."""
PML = "http://schemas.openxmlformats.org/presentationml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
HEAD_BYTES = 4096
"""How much of a part is read for its root element: it follows the XML declaration."""
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)
_SKIPPED = re.compile(rb"<!--.*?-->|<\?.*?\?>|<!DOCTYPE(?:[^\[>]|\[.*?\])*>", re.S)
_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?([A-Za-z_][\w.-]*)[\s/>]")


def check_part_kinds(data: bytes) -> None:
    """Raise UnsupportedFileError when a ``.rels`` part is no relationships part, or a relationship of a type
    in EXPECTED names a part of another content type or root element. ``data`` has passed
    ``safety.check_zip_container`` (its member names are unique and safe). A package without a readable
    ``[Content_Types].xml`` is left to python-pptx, which refuses it with its reason."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        types = _content_types(zf, names)
        if types is None:
            return
        roots: dict[str, str | None] = {}
        for rels in sorted(n for n in names if n.endswith(".rels")):
            tree = _parsed(zf, rels)
            if tree is None:  # unreadable XML: python-pptx says why when it opens the deck
                continue
            if tree.tag != RELATIONSHIPS:  # python-pptx's classes are by namespace and name
                _refuse(f"{rels} is not a relationships part (its root element is <{tree.tag}>)")
            base = _source_folder(rels)
            for rel in tree:
                want = EXPECTED.get(rel.get("Type", "")) if isinstance(rel.tag, str) else None
                if want is None:
                    continue
                _check_inside(rels, rel)
                target = _resolved(base, rel.get("Target", ""))
                if target not in names:
                    _check_present(rels, rel, target)
                    continue
                if target not in roots:
                    roots[target] = _root_element(zf, target)
                _check_target(
                    rels, rel, target, types.get(target, _default_type(types, target)), roots[target]
                )
        _check_slide_list(zf, names, types)


def _check_target(
    rels: str, rel: etree._Element, target: str, found_type: str, found_root: str | None
) -> None:
    """Refuse when ``target``'s content type (``""``: none, python-pptx says so) or root element (None: not
    seen) is not the one relationship ``rel`` of part ``rels`` names."""
    content_type, root = EXPECTED[rel.get("Type", "")]
    retyped = content_type is not None and found_type not in ("", content_type)
    if retyped or found_root not in (None, root):
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        _refuse(
            f"{rels}: its {kind} relationship {rel.get('Id')!r} names {target}, which is <{found_root}>"
            f" ({found_type or 'no content type'}): {kind} relationships name <{root}> parts"
        )


def _check_slide_list(zf: zipfile.ZipFile, names: set[str], types: dict[str, str]) -> None:
    """Refuse when the presentation's slide list names a relationship id its ``.rels`` part does not define
    (the part removed, or the relationship): python-pptx reads the list whenever a deck's slides are asked
    for, and failed with a bare ``KeyError: "no relationship with key 'rId7'"`` (fuzz seed 13)."""
    part, rels = _presentation_part(zf, names)
    if part not in names:
        return  # python-pptx refuses a package without its presentation part, in words
    presentation = _parsed(zf, part)
    related, why = _parse(zf, rels) if rels in names else (None, "")
    if why:  # its ids unknown: "lists slide 'rId7', which its relationships do not name" would be wrong
        _refuse(f"{rels} cannot be read: {why}")
    defined = _targets(related, posixpath.dirname(part))
    for listed in presentation.iter(f"{{{PML}}}sldId") if presentation is not None else []:
        rid = listed.get(f"{{{R}}}id")
        if rid not in defined:
            _refuse(f"{part} lists slide {rid!r}, which its relationships ({rels}) do not name")
        # python-pptx takes the part's class from its content type, whatever the relationship's Type says:
        # a slide master listed as a slide failed with a bare AttributeError (a review).
        target = defined[rid]
        kind = types.get(target, _default_type(types, target))
        if target in names and kind != CT.PML_SLIDE:
            _refuse(f"{part} lists slide {rid!r}, which names {target}, a part of type {kind or 'none'}")


def _presentation_part(zf: zipfile.ZipFile, names: set[str]) -> tuple[str, str]:
    """The presentation part the package's relationships name (``""``: none) and the name of its ``.rels``."""
    package = _parsed(zf, "_rels/.rels") if "_rels/.rels" in names else None
    found = (
        [r.get("Target", "") for r in package if r.get("Type") == RT.OFFICE_DOCUMENT]
        if package is not None
        else []
    )
    part = _resolved("", found[0]) if found else ""
    return part, posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")


def _targets(related: etree._Element | None, base: str) -> dict[str | None, str]:
    """Each relationship's id -> the member its target names, from ``base`` (comments skipped)."""
    if related is None:
        return {}
    return {r.get("Id"): _resolved(base, r.get("Target") or "") for r in related if isinstance(r.tag, str)}


def _check_inside(rels: str, rel: etree._Element) -> None:
    """Refuse when relationship ``rel`` (of a type in EXPECTED) points outside the package: python-pptx
    follows it to a part and failed with a bare ``ValueError: `.target_part` property on _Relationship is
    undefined when target-mode is external`` (fuzz seed 21, ``outside_link``: a slide's chart relationship,
    the presentation's slide relationship)."""
    mode = (rel.get("TargetMode") or "Internal").strip()
    if mode != "Internal":
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        _refuse(
            f"{rels}: its {kind} relationship {rel.get('Id')!r} points outside the package (TargetMode"
            f" {mode[:20]!r}): {kind} relationships name a part inside it"
        )


def _check_present(rels: str, rel: etree._Element, target: str) -> None:
    """Refuse when relationship ``rel`` of a type in MUST_EXIST names a part the package does not hold."""
    if rel.get("Type", "") in MUST_EXIST:
        kind = rel.get("Type", "").rsplit("/", 1)[-1]
        _refuse(
            f"{rels}: its {kind} relationship {rel.get('Id')!r} names {target}, which is not in the package"
        )


def unparsed_part(data: bytes, error: str) -> str | None:
    """The member of package ``data`` whose XML fails to parse with ``error`` (python-pptx's parse error,
    which names no part), among those ``[Content_Types].xml`` types as XML; None when none does (or the
    package cannot be listed). Only asked once a deck has failed: each XML-typed part is parsed again."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        types = _content_types(zf, names) or {}
        for name in zf.namelist():
            if types.get(name, _default_type(types, name)).endswith("xml") and _parse(zf, name)[1] == error:
                return name
    return None


def slide_parse_errors(data: bytes) -> dict[str, str]:
    """The slides of package ``data`` (the parts its presentation's slide list names, each once; not any part
    typed or named like one), with why its XML does not parse (``""``: it does); each parsed once."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {name: _parse(zf, name)[1] for name in _listed_slides(zf, set(zf.namelist()))}


def _listed_slides(zf: zipfile.ZipFile, names: set[str]) -> list[str]:
    """The members the presentation's slide list names through its relationships (those present)."""
    part, rels = _presentation_part(zf, names)
    presentation = _parsed(zf, part) if part in names else None
    related = _parsed(zf, rels) if rels in names else None
    if presentation is None or related is None:
        return []
    types = _content_types(zf, names) or {}
    targets = _targets(related, posixpath.dirname(part))
    listed = [targets.get(s.get(f"{{{R}}}id")) for s in presentation.iter(f"{{{PML}}}sldId")]
    slides = [name for name in listed if name in names]
    return [
        name for name in dict.fromkeys(slides) if types.get(name, _default_type(types, name)) == CT.PML_SLIDE
    ]


def _refuse(reason: str) -> None:
    raise UnsupportedFileError(f"not a readable PPTX package: {reason}")


def _parsed(zf: zipfile.ZipFile, name: str) -> etree._Element | None:
    return _parse(zf, name)[0]


def _parse(zf: zipfile.ZipFile, name: str) -> tuple[etree._Element | None, str]:
    """The part's root element, or None and why it could not be read (the parser's or the zip's words)."""
    try:
        return etree.fromstring(zf.read(name), _PARSER), ""
    except (etree.XMLSyntaxError, zipfile.BadZipFile, ValueError, EOFError, zlib.error) as exc:
        return None, str(exc)


def _content_types(zf: zipfile.ZipFile, names: set[str]) -> dict[str, str] | None:
    """Part name (no leading slash) -> content type from the overrides; the defaults by extension are kept
    under ``*.ext``. None when ``[Content_Types].xml`` is missing or cannot be read."""
    tree = _parsed(zf, "[Content_Types].xml") if "[Content_Types].xml" in names else None
    if tree is None:
        return None
    types: dict[str, str] = {}
    for el in tree:
        if not isinstance(el.tag, str):
            continue
        kind, value = etree.QName(el).localname, el.get("ContentType", "")
        if kind == "Override":
            types[el.get("PartName", "").lstrip("/")] = value
        elif kind == "Default":
            types["*." + el.get("Extension", "").lower()] = value
    return types


def _default_type(types: dict[str, str], name: str) -> str:
    return types.get("*." + name.rsplit(".", 1)[-1].lower(), "")


def _root_element(zf: zipfile.ZipFile, name: str) -> str | None:
    """The local name of the part's root element, from its first bytes; None when they show none (another
    encoding, a long DOCTYPE): then python-pptx's parse is the check."""
    try:
        with zf.open(name) as part:
            head = part.read(HEAD_BYTES)
    except (zipfile.BadZipFile, ValueError, EOFError, zlib.error):
        return None
    head = _SKIPPED.sub(b"", head)
    found = None if b"<!DOCTYPE" in head else _ROOT.search(head)  # a DOCTYPE past the head: unknown
    return found.group(1).decode("ascii") if found else None


def _source_folder(rels: str) -> str:
    """``ppt/slides/_rels/slide1.xml.rels`` -> ``ppt/slides``; ``_rels/.rels`` (the package's) -> ``""``."""
    return posixpath.dirname(posixpath.dirname(rels))


def _resolved(base: str, target: str) -> str:
    """A relationship's target as a member name: relative to its source part's folder, or from the root."""
    if target.startswith("/"):
        return posixpath.normpath(target.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, target))
