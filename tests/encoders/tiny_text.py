"""A tiny random sentence-transformers model folder, built offline, for tests that cannot carry MiniLM.

The folder is what ``SentenceTransformer.save`` writes (BERT weights as safetensors, a WordPiece tokenizer,
mean pooling, L2 normalisation), so ``text.model = "local-dir:FOLDER"`` loads it through the text channel's
own code path. The weights are seeded random: vectors carry no meaning but are the same in every process.
MiniLM's 90 MB of weights are too large for the GPU machine's carry limit (docs/encoders.md, "On a GPU").
"""

from __future__ import annotations

import string
from pathlib import Path

import torch

_WORDS = [
    "figure",
    "chart",
    "bar",
    "line",
    "pie",
    "plot",
    "revenue",
    "region",
    "quarter",
    "quarterly",
    "share",
    "growth",
    "network",
    "topology",
    "diagram",
    "table",
    "accuracy",
    "latency",
    "memory",
    "model",
    "results",
    "the",
    "of",
    "by",
    "and",
    "in",
    "a",
    "to",
    "is",
]


def _vocab() -> list[str]:
    characters = list(string.ascii_lowercase + string.digits + string.punctuation)
    return [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *_WORDS,
        *characters,
        *(f"##{c}" for c in string.ascii_lowercase + string.digits),
    ]


# all-MiniLM-L6-v2's shape (hidden, layers, heads, feed-forward): the same compute, for speed benchmarks.
MINILM_SHAPE = (384, 6, 12, 1536)


def build_tiny_sentence_model(
    folder: Path, seed: int = 0, shape: tuple[int, int, int, int] = (32, 2, 4, 64), max_seq_length: int = 64
) -> Path:
    """Write a random BERT sentence model (mean pooling, normalised) into ``folder``: by default 2 layers
    32 wide; ``shape`` = (hidden, layers, heads, feed-forward) as :data:`MINILM_SHAPE` for benchmarks."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, BertTokenizerFast

    base = folder / "bert"
    base.mkdir(parents=True, exist_ok=True)
    vocab = base / "vocab.txt"
    vocab.write_text("\n".join(_vocab()) + "\n")
    BertTokenizerFast(vocab_file=str(vocab), do_lower_case=True).save_pretrained(str(base))
    hidden, layers, heads, feed_forward = shape
    config = BertConfig(
        vocab_size=len(_vocab()),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=feed_forward,
        max_position_embeddings=max(128, max_seq_length),
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        BertModel(config).save_pretrained(str(base), safe_serialization=True)
    word = models.Transformer(str(base), max_seq_length=max_seq_length)
    # sentence-transformers 6 renamed the width getter; the GPU machine's release may predate that.
    width = getattr(word, "get_embedding_dimension", None) or word.get_word_embedding_dimension
    pooling = models.Pooling(width(), "mean")
    model = SentenceTransformer(modules=[word, pooling, models.Normalize()], device="cpu")
    out = folder / "model"
    model.save(str(out))
    return out
