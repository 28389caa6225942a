"""Device and numeric precision for the encoders, from settings and what this machine supports."""

from __future__ import annotations

import functools
import logging
from typing import TYPE_CHECKING, Any, Literal

from figvault.cores import usable_cores
from figvault.errors import ModelUnavailableError

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    import torch

Precision = Literal["fp32", "bf16", "fp16"]
PRECISIONS: tuple[Precision, ...] = ("fp32", "bf16", "fp16")


def torch_dtype(precision: str) -> torch.dtype:
    """The torch dtype of ``precision``. torch is imported where a model is built or a device or precision
    must be asked of it, never with this module: a batch ingest whose texts run on ONNX Runtime (the
    offline profile, no CLIP) then starts its first extraction without the 1.5-4 s of torch's import."""
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def __getattr__(name: str) -> Any:
    if name == "DTYPES":  # precision -> torch dtype, for callers that index it (imports torch)
        return {precision: torch_dtype(precision) for precision in PRECISIONS}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def resolve_device(name: str) -> str:
    """``auto`` -> cuda when present, else cpu; an explicit device is kept as named.

    Whether a named CUDA device exists is checked where a model is loaded (:func:`require_device`), not
    here: the driver of a Ray ingest plans the encoders its GPU actors run (versions, dimensions) on a
    machine that may have no GPU itself.
    """
    name = (name or "auto").strip().lower()
    if name == "auto":
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    return name


def require_device(name: str) -> None:
    """Raise ModelUnavailableError when ``name`` is a CUDA device and torch sees none (before loading)."""
    if not name.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ModelUnavailableError(f"device {name!r} requested but torch sees no CUDA device; use 'cpu'")


def precision_here(precision: str, device: str) -> Precision:
    """What ``precision`` resolves to for ``device`` on this machine, without checking that a named CUDA
    device exists (the caller that encodes checks that)."""
    device = (device or "auto").strip().lower()
    return resolve_precision(precision, resolve_device("auto") if device == "auto" else device)


def serving_cpu_threads(configured: int) -> int:
    """Intra-op threads for a serving process: ``configured``, or with 0 half the usable cores (1 to 4)."""
    if configured > 0:
        return configured
    cores = usable_cores()
    return max(1, min(4, cores // 2))


def use_cpu_threads(count: int) -> None:
    """Set the process's torch intra-op threads (a process-wide setting: call once, at start)."""
    import torch

    torch.set_num_threads(count)


def cpu_supports_bf16() -> bool:
    """True when oneDNN has fast bf16 kernels on this CPU (AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: str) -> Precision:
    """``auto``: bf16 on CUDA, bf16 weights on a CPU with bf16 kernels, fp32 otherwise. An explicit bf16 is
    kept on any CPU (the embedding version must say what computed the vectors), with a warning where it is
    slow."""
    if precision == "auto":
        if device.startswith("cuda"):
            # Not fp16: a collection records the resolved dtype and every reader encodes questions in it,
            # and a CPU reader (a search server beside GPU ingest) can run bf16 but not fp16.
            return "bf16"
        return "bf16" if cpu_supports_bf16() else "fp32"
    if precision not in PRECISIONS:
        raise ValueError(f"unknown precision {precision!r}; use auto, fp32, bf16 or fp16")
    if precision == "fp16" and not device.startswith("cuda"):
        raise ModelUnavailableError("precision fp16 needs a CUDA device; use bf16 or fp32 on the CPU")
    if precision == "bf16" and not device.startswith("cuda") and not cpu_supports_bf16():
        _warn_slow_bf16()
    return precision  # type: ignore[return-value]


@functools.cache
def _warn_slow_bf16() -> None:
    # Once a process: resolve_precision runs for every plan of the encoders.
    log.warning(
        "bf16 weights on a CPU without bf16 kernels (no AVX512 / AMX bf16): torch emulates them at several"
        " times the CPU of fp32 (docs/encoders.md, measured); precision 'auto' picks fp32 here"
    )
