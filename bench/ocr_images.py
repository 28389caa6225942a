"""Generated pictures with known words, for OCR's word recall (``bench/ocr_words.py``).

Layout classes a searcher's words sit in when they are only pixels: box-and-arrow diagrams, flow charts,
architecture diagrams (nested groups, small labels), screenshots of applications (title bar, menu, form,
buttons) and of terminals (monospace, often dark), and charts (tick labels, a rotated axis title). Each
picture gets a light or dark theme, coloured fills, words 7-30 px high and antialiased type (FreeType,
as a screen or a PDF renderer draws it). Seeded: the same ``seed`` gives the same pictures and words.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

FONTS = Path("/usr/share/fonts/truetype")
SANS = ("dejavu/DejaVuSans.ttf", "liberation/LiberationSans-Regular.ttf", "dejavu/DejaVuSans-Bold.ttf")
MONO = ("dejavu/DejaVuSansMono.ttf", "liberation/LiberationMono-Regular.ttf")


def _words(text: str) -> list[str]:
    return text.split()


VOCABULARY = _words("""
replication primary replica failover ingress gateway controller scheduler kubelet etcd cluster namespace
deployment service endpoint registry pipeline artifact container runtime sidecar proxy telemetry metrics
latency throughput dashboard storage bucket snapshot backup restore encryption certificate identity tenant
policy firewall subnet gateway router balancer autoscaler quota inference training checkpoint gradient
optimizer tokenizer embedding vector index shard partition consensus leader follower election heartbeat
timeout retry queue broker consumer producer topic stream webhook callback session cache database schema
migration rollout canary release staging production monitoring alerting tracing logging audit compliance
governance subscription management landing zone workload network peering virtual hub spoke connectivity
sequencing alignment genome coverage quality adapter trimming peaks enrichment annotation
""")
IDENTIFIERS = _words("""
RequestVote AppendEntries STACKTRACE kube-proxy CoreDNS ConfigMap NodePort gRPC HTTP2 OAuth2 JSON YAML
PostgreSQL Redis Kafka Prometheus Grafana ZeRO-Offload NVMe ResNet50 BERT FastQC MACS2 Bowtie2 S3 IAM VNet
""")
LIGHT = {"bg": [(255, 255, 255), (246, 247, 250), (250, 248, 240)], "ink": [(20, 20, 30), (60, 60, 70)]}
DARK = {"bg": [(18, 18, 24), (30, 34, 42), (12, 40, 70)], "ink": [(235, 235, 235), (180, 220, 180)]}
FILLS = [(220, 235, 252), (255, 236, 204), (214, 240, 214), (240, 220, 240), (0, 120, 212), (90, 90, 100)]


@dataclass
class Picture:
    name: str
    kind: str
    image: Image.Image
    words: list[tuple[str, int]] = field(default_factory=list)
    """Every word drawn, as drawn (the truth), with its font size in pixels."""
    dark: bool = False
    """Light words on a dark background (the theme)."""


class Canvas:
    """A picture being drawn: remembers each word it writes and its size."""

    def __init__(self, rnd: random.Random, size: tuple[int, int], dark: bool) -> None:
        self.rnd, self.dark = rnd, dark
        theme = DARK if dark else LIGHT
        self.bg, self.ink = rnd.choice(theme["bg"]), rnd.choice(theme["ink"])
        self.image = Image.new("RGB", size, self.bg)
        self.draw = ImageDraw.Draw(self.image)
        self.words: list[tuple[str, int]] = []

    def font(self, px: int, mono: bool = False) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(str(FONTS / self.rnd.choice(MONO if mono else SANS)), px)

    def phrase(self, n: int) -> str:
        pool = VOCABULARY if self.rnd.random() < 0.8 else IDENTIFIERS
        return " ".join(self.rnd.choice(pool) for _ in range(n))

    def text(
        self,
        xy: tuple[float, float],
        words: str,
        px: int,
        fill: Any = None,
        mono: bool = False,
        angle: int = 0,
    ) -> None:
        font = self.font(px, mono)
        fill = fill or self.ink
        if angle:
            right, bottom = font.getbbox(words)[2:]
            tile = Image.new("RGBA", (right + 4, bottom + 4), (0, 0, 0, 0))
            ImageDraw.Draw(tile).text((2, 2), words, font=font, fill=fill)
            tile = tile.rotate(angle, expand=True)
            self.image.paste(tile, (int(xy[0]), int(xy[1])), tile)
        else:
            self.draw.text(xy, words, font=font, fill=fill)
        self.words += [(word, px) for word in words.split()]

    def ink_on(self, fill: tuple[int, int, int]) -> tuple[int, int, int]:
        """Dark words on a light fill, light words on a dark one."""
        return (20, 20, 30) if sum(fill) > 380 else (245, 245, 245)


def _boxes(c: Canvas, w: int, h: int, flow: bool) -> None:
    """Boxes (diamonds in a flow chart) in rows, joined by arrows, a label in each."""
    rows, cols = c.rnd.randint(2, 3), c.rnd.randint(2, 4)
    px = c.rnd.randint(9, 24)
    bw, bh = w // cols - 40, max(px * 3, h // rows - 60)
    c.text((20, 8), c.phrase(3), c.rnd.randint(14, 30))
    for r in range(rows):
        for k in range(cols):
            x0, y0 = 20 + k * (bw + 40), 50 + r * (bh + 40)
            fill = c.rnd.choice(FILLS)
            if flow and (r + k) % 3 == 1:
                mid = (x0 + bw / 2, y0 + bh / 2)
                c.draw.polygon([(mid[0], y0), (x0 + bw, mid[1]), (mid[0], y0 + bh), (x0, mid[1])], fill=fill)
            else:
                c.draw.rounded_rectangle((x0, y0, x0 + bw, y0 + bh), 8, fill=fill, outline=c.ink, width=2)
            words = c.phrase(c.rnd.randint(1, 2))
            while c.font(px).getlength(words) > bw - 12 and " " in words:
                words = words.rsplit(" ", 1)[0]
            c.text((x0 + 8, y0 + bh / 2 - px / 2), words, px, fill=c.ink_on(fill))
            if k + 1 < cols:
                y = y0 + bh / 2
                c.draw.line((x0 + bw, y, x0 + bw + 36, y), fill=c.ink, width=2)
                c.draw.polygon([(x0 + bw + 36, y), (x0 + bw + 28, y - 5), (x0 + bw + 28, y + 5)], fill=c.ink)


def diagram(c: Canvas, w: int, h: int) -> None:
    _boxes(c, w, h, flow=False)


def flow_chart(c: Canvas, w: int, h: int) -> None:
    _boxes(c, w, h, flow=True)


def architecture(c: Canvas, w: int, h: int) -> None:
    """Nested groups with small labels at their corners, components inside with smaller ones."""
    c.text((16, 8), c.phrase(2), c.rnd.randint(16, 26))
    groups = c.rnd.randint(2, 3)
    gw = (w - 40) // groups
    for g in range(groups):
        x0, y0 = 20 + g * gw, 50
        c.draw.rectangle((x0, y0, x0 + gw - 16, h - 20), outline=c.rnd.choice(FILLS), width=2)
        c.text((x0 + 6, y0 + 4), c.phrase(2), c.rnd.randint(8, 13))
        for i in range(c.rnd.randint(2, 4)):
            y = y0 + 30 + i * 60
            if y + 44 > h - 24:
                break
            fill = c.rnd.choice(FILLS)
            c.draw.rectangle((x0 + 12, y, x0 + gw - 30, y + 44), fill=fill)
            c.text((x0 + 18, y + 14), c.phrase(1), c.rnd.randint(7, 12), fill=c.ink_on(fill))


def app_screenshot(c: Canvas, w: int, h: int) -> None:
    """A window: title bar, a side menu, a form with labels and values, buttons."""
    bar = c.rnd.choice(FILLS[3:])
    c.draw.rectangle((0, 0, w, 30), fill=bar)
    c.text((10, 7), c.phrase(3), c.rnd.randint(11, 15), fill=c.ink_on(bar))
    menu_px = c.rnd.randint(8, 14)
    for i in range(c.rnd.randint(4, 8)):
        c.text((12, 46 + i * (menu_px + 14)), c.phrase(1).capitalize(), menu_px)
    c.draw.line((150, 30, 150, h), fill=c.rnd.choice(FILLS), width=1)
    px = c.rnd.randint(8, 16)
    for i in range(c.rnd.randint(3, 6)):
        y = 50 + i * (px + 20)
        if y > h - 60:
            break
        c.text((170, y), c.phrase(2).capitalize() + ":", px)
        c.text((170 + 14 * px, y), c.phrase(1), px, fill=c.rnd.choice(FILLS[4:]) if not c.dark else None)
    for i in range(2):
        fill = c.rnd.choice(FILLS)
        x0 = w - 220 + i * 105
        c.draw.rounded_rectangle((x0, h - 44, x0 + 95, h - 14), 4, fill=fill)
        c.text((x0 + 8, h - 37), c.phrase(1)[:10], 12, fill=c.ink_on(fill))


def terminal(c: Canvas, w: int, h: int) -> None:
    """A terminal: a prompt, commands and their output in a monospace font."""
    px = c.rnd.randint(8, 18)
    y = 8
    while y + px < h - 6:
        prompt = c.rnd.random() < 0.35
        line = ("$ " if prompt else "") + c.phrase(c.rnd.randint(2, 5))
        c.text((8, y), line, px, mono=True, fill=(120, 220, 120) if prompt and c.dark else None)
        y += int(px * 1.5)
    c.words = [(word, px) for word, px in c.words if word != "$"]


def chart(c: Canvas, w: int, h: int) -> None:
    """Bars with tick labels under them, a title, and a y axis title turned 90 degrees."""
    c.text((60, 6), c.phrase(3), c.rnd.randint(14, 24))
    axis_px = c.rnd.randint(9, 16)
    c.text((4, h // 3), c.phrase(2), axis_px, angle=90)
    x0, y0, y1 = 50, 40, h - 50
    c.draw.line((x0, y0, x0, y1), fill=c.ink, width=1)
    c.draw.line((x0, y1, w - 10, y1), fill=c.ink, width=1)
    bars = c.rnd.randint(3, 6)
    step = (w - x0 - 20) // bars
    tick_px = c.rnd.randint(7, 13)
    for i in range(bars):
        top = c.rnd.randint(y0 + 10, y1 - 20)
        c.draw.rectangle((x0 + 10 + i * step, top, x0 + i * step + step - 10, y1), fill=c.rnd.choice(FILLS))
        c.text((x0 + 10 + i * step, y1 + 6), c.phrase(1), tick_px)


KINDS: dict[str, Callable[[Canvas, int, int], None]] = {
    "diagram": diagram,
    "flow": flow_chart,
    "architecture": architecture,
    "app": app_screenshot,
    "terminal": terminal,
    "chart": chart,
}


def pictures(count: int, seed: int = 9) -> list[Picture]:
    """``count`` pictures, the kinds in turn, each light or dark (terminals mostly dark)."""
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        kind = list(KINDS)[i % len(KINDS)]
        dark = rnd.random() < (0.7 if kind == "terminal" else 0.3)
        size = (rnd.randint(520, 1100), rnd.randint(300, 640))
        canvas = Canvas(rnd, size, dark)
        KINDS[kind](canvas, *size)
        out.append(Picture(f"{i:03d}-{kind}", kind, canvas.image, canvas.words, dark))
    return out
