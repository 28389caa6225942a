"""Builders of tiny random Qwen-VL model directories, made offline, for tests and CPU benchmarks.

Each directory is what ``save_pretrained`` writes for a real checkpoint (config.json, safetensors weights,
tokenizer, image/video processor configs, chat template), so the reranker loads it through exactly the code
path it uses for ``Qwen/Qwen2-VL-2B-Instruct``. The weights are random: scores are meaningless as relevance,
but they are deterministic (fixed seed) and exercise batching, padding, quantization and generation.

Pitfalls this handles (STACK-NOTES): the v5 processors require a video processor; rope settings live in
``rope_parameters`` and ``mrope_section`` sums to head_dim/2; special-token ids in the config must be the
tokenizer's; "yes" and "no" must be single tokens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

import torch
from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
from transformers import AutoConfig, AutoModelForImageTextToText, Qwen2Tokenizer
from transformers.models.qwen2_vl.image_processing_qwen2_vl import Qwen2VLImageProcessor
from transformers.models.qwen2_vl.video_processing_qwen2_vl import Qwen2VLVideoProcessor

Family = Literal["qwen2_vl", "qwen2_5_vl", "qwen3_vl"]
FAMILIES: tuple[Family, ...] = ("qwen2_vl", "qwen2_5_vl", "qwen3_vl")

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# The chat template Qwen2-VL-Instruct ships (Qwen2.5-VL's is the same); one user turn with an image renders as
# <|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>TEXT<|im_end|>\n<|im_start|>assistant\n
QWEN_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# The pre-tokenizer of Qwen2Tokenizer: the BPE is trained with the same split so its merges are valid there.
_QWEN_SPLIT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"""
    r"""|\s*[\r\n]+|\s+(?!\S)|\s+"""
)

_TRAINING_TEXT = [
    "Does this figure answer the question? Answer yes or no.",
    "yes",
    "no",
    "Question: what is the revenue growth by region in 2023?",
    "Caption: Figure 3. Quarterly revenue by product line, bar chart.",
    "Context: The results section shows that the model outperforms the baseline on every benchmark.",
    "The figure shows a line chart of temperature over time; it answers the question because it plots it.",
    "You are a helpful assistant. Picture 1: a diagram of the system architecture with three layers.",
    "Table of accuracy, latency and memory for each method; the proposed approach is faster.",
]


def train_tokenizer(vocab_size: int = 600) -> Qwen2Tokenizer:
    """A byte-level BPE trained here, with the Qwen-VL special tokens, loaded as Qwen2Tokenizer."""
    bpe = Tokenizer(models.BPE())
    bpe.normalizer = normalizers.NFC()
    bpe.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(_QWEN_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Repeating the answer words guarantees the merges that make "yes" and "no" single tokens.
    bpe.train_from_iterator(_TRAINING_TEXT * 20 + ["yes no Yes No yes no"] * 50, trainer=trainer)
    bpe.decoder = decoders.ByteLevel()
    model_state = json.loads(bpe.to_str())["model"]
    tokenizer = Qwen2Tokenizer(
        vocab=model_state["vocab"],
        merges=[tuple(m) if isinstance(m, list) else tuple(m.split(" ")) for m in model_state["merges"]],
        unk_token=None,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        errors="replace",
        extra_special_tokens=SPECIAL_TOKENS[1:],
    )
    tokenizer.chat_template = QWEN_VL_CHAT_TEMPLATE
    for word in ("yes", "no", "Yes", "No"):
        ids = tokenizer.encode(word, add_special_tokens=False)
        if len(ids) != 1:
            raise AssertionError(f"tiny tokenizer splits {word!r} into {len(ids)} tokens")
    return tokenizer


def _token_ids(tokenizer: Qwen2Tokenizer) -> dict[str, int]:
    ids = {tok: tokenizer.convert_tokens_to_ids(tok) for tok in SPECIAL_TOKENS}
    if any(i is None or i == tokenizer.unk_token_id for i in ids.values()):
        raise AssertionError(f"special tokens missing from the tiny tokenizer: {ids}")
    return ids


def tiny_config(family: Family, tokenizer: Qwen2Tokenizer) -> dict[str, object]:
    """A config.json dict for ``family``: 2 text layers of width 32, one or two vision blocks."""
    ids = _token_ids(tokenizer)
    head_dim = 8  # hidden 32 / 4 heads; mrope_section must sum to head_dim / 2
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-6,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
        "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [1, 1, 2]},
    }
    if family == "qwen2_vl":
        vision = {
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": 32,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        }
    elif family == "qwen2_5_vl":
        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "window_size": 112,
            "fullatt_block_indexes": [1],
            "tokens_per_second": 2,
        }
    else:  # qwen3_vl: 16-pixel patches, learned position grid, deepstack features, interleaved mrope
        text["head_dim"] = head_dim
        text["rope_parameters"] = {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [2, 1, 1],
            "mrope_interleaved": True,
        }
        vision = {
            "depth": 2,
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_heads": 2,
            "out_hidden_size": 32,
            "patch_size": 16,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
            "num_position_embeddings": 64,
            "deepstack_visual_indexes": [0],
        }
    return {
        "model_type": family,
        "text_config": text,
        "vision_config": vision,
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": False,
    }


# Qwen2-VL-2B-Instruct's layer widths (text: 28 layers, vision: 32 blocks in the real model), two of each.
QWEN2_VL_2B_LAYERS: dict[str, dict[str, object]] = {
    "text": {
        "hidden_size": 1536,
        "intermediate_size": 8960,
        "num_hidden_layers": 2,
        "num_attention_heads": 12,
        "num_key_value_heads": 2,
        "rope_parameters": {"rope_type": "default", "rope_theta": 1_000_000.0, "mrope_section": [16, 24, 24]},
    },
    "vision": {"depth": 2, "embed_dim": 1280, "hidden_size": 1536, "num_heads": 16, "mlp_ratio": 4},
}


def build_tiny_qwen(
    out_dir: Path,
    family: Family = "qwen2_vl",
    *,
    seed: int = 0,
    min_pixels: int = 28 * 28 * 4,
    max_pixels: int = 28 * 28 * 16,
    text_overrides: dict[str, object] | None = None,
    vision_overrides: dict[str, object] | None = None,
) -> Path:
    """Write a tiny random ``family`` model directory to ``out_dir`` and return it.

    ``text_overrides``/``vision_overrides`` change the sub-configs (e.g. :data:`QWEN2_VL_2B_LAYERS` gives
    real 2B layer widths with few layers, for per-layer CPU timings).
    """
    out_dir = Path(out_dir)
    tokenizer = train_tokenizer()
    config_dict = tiny_config(family, tokenizer)
    config_dict["text_config"].update(text_overrides or {})  # type: ignore[union-attr]
    config_dict["vision_config"].update(vision_overrides or {})  # type: ignore[union-attr]
    model_type = str(config_dict.pop("model_type"))
    config = AutoConfig.for_model(model_type, **config_dict)
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config, dtype=torch.float32)
    # Random init leaves logits near uniform; a wider spread makes P(yes) vary between candidates.
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() >= 2:
                param.normal_(0.0, min(0.2, 1.2 / param.shape[-1] ** 0.5))
    model.save_pretrained(out_dir)

    patch = 16 if family == "qwen3_vl" else 14
    size = {"shortest_edge": min_pixels, "longest_edge": max_pixels}
    image_processor = Qwen2VLImageProcessor(patch_size=patch, merge_size=2, temporal_patch_size=2, size=size)
    video_processor = Qwen2VLVideoProcessor(patch_size=patch, merge_size=2, temporal_patch_size=2, size=size)
    processor_cls = _processor_class(family)
    processor = processor_cls(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=QWEN_VL_CHAT_TEMPLATE,
    )
    processor.save_pretrained(out_dir)
    return out_dir


def _processor_class(family: Family) -> type:
    if family == "qwen2_vl":
        from transformers import Qwen2VLProcessor

        return Qwen2VLProcessor
    if family == "qwen2_5_vl":
        from transformers import Qwen2_5_VLProcessor

        return Qwen2_5_VLProcessor
    from transformers import Qwen3VLProcessor

    return Qwen3VLProcessor
