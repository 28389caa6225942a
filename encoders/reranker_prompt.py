"""The reranker's prompts: what the Qwen-VL model is shown and asked for one (question, figure) pair.

The score prompt ends right where the assistant's answer starts, so the next-token distribution over
"yes"/"no" is the model's verdict. Caption and context come from documents, so they are untrusted: control
tokens such as ``<|im_end|>`` are removed before they reach the template, or a document could close the user
turn and write the answer itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

SCORE_INSTRUCTION = "Does this figure answer the question? Answer yes or no."
EXPLAIN_INSTRUCTION = "In one short sentence, say why this figure does or does not answer the question."

# Qwen's control tokens all look like <|name|>; the tokenizer's own list is removed too (see sanitize).
_CONTROL_TOKEN = re.compile(r"<\|[^<>|]{0,64}\|>")


def sanitize(text: str, special_tokens: Iterable[str] = ()) -> str:
    """``text`` without the tokenizer's special tokens, whitespace collapsed."""
    cleaned = _CONTROL_TOKEN.sub(" ", text)
    for token in special_tokens:
        if token:
            cleaned = cleaned.replace(token, " ")
    return " ".join(cleaned.split())


def truncate(text: str, max_chars: int) -> str:
    """Cut at a word boundary near ``max_chars`` and mark the cut."""
    if len(text) <= max_chars:
        return text
    cut = text[:max_chars]
    space = cut.rfind(" ")
    if space > max_chars * 0.8:
        cut = cut[:space]
    return cut.rstrip() + " …"


def user_text(query: str, caption: str, context: str, instruction: str) -> str:
    lines = [f"Question: {query}"]
    if caption:
        lines.append(f"Caption: {caption}")
    if context:
        lines.append(f"Context: {context}")
    lines.append(instruction)
    return "\n".join(lines)


def messages(text: str) -> list[dict[str, Any]]:
    """One user turn: the figure image first (Qwen-VL's order in its own examples), then the text."""
    return [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": text}]}]


def chatml(text: str) -> str:
    """The Qwen chat format written out, for a model directory that ships no chat template."""
    return (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
