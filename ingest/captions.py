"""Caption detection and label parsing, shared by the PDF and PPTX extractors.

A caption is text that starts with a figure (or table) word and a number: "Figure 3:", "Fig. 3.",
"FIGURE 3", "Figure 1 | ...", "Abbildung 2:", "Figura 4.", "图 5", ... Body text that merely starts with
"Figure 3 shows" is not a caption: the number must be followed by a delimiter, the end of the line, or the
label must be set apart typographically (bold label, as Springer-style "Fig. 3 Results" does).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class CaptionKind(StrEnum):
    FIGURE = "figure"
    TABLE = "table"
    LISTING = "listing"
    """Code listings and algorithms: captioned, but not figures."""


# Word -> what the caption introduces. Keys are matched case-insensitively, longest first.
_CAPTION_WORDS: dict[str, CaptionKind] = {
    "figure": CaptionKind.FIGURE,
    "figures": CaptionKind.FIGURE,
    "fig.": CaptionKind.FIGURE,
    "fig": CaptionKind.FIGURE,
    "figs.": CaptionKind.FIGURE,
    "abbildung": CaptionKind.FIGURE,
    "abb.": CaptionKind.FIGURE,
    "figura": CaptionKind.FIGURE,
    "figuur": CaptionKind.FIGURE,
    "rysunek": CaptionKind.FIGURE,
    "obrázek": CaptionKind.FIGURE,
    "рисунок": CaptionKind.FIGURE,
    "рис.": CaptionKind.FIGURE,
    "exhibit": CaptionKind.FIGURE,
    "chart": CaptionKind.FIGURE,
    "diagram": CaptionKind.FIGURE,
    "illustration": CaptionKind.FIGURE,
    "graph": CaptionKind.FIGURE,
    "grafik": CaptionKind.FIGURE,
    "schaubild": CaptionKind.FIGURE,
    "darstellung": CaptionKind.FIGURE,
    "bild": CaptionKind.FIGURE,
    "graphique": CaptionKind.FIGURE,
    "gráfico": CaptionKind.FIGURE,
    "grafico": CaptionKind.FIGURE,
    "图": CaptionKind.FIGURE,
    "圖": CaptionKind.FIGURE,
    "図": CaptionKind.FIGURE,
    "그림": CaptionKind.FIGURE,
    "table": CaptionKind.TABLE,
    "tab.": CaptionKind.TABLE,
    "tabelle": CaptionKind.TABLE,
    "tabla": CaptionKind.TABLE,
    "tableau": CaptionKind.TABLE,
    "tabela": CaptionKind.TABLE,
    "tabella": CaptionKind.TABLE,
    "表": CaptionKind.TABLE,
    "listing": CaptionKind.LISTING,
    "algorithm": CaptionKind.LISTING,
    "code": CaptionKind.LISTING,
}

_SENTENCE_OPENERS = frozenset({"bild", "darstellung"})
"""Caption words that also open ordinary sentences with a number after them ("Darstellung 3 Ergebnisse
..."): German capitalises every noun, so a capital after the number is no sign of a title; these need a
delimiter or a bold label."""

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
"""Kana, CJK ideographs, Hangul syllables: scripts without capitals, so a caption's title after the number
("图1 各地区销售额", "図2 売上高", "그림 3 지역별") is set apart by nothing but the script itself."""

_WORDS_ALT = "|".join(re.escape(w) for w in sorted(_CAPTION_WORDS, key=len, reverse=True))
# The number: "3", "3a", "3.2", "A.1", "S4", "10-2".
_NUMBER = r"(?:[A-Z]\.?)?\d+(?:[.\-–]\d+)*[a-z]?"
_CAPTION_START = re.compile(
    rf"^\s*(?P<word>{_WORDS_ALT})\s*(?P<num>{_NUMBER})(?P<rest>.*)$", re.IGNORECASE | re.DOTALL
)
# After the number: a delimiter ("Figure 3:", "Fig. 3.", "Figure 1 | x", "图 3 ："), or nothing.
_DELIMITER = re.compile(r"^\s*(?:[:.|：．\-–—)]|$)")
_CJK_WORD = re.compile(f"^[{_CJK}]")
_CJK_TITLE = re.compile(f"^\\s*[{_CJK}]")
_CJK_SENTENCE = re.compile(r"[，。！？!?]|\.\s*$")
_CJK_PREDICATE = re.compile(
    r"^\s*(?:显示|顯示|表明|所示|说明|說明|展示|描述|示す|[はがをにでのともへ]|[은는이가을를에의도])"
)
"""What opens a sentence's predicate right after a figure's number ("图1 显示了…", "図2 は…",
"그림 3 은…")."""


@dataclass(frozen=True)
class CaptionMatch:
    kind: CaptionKind
    label: str
    """Normalised label: "Figure 3", "Table 2", "Listing 1"."""
    number: str
    cited_as: str = ""
    """How the text cites this caption: the citation words of its caption word's family (``cited_as``);
    empty: the kind's first word ("Figure", "Table", "Listing")."""


def _normalise_label(kind: CaptionKind, number: str) -> str:
    word = {CaptionKind.FIGURE: "Figure", CaptionKind.TABLE: "Table", CaptionKind.LISTING: "Listing"}[kind]
    return f"{word} {number.replace('–', '-')}"


def _titled(word: str, rest: str, text: str) -> bool:
    """A short block whose title follows the number with no delimiter: "Figure 1-2 Core Pipeline" (title
    case), "图1 各地区销售额" (a CJK caption word, a space, then CJK script: no capitals to set it apart).
    Not after a word that opens sentences, nor a CJK block that reads as a sentence (``_CJK_SENTENCE``,
    ``_CJK_PREDICATE``: "图1显示了……。" is one)."""
    if word in _SENTENCE_OPENERS or len(text) > 200 or text.count("\n") > 2:
        return False
    if _CJK_WORD.match(word) and _CJK_TITLE.match(rest):
        # A title is no sentence: "그림 3은 …를 보여준다." and "図2は…" (the particle right after the
        # number), "图1 显示，…" (a comma, a predicate) are prose (a review).
        return not (_CJK_SENTENCE.search(text) or _CJK_PREDICATE.match(rest))
    return bool(re.match(r"^\s+[A-Z]", rest))


def match_caption(text: str, label_is_bold: bool = False) -> CaptionMatch | None:
    """The caption this text starts, or None.

    ``label_is_bold``: the word and number are set in a bolder font than what follows; that alone marks a
    caption even without a delimiter ("Fig. 3 Throughput of ...").
    """
    lines = text.strip().split("\n", 2)
    m = _CAPTION_START.match(lines[0])
    if m is None:
        return None
    rest = m.group("rest")
    # "... see Figure 3" + line break + "for the details": the line ended by chance, not a caption.
    if not rest.strip() and len(lines) > 1 and lines[1][:1].islower():
        return None
    # "Figure 3 shows ..." is a sentence of body text; a caption has a delimiter, ends, or is set apart.
    word = m.group("word").lower()
    if not (_DELIMITER.match(rest) or label_is_bold or _titled(word, rest, text)):
        return None
    # "Figure 3." followed by a lower-case word is a sentence end inside body text ("... in Figure 3. the").
    if re.match(r"^\s*\.\s+[a-z]", rest) and not label_is_bold:
        return None
    kind = _CAPTION_WORDS[word]
    number = m.group("num")
    return CaptionMatch(
        kind=kind, label=_normalise_label(kind, number), number=number, cited_as=cited_as(word)
    )


_CITED_AS = {
    "figure": r"(?:Figures?|Figs?\.?|FIGURES?)",
    "abbildung": r"(?:Abbildung(?:en)?|Abb\.)",
    "figura": r"(?:(?i:figuras?)|Figs?\.)",
    "gráfico": r"(?:(?i:gr[áa]ficos?)|Figs?\.)",
    "table": r"(?:Tables?|Tab\.|TABLES?)",
    "tabelle": r"(?:Tabellen?|Tab\.)",
    "tabla": r"(?:(?i:tablas?)|Tab\.)",
    "рисунок": r"(?i:рис\.|рисун(?:ок|ка|ке|ки|ков|кам|ках))",
    "code": r"(?:Code|CODE)",
}
"""Caption word -> how the text cites a label it captions, for the families with forms of their own: a
language's abbreviation ("Abb.", "Fig." in Spanish and Italian), its cases ("на рисунке 3"), capitals only
where the lower-case word is common prose ("error code 2" cites no listing)."""
_FAMILY = {
    "figures": "figure",
    "fig.": "figure",
    "fig": "figure",
    "figs.": "figure",
    "abb.": "abbildung",
    "tab.": "table",
    "grafico": "gráfico",
    "рис.": "рисунок",
}
"""Caption words that are a form of another's family ("Fig." of "Figure")."""
_NO_LETTER_BEFORE = r"(?<![^\W\d_])"
"""A citation word starts a word ("paragraph 3" does not cite "Graph 3", "flowchart 3" not "Chart 3");
not for CJK script, written without spaces ("如图3")."""


def cited_as(word: str) -> str:
    """How the text cites a label captioned with ``word``: its family's forms ("Figure 3" as "Fig. 3"; an
    "Exhibit 3" as "Exhibit 3" or "exhibit 3", never as "Figure 3": a report numbering its exhibits and its
    charts apart has an "Exhibit 3" and a "Chart 3"); other words as written, any case, plural allowed."""
    word = _FAMILY.get(word.lower(), word.lower())
    if _CJK_WORD.match(word):
        return re.escape(word)
    if word in _CITED_AS:
        return _NO_LETTER_BEFORE + _CITED_AS[word]
    plural = "s?" if word.isascii() and word.isalpha() else ""
    return f"{_NO_LETTER_BEFORE}(?i:{re.escape(word)}){plural}"


_DEFAULT_WORD = {CaptionKind.FIGURE: "figure", CaptionKind.TABLE: "table", CaptionKind.LISTING: "listing"}


def citation_pattern(match: CaptionMatch) -> re.Pattern[str]:
    """A regex finding the places that cite this label: "Figure 3", "Fig. 3" (not "Figs. 2 and 3")."""
    num = re.escape(match.number)
    return re.compile(rf"{_citation_words(match)}\s*{num}(?![\d.]\d|[a-zA-Z0-9])")


def _citation_words(match: CaptionMatch) -> str:
    return match.cited_as or cited_as(_DEFAULT_WORD[match.kind])


_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。])\s+(?=[A-Z0-9\"'(\[“])")


_ABBREVIATION_END = re.compile(
    r"\b(?:Figs?|FIGS?|Eqs?|Secs?|Tab|No|Nos|al|e\.g|i\.e|vs|cf|Ref|Refs|Abb|Abs|Kap|Nr|Ch|pp?|Vol)\.$"
)


def split_sentences(text: str) -> list[str]:
    """Rough sentence split of page text (hyphenated line breaks joined, whitespace collapsed)."""
    flat = re.sub(r"-\n(?=[a-z])", "", text)
    flat = re.sub(r"\s+", " ", flat).strip()
    if not flat:
        return []
    sentences: list[str] = []
    for piece in _SENTENCE_SPLIT.split(flat):
        # "see Fig. 2 below": the split after an abbreviation was wrong; join the pieces again.
        if sentences and _ABBREVIATION_END.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {piece}"
        elif piece.strip():
            sentences.append(piece.strip())
    return sentences


def _citing(sentences: list[str], pattern: re.Pattern[str], limit: int, max_chars: int) -> list[str]:
    found: list[str] = []
    for sentence in sentences:
        if pattern.search(sentence) and match_caption(sentence) is None:
            found.append(sentence[:max_chars])
            if len(found) >= limit:
                break
    return found


_DIGIT_RUN = re.compile(r"[0-9]+")


class CitationIndex:
    """A document's pages split into sentences once, and by family of caption word the sentences that name
    one ("Figure", "Fig.", ...) indexed by their runs of digits: the only ones that can cite a caption are
    those holding its family's citation words and every run of digits of its number. Each caption used to
    split every page again, then search every page's naming sentences (figures x pages: a 1,000-page report
    of a figure a page ran past its 120 s budget). The same sentences as splitting and searching each page:
    a citation is a citation word, then the number, which no digit precedes or follows
    (``citation_pattern``); the caption itself is excluded by the caller."""

    def __init__(self, page_texts: dict[int, str]) -> None:
        self.page_texts = page_texts
        self._sentences: dict[int, list[str]] | None = None
        self._naming: dict[str, dict[int, list[str]]] = {}
        self._by_digits: dict[str, dict[str, dict[int, list[str]]]] = {}

    def sentences(self) -> dict[int, list[str]]:
        """Page number -> its sentences (``split_sentences``), split once."""
        if self._sentences is None:
            self._sentences = {number: split_sentences(text) for number, text in self.page_texts.items()}
        return self._sentences

    def pages_naming(self, words: str) -> dict[int, list[str]]:
        """Page number -> its sentences that hold one of ``words`` (a family's citation words, as
        ``_citation_words`` gives them), for the pages that have some."""
        if words not in self._naming:
            found_words = re.compile(words)
            naming = {n: [s for s in found if found_words.search(s)] for n, found in self.sentences().items()}
            self._naming[words] = {n: found for n, found in naming.items() if found}
        return self._naming[words]

    def _pages_with_digits(self, words: str, digits: str) -> dict[int, list[str]]:
        if words not in self._by_digits:
            index: dict[str, dict[int, list[str]]] = {}
            for number, found in self.pages_naming(words).items():
                for sentence in found:
                    for run in dict.fromkeys(_DIGIT_RUN.findall(sentence)):
                        index.setdefault(run, {}).setdefault(number, []).append(sentence)
            self._by_digits[words] = index
        return self._by_digits[words].get(digits, {})

    def citing_by_page(self, match: CaptionMatch, near: int) -> Iterator[list[str]]:
        """The sentences citing ``match``'s label, a page's at a time (at most 3 a page): page ``near``
        first, then its neighbours, then the rest; pages with none are left out."""
        # A citing sentence holds every run of digits of the number ("3.41": 3 and 41): the fewest pages.
        runs = _DIGIT_RUN.findall(match.number)
        words = _citation_words(match)
        buckets = [self._pages_with_digits(words, run) for run in runs]
        # A number of other digits only: every naming sentence.
        pages = min(buckets, key=len) if buckets else self.pages_naming(words)
        pattern = citation_pattern(match)
        for number in sorted(pages, key=lambda n: (abs(n - near), n)):
            found = _citing(pages[number], pattern, 3, 400)
            if found:
                yield found
