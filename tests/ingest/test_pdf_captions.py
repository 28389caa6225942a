"""Caption detection, label normalisation and citation search (figvault.ingest.captions)."""

from __future__ import annotations

import re
from pathlib import Path

import pymupdf
import pytest

from figvault.ingest import captions
from figvault.ingest.captions import CaptionKind, match_caption, split_sentences
from figvault.ingest.extract import extract_document
from figvault.settings import ExtractSettings


@pytest.mark.parametrize(
    ("text", "kind", "label"),
    [
        ("Figure 3: Throughput per core.", CaptionKind.FIGURE, "Figure 3"),
        ("Fig. 3. Throughput per core.", CaptionKind.FIGURE, "Figure 3"),
        ("FIGURE 3", CaptionKind.FIGURE, "Figure 3"),
        ("Figure 1 | Attention architecture.", CaptionKind.FIGURE, "Figure 1"),
        ("Figure 12 - Deployment view", CaptionKind.FIGURE, "Figure 12"),
        ("Abbildung 2: Aufbau der Anlage", CaptionKind.FIGURE, "Figure 2"),
        ("Figura 4. Distribución de costes", CaptionKind.FIGURE, "Figure 4"),
        ("图 5 系统架构", CaptionKind.FIGURE, "Figure 5"),  # CJK script after the number sets it apart
        ("图1 各地区销售额", CaptionKind.FIGURE, "Figure 1"),
        ("图3各省人口分布", CaptionKind.FIGURE, "Figure 3"),
        ("図2 売上高の推移", CaptionKind.FIGURE, "Figure 2"),
        ("그림 3 지역별 매출", CaptionKind.FIGURE, "Figure 3"),
        ("表 2 各地区销售额", CaptionKind.TABLE, "Table 2"),
        ("图 5 System overview", CaptionKind.FIGURE, "Figure 5"),  # title case after a CJK word: as before
        ("Grafik 3: Entwicklung der Mitarbeiterzahl", CaptionKind.FIGURE, "Figure 3"),
        ("Schaubild 2 - Umsatz", CaptionKind.FIGURE, "Figure 2"),
        ("Darstellung 4: Kosten", CaptionKind.FIGURE, "Figure 4"),
        ("Bild 2 – Aufbau der Anlage", CaptionKind.FIGURE, "Figure 2"),
        ("Graph 1: Sales", CaptionKind.FIGURE, "Figure 1"),
        ("GRAPHIQUE 2 : Évolution du chiffre d'affaires", CaptionKind.FIGURE, "Figure 2"),
        ("Gráfico 5. Ventas por región", CaptionKind.FIGURE, "Figure 5"),
        ("Grafico 1 | Vendite", CaptionKind.FIGURE, "Figure 1"),
        ("Grafik 7 Umsatz je Region", CaptionKind.FIGURE, "Figure 7"),  # title case, as "Figure 3 Revenue"
        ("图 5：系统架构", CaptionKind.FIGURE, "Figure 5"),
        ("Figure A.1: Appendix chart", CaptionKind.FIGURE, "Figure A.1"),
        ("Table 2: Results", CaptionKind.TABLE, "Table 2"),
        ("TABLE 4. Parameters", CaptionKind.TABLE, "Table 4"),
        ("Listing 1: The handler", CaptionKind.LISTING, "Listing 1"),
        ("Figure 1-2 VeeR EH1 Core Pipeline", CaptionKind.FIGURE, "Figure 1-2"),
        ("Table 3-3 I-Cache Error Counter", CaptionKind.TABLE, "Table 3-3"),
    ],
)
def test_caption_forms(text: str, kind: CaptionKind, label: str | None) -> None:
    match = match_caption(text)
    if label is None:
        assert match is None
        return
    assert match is not None and match.kind is kind and match.label == label


@pytest.mark.parametrize(
    "text",
    [
        "Figure 3 shows the throughput per core.",
        "Figures are drawn to scale.",
        "In Figure 3: no, this starts with a word.",
        "Figure 3\nshows that the line broke by chance.",
        "Configuration 3: not a caption word",
        "Figure 3 The long sentence that runs on as body text and keeps going past any caption length, "
        "explaining details of the measurement setup, the hardware, the software versions and the "
        "methodology behind every number that the plot shows to the reader.",
        # German sentences opening with a caption word and a number ("Figure 3 of the results shows ...")
        "Darstellung 3 der Ergebnisse zeigt, dass die Kosten gestiegen sind.",
        "Bild 2 zeigt den Aufbau der Anlage im Detail.",
        "Graph 4 shows the monthly active users across regions.",
        "Grafik 3 zeigt den Umsatz.",
        # German capitalises nouns: after these openers a capital is no title ("Figure 3 results ...")
        "Darstellung 3 Ergebnisse der Befragung wurden im Mai erhoben.",
        "Bild 4 Aufnahmen der Anlage liegen im Archiv.",
        "Bildung 3: not a caption word",
        # A CJK sentence ("Figure 1 shows ...") ends in a full stop; a long block is a paragraph.
        "图1显示了各地区的销售额在过去五年中的变化情况。",
        "图1" + "显示了各地区的销售额在过去五年中的变化情况，其中华东地区增长最快" * 8,
        # A review: a particle or a predicate right after the number, a comma: prose in any block
        "그림 3은 지역별 매출을 보여준다.",
        "図2は売上高を示している",
        "图1显示了各地区的销售额",
        "图1 显示，销售额逐年增长",
    ],
)
def test_body_text_is_not_a_caption(text: str) -> None:
    assert match_caption(text) is None


def test_bold_label_marks_a_caption_without_delimiter() -> None:
    assert match_caption("Fig. 7 latency under load") is None
    match = match_caption("Fig. 7 latency under load", label_is_bold=True)
    assert match is not None and match.label == "Figure 7"
    # A sentence opener set apart in bold is a caption all the same ("Bild 3 Aufbau" in DIN style).
    match = match_caption("Bild 3 Aufbau der Anlage", label_is_bold=True)
    assert match is not None and match.label == "Figure 3"


def _cited(caption: str, index: captions.CitationIndex) -> list[str]:
    """The sentences of ``index`` (page 1 nearest) that cite ``caption``'s label."""
    match = match_caption(caption)
    assert match is not None
    return [s for page in index.citing_by_page(match, 1) for s in page]


def test_citing_sentences_name_the_new_caption_words() -> None:
    """A caption "Grafik 3:" is cited as "Grafik 3" (and "Darstellung 5" as such), not only as "Figure 3"."""
    text = "Wie Grafik 3 zeigt, sank die Quote. Grafik 31 ist anders. Siehe Darstellung 5 im Anhang."
    index = captions.CitationIndex({1: text})
    for caption, cited in (
        ("Grafik 3: Quote", "Wie Grafik 3 zeigt, sank die Quote."),
        ("Darstellung 5: Kosten", "Siehe Darstellung 5 im Anhang."),
    ):
        assert _cited(caption, index) == [cited]


def test_citing_sentences_name_exhibits_charts_and_diagrams() -> None:
    """Reports that caption their figures "Exhibit 3" (consulting and finance), "Chart 2" or "Diagram 4"
    cite them by that word: those sentences are the figure's citing context too."""
    text = (
        "Margins widened in every region (Exhibit 3). Exhibit 31 is unrelated. As Chart 2 shows, costs fell. "
        "The flow is drawn in Diagram 4 below. See exhibit 3 for the detail."
    )
    index = captions.CitationIndex({1: text})
    for caption, cited in (
        (
            "Exhibit 3: Operating margin by region",
            ["Margins widened in every region (Exhibit 3).", "See exhibit 3 for the detail."],
        ),
        ("Chart 2: Costs", ["As Chart 2 shows, costs fell."]),
        ("Diagram 4: Order flow", ["The flow is drawn in Diagram 4 below."]),
    ):
        assert _cited(caption, index) == cited


def test_a_figure_is_cited_only_by_its_own_caption_words() -> None:
    """A report numbering its figures, charts and exhibits apart has a "Figure 3", a "Chart 3" and an
    "Exhibit 3": each caption takes the sentences citing it, not the others' (they share the label
    "Figure 3"); "Fig. 3" still cites "Figure 3"."""
    text = (
        "Revenue rose in every region, see Figure 3. Headcount is in Chart 3 of the appendix. "
        "The contract was filed as Exhibit 3. The split by segment is in Fig. 3 too."
    )
    index = captions.CitationIndex({1: text})
    for caption, cited in (
        (
            "Figure 3: Revenue by region",
            ["Revenue rose in every region, see Figure 3.", "The split by segment is in Fig. 3 too."],
        ),
        ("Chart 3: Headcount", ["Headcount is in Chart 3 of the appendix."]),
        ("Exhibit 3: Contract", ["The contract was filed as Exhibit 3."]),
    ):
        match = match_caption(caption)
        assert match is not None and match.label == "Figure 3"  # one label space, three families
        assert _cited(caption, index) == cited


def test_sentences_keep_abbreviations_together() -> None:
    text = "The plant is shown in Fig. 2 below. Costs fell, e.g. in Q3. Next, see Eq. 4 for details."
    assert split_sentences(text) == [
        "The plant is shown in Fig. 2 below.",
        "Costs fell, e.g. in Q3.",
        "Next, see Eq. 4 for details.",
    ]


def test_citing_sentences_find_the_label_and_not_its_neighbours() -> None:
    match = match_caption("Figure 3: Throughput")
    assert match is not None
    text = (
        "Latency is plotted in Figure 2. As Figure 3 shows, throughput grows linearly. "
        "Figure 31 is unrelated. The trend in Fig. 3 holds for larger clusters too."
    )
    pages = captions.CitationIndex({1: text}).citing_by_page(match, 1)
    assert [sentence for page in pages for sentence in page] == [
        "As Figure 3 shows, throughput grows linearly.",
        "The trend in Fig. 3 holds for larger clusters too.",
    ]


def _captioned_report(path: Path, pages: int) -> Path:
    """A report of ``pages`` pages, each with a small captioned bar chart and body text; page 5 cites the
    figure of page 20."""
    doc = pymupdf.open()
    for p in range(pages):
        page = doc.new_page()
        page.insert_text((72, 60), f"Section {p + 1}", fontsize=14)
        for i, h in enumerate((40, 70, 55, 90)):
            page.draw_rect(
                pymupdf.Rect(100 + i * 40, 250 - h, 130 + i * 40, 250), color=(0, 0, 1), fill=(0, 0, 1)
            )
        page.insert_text((100, 270), f"Figure {p + 1}: Revenue of unit {p + 1} by quarter", fontsize=9)
        body = "Revenue grew in every region this quarter. Costs were flat. " * 6
        if p == 4:
            body += "As Figure 20 shows, unit twenty leads. "
        page.insert_textbox(pymupdf.Rect(72, 300, 540, 760), body, fontsize=9)
    doc.save(path)
    return path


def test_each_page_is_split_into_sentences_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding the sentences that cite a caption split every page of the document again for each caption
    (figures x pages: a 1,000-page report of a figure a page ran past its 120 s budget). Each page is split
    once now, and a citation pages away is still found."""
    calls = 0
    split = captions.split_sentences

    def counting(text: str) -> list[str]:
        nonlocal calls
        calls += 1
        return split(text)

    monkeypatch.setattr(captions, "split_sentences", counting)
    pages = 30
    ex = extract_document(
        _captioned_report(tmp_path / "report.pdf", pages), ExtractSettings(workers=1, ocr=False)
    )
    assert [f.unit.label for f in ex.figures] == [f"Figure {n}" for n in range(1, pages + 1)]
    assert "As Figure 20 shows, unit twenty leads." in ex.figures[19].unit.context
    assert "unit twenty" not in ex.figures[18].unit.context
    assert calls <= pages, f"{calls} sentence splits for {pages} pages"


def test_a_chapter_numbered_caption_reads_only_the_sentences_of_its_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Figures numbered by chapter ("Figure 3.41"): each caption searched every sentence naming chapter 3
    (their first run of digits), figures x chapter again. Now the sentences holding all its digits."""
    pages = {n: f"As Figure 3.{n} shows, the load grows. Costs fell." for n in range(1, 41)}
    index = captions.CitationIndex(pages)
    searched = 0
    citing = captions._citing

    def counting(sentences: list[str], pattern: re.Pattern[str], limit: int, max_chars: int) -> list[str]:
        nonlocal searched
        searched += len(sentences)
        return citing(sentences, pattern, limit, max_chars)

    monkeypatch.setattr(captions, "_citing", counting)
    for n in pages:
        match = match_caption(f"Figure 3.{n}: Load")
        assert match is not None
        found = [sentence for page in index.citing_by_page(match, n) for sentence in page]
        assert found == [f"As Figure 3.{n} shows, the load grows."]
    assert searched <= 3 * len(pages), f"{searched} sentences searched for {len(pages)} captions"


def _caption_page(doc: pymupdf.Document, caption: str, font: str, cite: str, size: tuple[int, int]) -> None:
    """A page: a paragraph citing the figure, a bar chart, its caption under it, a paragraph after."""
    page = doc.new_page(width=size[0], height=size[1])
    page.insert_textbox(pymupdf.Rect(60, 50, size[0] - 60, 150), "Costs stayed flat. " * 6 + cite, fontsize=9)
    for i, h in enumerate((40, 70, 55, 90)):
        page.draw_rect(pymupdf.Rect(100 + i * 40, 280 - h, 130 + i * 40, 280), color=None, fill=(0, 0, 1))
    page.draw_line((95, 280), (270, 280))
    page.insert_text((100, 300), caption, fontsize=9.5, fontname=font)
    page.insert_textbox(pymupdf.Rect(60, 330, size[0] - 60, 500), "Costs stayed flat. " * 12, fontsize=9)


def test_chart_captions_of_other_languages_carry_caption_label_and_context(tmp_path: Path) -> None:
    """Caption words of other languages ("Grafik", "Graphique", "Gráfico") and the CJK form without a
    delimiter ("图1 各地区销售额") give the unit its caption, label and citing sentences; a German sentence
    opening with "Darstellung 3" under a chart stays body text."""
    doc = pymupdf.open()
    pages = [
        (
            "Grafik 3: Entwicklung der Mitarbeiterzahl",
            "helv",
            "Wie Grafik 3 zeigt, stieg die Zahl.",
            "Figure 3",
        ),
        ("Graphique 2 : Taux de marge", "tiro", "Le Graphique 2 montre la marge.", "Figure 2"),
        ("Gráfico 5: Ventas por región", "cour", "El Gráfico 5 resume las ventas.", "Figure 5"),
        ("图1 各地区销售额", "china-s", "", "Figure 1"),
        ("Darstellung 3 der Ergebnisse zeigt, dass die Kosten stiegen.", "helv", "", None),
    ]
    for caption, font, cite, _ in pages:
        _caption_page(doc, caption, font, cite, (595, 842))
    path = tmp_path / "captions.pdf"
    doc.save(path)
    ex = extract_document(path, ExtractSettings(workers=1, ocr=False))
    units = {f.unit.page: f.unit for f in ex.figures}
    assert sorted(units) == [1, 2, 3, 4, 5]
    for number, (caption, _, cite, label) in enumerate(pages, start=1):
        unit = units[number]
        assert unit.label == label, (number, unit.caption)
        assert unit.caption == (caption if label else "")
        if cite:  # the pages without a citing sentence have nothing to find (a review: "" is in any text)
            assert cite in unit.context


@pytest.mark.parametrize(
    ("caption", "text", "cited"),
    [
        # A citation word starts a word: no "paragraph 3" for a Graph 3, no "flowchart 3" for a Chart 3.
        ("Graph 3: Sales", "It is under paragraph 3 of the law. Graph 3 shows it.", ["Graph 3 shows it."]),
        ("Chart 3: Sales", "See flowchart 3 now. As chart 3 shows, fine.", ["As chart 3 shows, fine."]),
        # Capitals only where the word is common prose.
        ("Code 2: Parser", "It returns error code 2 here. Code 2 lists it.", ["Code 2 lists it."]),
        # CJK is written without spaces: the word may follow another character.
        ("图3 各地区销售额", "如图3所示，销售增长。", ["如图3所示，销售增长。"]),
        # A language's own abbreviation and cases.
        (
            "Tabelle 2: Kosten",
            "Siehe Tab. 2 unten. Die Tabelle 2 zeigt es.",
            ["Siehe Tab. 2 unten.", "Die Tabelle 2 zeigt es."],
        ),
        (
            "Figura 3: Ventas",
            "Como se ve en la Fig. 3, bien. La figura 3 muestra.",
            ["Como se ve en la Fig. 3, bien.", "La figura 3 muestra."],
        ),
        ("Рисунок 3. Рост", "Как видно на рисунке 3, рост есть.", ["Как видно на рисунке 3, рост есть."]),
    ],
)
def test_citation_words_of_a_family(caption: str, text: str, cited: list[str]) -> None:
    assert _cited(caption, captions.CitationIndex({1: text})) == cited
