"""Caption detection, label normalisation and citation search (figvault.ingest.captions)."""

from __future__ import annotations

import pytest

from figvault.ingest.captions import CaptionKind, citing_sentences, match_caption, split_sentences


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
        ("图 5 系统架构", CaptionKind.FIGURE, None),  # no delimiter and not bold: not trusted
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
    ],
)
def test_body_text_is_not_a_caption(text: str) -> None:
    assert match_caption(text) is None


def test_bold_label_marks_a_caption_without_delimiter() -> None:
    assert match_caption("Fig. 7 latency under load") is None
    match = match_caption("Fig. 7 latency under load", label_is_bold=True)
    assert match is not None and match.label == "Figure 7"


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
    assert citing_sentences(text, match) == [
        "As Figure 3 shows, throughput grows linearly.",
        "The trend in Fig. 3 holds for larger clusters too.",
    ]
