"""Qwen-VL reranker: the second stage of search, P("yes") that a figure answers the question.

Any Qwen2-VL, Qwen2.5-VL or Qwen3-VL checkpoint loads through ``AutoModelForImageTextToText`` and
``AutoProcessor``, from a hub id (cached locally, or downloaded when the hub is reachable) or a local model
directory. The score of a candidate is the softmax over the next-token logits of "yes" and "no" after a
prompt showing the figure, its caption and context: an absolute probability, so one threshold can say "no
good match" for any question.

Quantization (``reranker.quantization``):

- ``none``: the checkpoint's weights in ``reranker.dtype`` (auto: bf16 on CUDA and on CPUs with bf16
  kernels, else fp32).
- ``bnb-4bit`` / ``bnb-8bit``: bitsandbytes NF4 / LLM.int8 on CUDA. The vision tower and the output head stay
  in bf16: 4-bit ViT weights are known to hurt Qwen-VL's image understanding, and they are a small share
  of the parameters.
- ``int8``: the CPU path. torchao int8 weights with per-token dynamic int8 activations on the language
  model's Linear layers; the vision tower and the (often tied) output head stay fp32.
- ``prequantized``: an AWQ/GPTQ/... checkpoint as published. A checkpoint whose config carries a
  ``quantization_config`` is always loaded as is, whatever was asked.
- ``auto``: ``bnb-4bit`` on CUDA when bitsandbytes is installed (else ``none``); ``none`` on CPU, where
  bf16 weights were 2.5x faster than fp32 and int8 (torchao) was not faster than fp32 (docs/reranker.md).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from figvault.encoders import reranker_prompt as prompt
from figvault.errors import FigvaultError, ModelUnavailableError

if TYPE_CHECKING:
    import torch

    from figvault.settings import RerankerSettings, Settings

log = logging.getLogger(__name__)

QUANTIZATIONS = ("none", "bnb-4bit", "bnb-8bit", "int8", "prequantized")
# Module name patterns kept out of bitsandbytes quantization: the vision tower (``model.visual`` in
# transformers 5, ``visual`` in older layouts) and the output head.
BNB_SKIP_MODULES = ["model.visual", "visual", "lm_head"]
# Qwen-VL's image processor refuses aspect ratios over 200; figures beyond this one are padded first.
MAX_ASPECT_RATIO = 50.0
# The answer words; their capitalised forms count too where the tokenizer has them as one token, because
# instruct models start a reply with a capital ("Yes") as often as not.
_ANSWER_WORDS = ("yes", "no")


class RerankerConfigError(FigvaultError):
    """The reranker settings cannot work on this machine (e.g. bnb-4bit without CUDA)."""


@dataclass
class RerankItem:
    """One candidate as the reranker sees it."""

    image: Image.Image
    caption: str
    context: str = ""


@dataclass(frozen=True)
class LoadedModel:
    """The heavy, cached part: model and processor with its resolved placement."""

    model: Any
    processor: Any
    device: str
    quantization: str
    dtype: str
    yes_ids: tuple[int, ...]
    no_ids: tuple[int, ...]
    special_tokens: tuple[str, ...]
    lock: threading.Lock


# ------------------------------------------------------------------------------------------- locating
def _looks_like_path(model: str) -> bool:
    # Hub ids are "org/name"; anything absolute, relative-explicit, home-relative or deeper is a path.
    return model.startswith(("/", ".", "~")) or model.count("/") > 1 or "\\" in model


def _has_weights(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(
        p.suffix in {".safetensors", ".bin"} or p.name.endswith(".index.json") for p in folder.iterdir()
    )


def _missing_weights_message(model: str) -> str:
    return (
        f"reranker model {model} is not available locally and the hub cannot be reached: download it once "
        f"with `hf download {model}` (into the Hugging Face cache), or set reranker.model "
        f"(env FIGVAULT_RERANKER__MODEL) to a local model directory"
    )


def local_model_dir(model: str) -> Path | None:
    """The local folder holding ``model`` (a directory, or the hub cache snapshot); None when not on disk."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path if _has_weights(path) else None
    if _looks_like_path(model):
        return None
    from figvault.encoders.weights import cached_hub_snapshot

    snapshot = cached_hub_snapshot(model)
    return snapshot if snapshot is not None and _has_weights(snapshot) else None


def locate_model(model: str) -> str:
    """Where to load ``model`` from: a local folder, or the hub id when the hub is reachable.

    Raises :class:`ModelUnavailableError` at once (no library retries) when neither is possible.
    """
    folder = local_model_dir(model)
    if folder is not None:
        return str(folder)
    path = Path(model).expanduser()
    if path.exists() or _looks_like_path(model):
        what = "has no config.json and weights" if path.is_dir() else "does not exist"
        raise ModelUnavailableError(
            f"reranker model directory {path} {what}: point reranker.model (env FIGVAULT_RERANKER__MODEL) "
            f"at a Qwen-VL model directory (config.json, *.safetensors, tokenizer and processor files)"
        )
    from figvault.encoders.weights import hub_reachable

    if not hub_reachable():
        raise ModelUnavailableError(_missing_weights_message(model))
    return model


# ------------------------------------------------------------------------------------ device and mode
def _bnb_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("bitsandbytes") is not None


def resolve_quantization(requested: str, device: str, checkpoint_quantization: str | None) -> str:
    """The quantization to load with, or a one-line error when ``requested`` cannot work here."""
    if checkpoint_quantization:
        if requested not in {"auto", "prequantized"}:
            log.warning(
                "reranker checkpoint is already quantized (%s); loading it as published, not as %s",
                checkpoint_quantization,
                requested,
            )
        return "prequantized"
    if requested == "prequantized":
        raise RerankerConfigError(
            "reranker.quantization is prequantized but the checkpoint's config.json has no "
            "quantization_config"
        )
    on_cuda = device.startswith("cuda")
    if requested == "auto":
        if on_cuda:
            if _bnb_installed():
                return "bnb-4bit"
            log.warning(
                "bitsandbytes is not installed: the reranker runs unquantized (pip install bitsandbytes)"
            )
        return "none"
    if requested.startswith("bnb-"):
        if not on_cuda:
            raise RerankerConfigError(
                f"reranker.quantization {requested} needs a CUDA device; on a CPU use int8 or none"
            )
        if not _bnb_installed():
            raise RerankerConfigError(
                f"reranker.quantization {requested} needs bitsandbytes: pip install bitsandbytes"
            )
    if requested == "int8" and on_cuda:
        raise RerankerConfigError(
            "reranker.quantization int8 is the CPU path; on CUDA use bnb-8bit or bnb-4bit"
        )
    if requested not in QUANTIZATIONS:
        raise RerankerConfigError(
            f"unknown reranker.quantization {requested!r}; one of auto, {', '.join(QUANTIZATIONS)}"
        )
    return requested


def resolve_dtype(requested: str, device: str, quantization: str) -> str:
    """``auto``: bf16 on CUDA (fp16 where bf16 is missing); on a CPU bf16 where oneDNN has bf16 kernels
    (2.5x fp32 on this AMX machine, docs/reranker.md), else fp32. int8 always computes around fp32."""
    import torch

    from figvault.encoders.device import cpu_supports_bf16

    on_cuda = device.startswith("cuda")
    if quantization == "int8":
        return "fp32"
    if requested == "auto":
        if on_cuda:
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_supports_bf16() else "fp32"
    if requested == "fp16" and not on_cuda:
        raise RerankerConfigError("reranker.dtype fp16 needs a CUDA device; use bf16 or fp32 on a CPU")
    return requested


def _torch_dtype(name: str) -> torch.dtype:
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


@dataclass(frozen=True)
class RerankAsk:
    """How the reader of a rerank note turns the rerank on (``on``) or off (``off``): each surface that
    shows the note words it its own way (a CLI flag, a field of the HTTP request)."""

    on: str
    off: str


ASK_BY_SURFACE: dict[str, RerankAsk] = {
    "cli": RerankAsk("--rerank", "--no-rerank"),
    "json": RerankAsk('"rerank": true', '"rerank": false'),
    "form": RerankAsk("the form field rerank=true", "the form field rerank=false"),
}


def _forcing(model: str, ask: RerankAsk, on_cpu: bool = False) -> str:
    """How the reader turns the reranker on: ask for it, once its weights are on this machine (the offline
    profile's note said to ask, and the ask then failed: 503 over HTTP; a docs audit, 2026-12-07)."""
    if local_model_dir(model) is not None:
        return f"use {ask.on} to force on CPU" if on_cpu else f"use {ask.on} to force it on"
    turns = "runs it on the CPU" if on_cpu else "turns it on"
    return f"no local weights of {model}: set reranker.model to a local directory, then {ask.on} {turns}"


def resolve_rerank(
    settings: Settings, requested: bool | None, ask: RerankAsk = ASK_BY_SURFACE["cli"]
) -> tuple[bool, str]:
    """Whether search reranks, and a note that says why (shown in the output). ``ask``: how the reader
    of the note asks for a rerank (``SearchRequest.surface`` picks it; ``figvault serve``'s banner names
    the request field, since serve has no such flag)."""
    cfg = settings.reranker
    if requested is True:
        return True, f"on: requested ({ask.on})"
    if requested is False:
        return False, f"off: not requested ({ask.off})"
    if cfg.enabled == "on":
        return True, "on: reranker.enabled = on"
    if cfg.enabled == "off":
        return False, f"off: reranker.enabled = off ({_forcing(cfg.model, ask)})"
    import torch

    if cfg.device.startswith("cpu"):
        return False, f"off: reranker.device is cpu ({_forcing(cfg.model, ask)})"
    if not torch.cuda.is_available():
        return False, f"off: no CUDA device ({_forcing(cfg.model, ask, on_cpu=True)})"
    if local_model_dir(cfg.model) is None:
        return (
            False,
            f"off: weights of {cfg.model} not found locally (set reranker.model to a local directory)",
        )
    return True, f"on: CUDA device and local weights of {cfg.model}"


# -------------------------------------------------------------------------------------------- loading
_CACHE: dict[tuple[str, str, str, str], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


def load_reranker(cfg: RerankerSettings) -> QwenVLReranker:
    """A reranker for ``cfg``; the model behind it is loaded once per (model, quantization, device, dtype)."""
    from figvault.encoders.device import require_device, resolve_device

    device = resolve_device(cfg.device)
    require_device(device)
    source = locate_model(cfg.model)
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(source)
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"reranker model {cfg.model}: cannot read its config ({err})") from err
    checkpoint_quant = _checkpoint_quantization(config)
    quantization = resolve_quantization(cfg.quantization, device, checkpoint_quant)
    dtype = resolve_dtype(cfg.dtype, device, quantization)
    key = (cfg.model, quantization, device, dtype)
    with _CACHE_LOCK:
        loaded = _CACHE.get(key)
        if loaded is None:
            loaded = _load(source, cfg.model, quantization, device, dtype)
            _CACHE[key] = loaded
    return QwenVLReranker(cfg.model, loaded, cfg)


def clear_cache() -> None:
    """Forget loaded models (tests, or a service reloading its settings)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def _checkpoint_quantization(config: Any) -> str | None:
    quant = getattr(config, "quantization_config", None)
    if not quant:
        return None
    method = quant.get("quant_method") if isinstance(quant, dict) else getattr(quant, "quant_method", None)
    return str(method or "unknown")


def bnb_config(quantization: str, dtype: str) -> Any:
    """bitsandbytes settings: NF4 with double quantization, or LLM.int8; vision tower and head left out."""
    from transformers import BitsAndBytesConfig

    if quantization == "bnb-4bit":
        return BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type="nf4",
            bnb_4bit_compute_dtype=_torch_dtype(dtype),
            bnb_4bit_use_double_quant=True,
            llm_int8_skip_modules=BNB_SKIP_MODULES,
        )
    if quantization == "bnb-8bit":
        return BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=BNB_SKIP_MODULES)
    raise RerankerConfigError(f"not a bitsandbytes quantization: {quantization}")


def _load(source: str, model_id: str, quantization: str, device: str, dtype: str) -> LoadedModel:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    started = time.perf_counter()
    kwargs: dict[str, Any] = {"dtype": _torch_dtype(dtype)}
    if quantization.startswith("bnb-"):
        kwargs["quantization_config"] = bnb_config(quantization, dtype)
    if device.startswith("cuda"):
        kwargs["device_map"] = device
    try:
        processor = AutoProcessor.from_pretrained(source)
        model = AutoModelForImageTextToText.from_pretrained(source, **kwargs)
    except Exception as err:  # tokenizers, safetensors and transformers each raise their own types
        raise ModelUnavailableError(f"reranker model {model_id} could not be loaded: {err}") from err
    if not device.startswith("cuda"):
        model.to(device)
    model.eval()
    if quantization == "int8":
        _quantize_int8_dynamic(model)

    tokenizer = processor.tokenizer
    tokenizer.padding_side = "left"  # the last position is every row's real last token
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    yes_ids, no_ids = (_answer_token_ids(tokenizer, word, model_id) for word in _ANSWER_WORDS)
    special = tuple(sorted(set(tokenizer.all_special_tokens) | set(tokenizer.added_tokens_encoder)))
    log.info(
        "reranker %s loaded in %.1f s (%s, %s, %s)",
        model_id,
        time.perf_counter() - started,
        device,
        quantization,
        dtype,
    )
    return LoadedModel(
        model, processor, device, quantization, dtype, yes_ids, no_ids, special, threading.Lock()
    )


def _answer_token_ids(tokenizer: Any, word: str, model_id: str) -> tuple[int, ...]:
    """Token ids of ``word`` and ``Word``; the lower-case form must be a single token."""
    ids = tokenizer.encode(word, add_special_tokens=False)
    if len(ids) != 1:
        raise RerankerConfigError(
            f"reranker model {model_id}: {word!r} is {len(ids)} tokens in its tokenizer; a Qwen-VL tokenizer "
            f"has it as one"
        )
    capitalised = tokenizer.encode(word.capitalize(), add_special_tokens=False)
    return (int(ids[0]), int(capitalised[0])) if len(capitalised) == 1 else (int(ids[0]),)


def _quantize_int8_dynamic(model: Any) -> None:
    """int8 weights and per-token int8 activations (torchao) for the language model's Linear layers.

    Per-token activation scales keep a candidate's score independent of its batch-mates; torch.ao's
    ``quantize_dynamic`` scales activations per tensor, so padding and other rows moved scores by up to 0.07
    on the tiny model (docs/reranker.md).
    """
    try:
        from torchao.quantization import Int8DynamicActivationInt8WeightConfig, quantize_
    except ImportError as err:
        raise RerankerConfigError(
            f"reranker.quantization int8 needs torchao: pip install 'figvault[int8]' ({err})"
        ) from err

    inner = getattr(model, "model", model)
    language_model = getattr(inner, "language_model", None)
    if language_model is None:
        raise RerankerConfigError("int8: the model has no language_model submodule (not a Qwen-VL layout?)")
    quantize_(language_model, Int8DynamicActivationInt8WeightConfig())


# -------------------------------------------------------------------------------------------- scoring
def fit_image(image: Image.Image) -> Image.Image:
    """RGB, with extreme aspect ratios padded to MAX_ASPECT_RATIO (white) so the processor accepts them."""
    image = image.convert("RGB") if image.mode != "RGB" else image
    width, height = image.size
    if min(width, height) < 1:
        raise ValueError("empty image")
    if max(width, height) / min(width, height) <= MAX_ASPECT_RATIO:
        return image
    if width > height:
        canvas = Image.new("RGB", (width, int(width / MAX_ASPECT_RATIO) + 1), "white")
    else:
        canvas = Image.new("RGB", (int(height / MAX_ASPECT_RATIO) + 1, height), "white")
    canvas.paste(image, (0, 0))
    return canvas


class QwenVLReranker:
    """Scores (question, figure) pairs with a loaded Qwen-VL model. Cheap to create; the model is shared."""

    def __init__(self, model_id: str, loaded: LoadedModel, cfg: RerankerSettings) -> None:
        self.model_id = model_id
        self.loaded = loaded
        self.batch_size = max(1, cfg.batch_size)
        self.image_size = {"shortest_edge": cfg.min_pixels, "longest_edge": cfg.max_pixels}
        self.max_text_chars = cfg.max_text_chars

    @property
    def device(self) -> str:
        return self.loaded.device

    @property
    def quantization(self) -> str:
        return self.loaded.quantization

    def describe(self) -> str:
        return f"{self.model_id} ({self.loaded.device}, {self.loaded.quantization}, {self.loaded.dtype})"

    def score(self, query: str, items: list[RerankItem]) -> list[float]:
        """P("yes") per item, in the items' order."""
        return self.score_timed(query, items)[0]

    def score_timed(self, query: str, items: list[RerankItem]) -> tuple[list[float], dict[str, float]]:
        """Scores and milliseconds spent in ``preprocess`` (prompt, image resize, tokenize) and ``model``.

        The score is P(yes) of the next token restricted to the two answers: softmax over the logits of "yes"
        and "no" (each the log-sum-exp over its single-token case forms).
        """
        import torch

        scores: list[float] = []
        timings = {"preprocess": 0.0, "model": 0.0}
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            t0 = time.perf_counter()
            inputs = self._inputs(query, batch, prompt.SCORE_INSTRUCTION)
            t1 = time.perf_counter()
            with self.loaded.lock, torch.inference_mode():
                logits = self.loaded.model(**inputs, logits_to_keep=1).logits[:, -1, :]
                logits = logits.float()
                yes = logits[:, list(self.loaded.yes_ids)].logsumexp(dim=-1)
                no = logits[:, list(self.loaded.no_ids)].logsumexp(dim=-1)
                p_yes = torch.sigmoid(yes - no)  # = softmax over the two answers, "yes" side
                if self.loaded.device.startswith("cuda"):
                    torch.cuda.synchronize()
            t2 = time.perf_counter()
            scores.extend(float(p) for p in p_yes.cpu())
            timings["preprocess"] += (t1 - t0) * 1000
            timings["model"] += (t2 - t1) * 1000
        return scores, timings

    def explain(self, query: str, items: list[RerankItem], max_new_tokens: int = 24) -> list[str]:
        """A one-line reason per item, generated greedily by the same model."""
        import torch

        reasons: list[str] = []
        tokenizer = self.loaded.processor.tokenizer
        for start in range(0, len(items), self.batch_size):
            batch = items[start : start + self.batch_size]
            inputs = self._inputs(query, batch, prompt.EXPLAIN_INSTRUCTION)
            with self.loaded.lock, torch.inference_mode():
                out = self.loaded.model.generate(
                    **inputs,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    temperature=None,
                    top_p=None,
                    top_k=None,
                    pad_token_id=tokenizer.pad_token_id,
                )
            new_tokens = out[:, inputs["input_ids"].shape[1] :].cpu()
            for text in tokenizer.batch_decode(new_tokens, skip_special_tokens=True):
                first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
                reasons.append(first_line)
        return reasons

    def _inputs(self, query: str, batch: list[RerankItem], instruction: str) -> Any:
        special = self.loaded.special_tokens
        processor = self.loaded.processor
        texts = []
        for item in batch:
            text = prompt.user_text(
                prompt.sanitize(query, special),
                prompt.truncate(prompt.sanitize(item.caption, special), self.max_text_chars),
                prompt.truncate(prompt.sanitize(item.context, special), self.max_text_chars),
                instruction,
            )
            if getattr(processor, "chat_template", None):
                texts.append(
                    processor.apply_chat_template(
                        prompt.messages(text), tokenize=False, add_generation_prompt=True
                    )
                )
            else:
                texts.append(prompt.chatml(text))
        images = [fit_image(item.image) for item in batch]
        inputs = processor(text=texts, images=images, padding=True, return_tensors="pt", size=self.image_size)
        inputs = inputs.to(self.loaded.device)
        embed_dtype = self.loaded.model.get_input_embeddings().weight.dtype
        if "pixel_values" in inputs:
            inputs["pixel_values"] = inputs["pixel_values"].to(embed_dtype)
        return inputs
