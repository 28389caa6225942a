"""OpenCLIP image and text encoder (channel ``clip``): any open_clip architecture, weights from settings.

:func:`resolve_clip_spec` decides everything about the vectors (architecture config, weights identity,
preprocessing, tokenizer, dimension, precision) without building the model, so the embedding version is
known before any weights are read. :class:`ClipEncoder` builds the model on first use, through open_clip's
own ``create_model`` and image transform, and serialises model calls behind a lock (FastAPI threadpool).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from PIL import Image

from figvault.cores import usable_cores
from figvault.encoders.base import EncodingError, PartialEncoding
from figvault.encoders.device import Precision, require_device, resolve_device, resolve_precision, torch_dtype
from figvault.encoders.inputs import ALPHA_BACKGROUND, ImageInput, as_rgb, check_text
from figvault.encoders.lazy import LazyModel
from figvault.encoders.version import NORMALIZE, ChannelSpec
from figvault.encoders.weights import ClipWeights, FileHashCache, resolve_clip_weights
from figvault.errors import ModelUnavailableError, typed_line
from figvault.settings import ClipSettings

if TYPE_CHECKING:
    import torch

CHANNEL = "clip"
_REGISTRY_LOCK = threading.RLock()


@dataclass(frozen=True)
class ClipSpec(ChannelSpec):
    """Everything that determines a CLIP vector, resolved from settings without loading the model."""

    channel: ClassVar[str] = CHANNEL

    architecture: str
    """open_clip model name, or the ``hf-hub:`` / ``local-dir:`` source that carries its own config."""
    weights: ClipWeights
    model_config: dict[str, Any]
    preprocess: dict[str, Any]
    context_length: int
    tokenizer: str
    dim: int
    device: str
    precision: Precision
    batch_size: int
    config_file: str | None = None
    """The model config JSON named in settings (custom architectures), re-registered before building."""

    def provenance(self) -> dict[str, Any]:
        """The record behind the embedding version (device is not in it: it does not change vectors)."""
        # A folder or hub repo is identified by its config and weights hash, not by where it lies.
        carries_config = self.weights.source in ("hf-hub", "local-dir")
        return {
            "kind": "open_clip",
            "architecture": "open_clip_config.json" if carries_config else self.architecture,
            "model_config": self.model_config,
            "weights": self.weights.identity,
            "preprocess": self.preprocess,
            "alpha_background": list(ALPHA_BACKGROUND),
            "tokenizer": self.tokenizer,
            "context_length": self.context_length,
            "dim": self.dim,
            "precision": self.precision,
            "normalize": NORMALIZE,
        }

    def details(self) -> dict[str, Any]:
        return {
            "model": self.architecture,
            "weights": self.weights.label,
            "weights_identity": self.weights.identity,
            "weights_path": str(self.weights.checkpoint) if self.weights.checkpoint else None,
            "preprocess": self.preprocess,
            "tokenizer": f"{self.tokenizer} (context {self.context_length})",
            "dim": self.dim,
            "device": self.device,
            "precision": self.precision,
        }


def resolve_clip_spec(
    settings: ClipSettings, hashes: FileHashCache | None = None, *, locate_weights: bool = True
) -> ClipSpec:
    """Resolve the CLIP channel. ``locate_weights=False`` skips looking for a tag's checkpoint file.

    Raises ModelUnavailableError at once when the weights are needed and not on disk (offline).
    """
    # open_clip also accepts the source as the model name ("hf-hub:org/repo"); then it carries its config.
    source = settings.model if settings.model.startswith(("hf-hub:", "local-dir:")) else settings.pretrained
    weights = resolve_clip_weights(settings.model, source, hashes, locate=locate_weights)
    device = resolve_device(settings.device)
    precision = resolve_precision(settings.precision, device)
    architecture, model_config, preprocess_overlay = _model_config(settings.model, weights)
    preprocess = _expected_preprocess(model_config, preprocess_overlay)
    text_cfg = model_config.get("text_cfg", {})
    return ClipSpec(
        architecture=architecture,
        config_file=settings.model if settings.model.endswith(".json") else None,
        weights=weights,
        model_config=model_config,
        preprocess=preprocess,
        context_length=int(text_cfg.get("context_length", 77)),
        tokenizer=_tokenizer_kind(architecture, text_cfg),
        dim=int(model_config["embed_dim"]),
        device=device,
        precision=precision,
        batch_size=max(1, settings.batch_size),
    )


def _model_config(model: str, weights: ClipWeights) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """(architecture label, open_clip model config, preprocessing overlay) for these weights."""
    import open_clip

    if weights.source in ("hf-hub", "local-dir"):
        assert weights.checkpoint is not None
        config = json.loads((weights.checkpoint / "open_clip_config.json").read_text())
        if "model_cfg" not in config:
            raise ModelUnavailableError(f"{weights.checkpoint}/open_clip_config.json has no model_cfg")
        return weights.label, config["model_cfg"], config.get("preprocess_cfg", {})
    arch = register_model_config_file(model) if model.endswith(".json") else model.replace("/", "-")
    config = open_clip.get_model_config(arch)
    if config is None:
        raise ModelUnavailableError(
            f"unknown open_clip architecture {model!r} (settings clip.model); "
            f"see open_clip.list_models(), e.g. ViT-B-32, ViT-S-32, ViT-L-14"
        )
    return arch, config, weights.tag_config


def register_model_config_file(path: str) -> str:
    """Register an open_clip model config JSON file with open_clip; returns its architecture name (stem).

    Lets settings name a custom architecture by file (``clip.model = "/path/my-vit.json"``), which also works
    in a fresh process (CLI, service), unlike a registration done in Python.
    """
    import open_clip

    file = Path(path).expanduser()
    if not file.is_file():
        raise ModelUnavailableError(f"open_clip model config {file} does not exist (settings clip.model)")
    try:
        config = json.loads(file.read_text())
    except (OSError, ValueError) as err:
        raise ModelUnavailableError(f"open_clip model config file {file} is not valid JSON: {err}") from err
    if not all(key in config for key in ("embed_dim", "vision_cfg", "text_cfg")):
        raise ModelUnavailableError(f"{file} is no open_clip model config (embed_dim, vision_cfg, text_cfg)")
    with _REGISTRY_LOCK:
        if open_clip.get_model_config(file.stem) != config:
            open_clip.add_model_config(file)
    return file.stem


def _expected_preprocess(model_config: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The inference transform open_clip will attach to the model, predicted from configs."""
    from open_clip.transform import PreprocessCfg, merge_preprocess_dict

    merged = merge_preprocess_dict(PreprocessCfg(), overlay)
    merged["size"] = model_config["vision_cfg"].get("image_size", merged["size"])
    return _canonical_preprocess(merged)


def _canonical_preprocess(cfg: dict[str, Any]) -> dict[str, Any]:
    size = cfg["size"]
    return {
        "size": [int(size), int(size)] if isinstance(size, int) else [int(s) for s in size],
        "mode": cfg.get("mode", "RGB"),
        "mean": [float(v) for v in cfg["mean"]],
        "std": [float(v) for v in cfg["std"]],
        "interpolation": cfg.get("interpolation", "bicubic"),
        "resize_mode": cfg.get("resize_mode", "shortest"),
        "fill_color": cfg.get("fill_color", 0),
    }


@contextlib.contextmanager
def _without_random_init_warning() -> Iterator[None]:
    def keep(record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No pretrained weights loaded")

    root = logging.getLogger()
    root.addFilter(keep)
    try:
        yield
    finally:
        root.removeFilter(keep)


def _tokenizer_kind(architecture: str, text_cfg: dict[str, Any]) -> str:
    if text_cfg.get("hf_tokenizer_name"):
        return f"hf:{text_cfg['hf_tokenizer_name']}"
    if "siglip" in architecture.lower():
        return "siglip"
    return "open_clip-bpe"


def _model_source(spec: ClipSpec) -> tuple[str, str | None, dict[str, Any]]:
    """What ``open_clip.create_model`` is given for ``spec``'s weights: the model name, the pretrained
    checkpoint path (None: a folder's own, or random weights) and the other keyword arguments."""
    weights = spec.weights
    kwargs: dict[str, Any] = {"precision": "fp32", "device": "cpu", "pretrained_text": False}
    if weights.source in ("hf-hub", "local-dir"):
        return f"local-dir:{weights.checkpoint}", None, kwargs
    if weights.source == "random":
        return spec.architecture, None, kwargs
    if weights.checkpoint is None:
        raise ModelUnavailableError(f"OpenCLIP weights {spec.architecture}/{weights.label} were not located")
    tag_quick_gelu = bool(weights.tag_config.get("quick_gelu"))
    if weights.source == "tag" and tag_quick_gelu != bool(spec.model_config.get("quick_gelu")):
        # open_clip only warns here too; the architecture decides (e.g. ViT-B-32-quickgelu).
        warnings.warn(
            f"QuickGELU mismatch: tag {weights.label} was trained with quick_gelu="
            f"{tag_quick_gelu}, {spec.architecture} uses "
            f"{bool(spec.model_config.get('quick_gelu'))}; use the matching -quickgelu architecture",
            UserWarning,
            stacklevel=3,  # the caller of ClipEncoder._build, as when this was written inside it
        )
    # A checkpoint given by path loses the tag's preprocessing in open_clip; hand it over again.
    tag_keys = ("mean", "std", "interpolation", "resize_mode")
    kwargs["force_preprocess_cfg"] = {k: v for k, v in weights.tag_config.items() if k in tag_keys}
    return spec.architecture, str(weights.checkpoint), kwargs


def _create_model(
    spec: ClipSpec, name: str, pretrained: str | None, kwargs: dict[str, Any]
) -> tuple[torch.nn.Module, Callable[[list[str]], torch.Tensor]]:
    """The OpenCLIP model and tokenizer of ``name``; any failure to build them is ModelUnavailableError."""
    import open_clip
    import torch

    weights = spec.weights
    try:
        # open_clip's config registry is process-global: re-register this spec's file and build under one
        # lock, so another spec registering a same-named config cannot swap architectures in between.
        with _REGISTRY_LOCK:
            if spec.config_file:
                register_model_config_file(spec.config_file)
            if weights.source == "random":
                # Seeded and isolated from the caller's RNG: the same seed gives the same model anywhere.
                # Random weights are asked for here, so open_clip's warning about them is noise.
                with torch.random.fork_rng(devices=[]), _without_random_init_warning():
                    torch.manual_seed(weights.seed or 0)
                    model = open_clip.create_model(name, pretrained=pretrained, **kwargs)
            else:
                model = open_clip.create_model(name, pretrained=pretrained, **kwargs)
            tokenizer = open_clip.get_tokenizer(name)
    except ModelUnavailableError:
        raise
    except Exception as err:
        raise ModelUnavailableError(
            f"OpenCLIP model {spec.architecture} with weights {weights.label} could not be built: "
            f"{typed_line(err)}"
        ) from err
    return model, tokenizer


class ClipEncoder(LazyModel):
    """OpenCLIP image + text encoder; implements :class:`figvault.encoders.base.ImageTextEncoder`."""

    channel = CHANNEL

    def __init__(self, spec: ClipSpec) -> None:
        super().__init__()
        self.spec = spec
        self.dim = spec.dim
        self.embedding_version = spec.embedding_version
        self._transform: Callable[[Image.Image], torch.Tensor] | None = None
        self._tokenizer: Callable[[list[str]], torch.Tensor] | None = None
        self._pool: ThreadPoolExecutor | None = None

    # ----------------------------------------------------------------------------------------- loading
    def _build(self) -> torch.nn.Module:
        from open_clip.transform import PreprocessCfg, image_transform_v2

        spec = self.spec
        require_device(spec.device)
        name, pretrained, kwargs = _model_source(spec)
        model, tokenizer = _create_model(spec, name, pretrained, kwargs)
        actual = _canonical_preprocess(model.visual.preprocess_cfg)
        if actual != spec.preprocess:
            # The version was computed from a prediction; refuse to encode if the prediction was wrong.
            raise ModelUnavailableError(
                f"OpenCLIP preprocessing {actual} differs from the one in the embedding version "
                f"{spec.preprocess}; this is a figvault bug"
            )
        model.eval()
        if spec.precision != "fp32":
            # Plain weight cast (not autocast): the fast path on CPUs with bf16 kernels (bench/encode.py).
            model.to(torch_dtype(spec.precision))
        model.to(spec.device)
        self._transform = image_transform_v2(PreprocessCfg(**model.visual.preprocess_cfg), is_train=False)
        self._tokenizer = tokenizer
        return model

    # ---------------------------------------------------------------------------------------- encoding
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """float32 [n, dim], L2-normalised, in the same space as :meth:`encode_texts`.

        A bad image raises EncodingError naming its index; see :meth:`encode_images_partial`.
        """
        return self._encode_images(images, lenient=False, loaders=False).vectors

    def encode_images_partial(self, images: Sequence[ImageInput]) -> PartialEncoding:
        """Like :meth:`encode_images`, but bad images are skipped and reported instead of failing the batch.

        ``vectors[k]`` belongs to ``images[indices[k]]``; ``errors`` maps the skipped indices to reasons.
        An image may be given as a loader (decoded when its batch is preprocessed, then let go: a batch of
        ingest holds a few full-size images at a time, not all of them; an EncodingError it raises skips it).
        """
        return self._encode_images(images, lenient=True, loaders=True)

    def _encode_images(
        self, images: Sequence[ImageInput], *, lenient: bool, loaders: bool
    ) -> PartialEncoding:
        import torch

        self._ensure_loaded()
        size = self.spec.batch_size
        chunks = [range(start, min(start + size, len(images))) for start in range(0, len(images), size)]
        parts: list[np.ndarray] = []
        indices: list[int] = []
        errors: dict[int, str] = {}
        # Decoding and resizing (PIL, GIL released) of the next batch run in worker threads while the model
        # works on the current one; big figure images make preprocessing a large share of the cost.
        pending = self._submit(images, chunks[0], loaders) if chunks else []
        for number, chunk in enumerate(chunks):
            ready = pending
            if number + 1 < len(chunks):
                pending = self._submit(images, chunks[number + 1], loaders)
            tensors: list[torch.Tensor] = []
            for index, future in zip(chunk, ready, strict=True):
                try:
                    tensors.append(future.result())
                except EncodingError as err:
                    if not lenient:
                        raise
                    errors[index] = str(err)
                    continue
                indices.append(index)
            if tensors:
                parts.append(self._forward(pixels=torch.stack(tensors)))
        return PartialEncoding(self._concat(parts), indices, errors)

    def _submit(
        self, images: Sequence[ImageInput], indices: range, loaders: bool
    ) -> list[Future[torch.Tensor]]:
        return [self._preprocess_pool().submit(self._preprocess, images[i], i, loaders) for i in indices]

    def _preprocess(self, image: ImageInput, index: int, loaders: bool) -> torch.Tensor:
        """``image`` (with ``loaders``, a loader's) as the model's input tensor."""
        assert self._transform is not None
        return self._transform(as_rgb(image() if loaders and callable(image) else image, index))

    def _preprocess_pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            with self._load_lock:
                if self._pool is None:
                    workers = min(4, usable_cores())
                    self._pool = ThreadPoolExecutor(workers, thread_name_prefix="clip-preprocess")
        return self._pool

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """float32 [n, dim], L2-normalised; texts longer than the context are truncated by the tokenizer."""
        self._ensure_loaded()
        assert self._tokenizer is not None
        parts: list[np.ndarray] = []
        for start in range(0, len(texts), self.spec.batch_size):
            window = texts[start : start + self.spec.batch_size]
            chunk = [check_text(text, start + i) for i, text in enumerate(window)]
            tokens = self._tokenizer(chunk)
            parts.append(self._forward(tokens=tokens))
        return self._concat(parts)

    def _forward(
        self, *, pixels: torch.Tensor | None = None, tokens: torch.Tensor | None = None
    ) -> np.ndarray:
        import torch
        import torch.nn.functional as F

        model = self._model
        assert model is not None
        with self._model_lock, torch.inference_mode():
            if pixels is not None:
                features = model.encode_image(pixels.to(self.spec.device, torch_dtype(self.spec.precision)))
            else:
                assert tokens is not None
                features = model.encode_text(tokens.to(self.spec.device))
            features = F.normalize(features.float(), dim=-1)
        return features.cpu().numpy().astype(np.float32, copy=False)

    def _concat(self, parts: list[np.ndarray]) -> np.ndarray:
        if not parts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(parts, axis=0), dtype=np.float32)
