"""Tiny random OpenCLIP architectures for tests and CPU benchmarks, built through figvault's own code path.

The configs are plain open_clip model config files (``model_configs/*.json``); settings name them by path
(``clip.model = ".../fv-tiny-a.json"``), so a subprocess (CLI, service) sees the same architecture. With
``pretrained = "none:SEED"`` the weights are seeded random: vectors are meaningless as semantics but
identical in every process, which is what store, search and re-encode tests need.
"""

from __future__ import annotations

from pathlib import Path

import torch

from figvault.settings import Settings, load_settings

MODEL_CONFIGS = Path(__file__).resolve().parent / "model_configs"
TINY_A = MODEL_CONFIGS / "fv-tiny-a.json"
"""32-d vectors, 64 px images, 77-token context."""
TINY_B = MODEL_CONFIGS / "fv-tiny-b.json"
"""48-d vectors, 32 px images, 32-token context: a different version for re-encode tests."""
TINY_DIMS = {TINY_A: 32, TINY_B: 48}


def tiny_settings(
    data_dir: Path,
    config: Path = TINY_A,
    *,
    seed: int = 0,
    profile: str = "default",
    text: bool = True,
    lexical: bool = True,
) -> Settings:
    """Settings with the CLIP channel on a tiny random model (fp32: identical vectors on every CPU)."""
    settings = load_settings(profile, data_dir=data_dir)
    settings.clip.enabled = True
    settings.clip.model = str(config)
    settings.clip.pretrained = f"none:{seed}"
    settings.clip.precision = "fp32"
    settings.clip.device = "cpu"
    settings.clip.batch_size = 8
    settings.text.enabled = text
    settings.lexical.enabled = lexical
    return settings


def tiny_clip_env(config: Path = TINY_A, seed: int = 0) -> dict[str, str]:
    """The same CLIP settings as environment variables, for tests that run ``figvault`` in a subprocess."""
    return {
        "FIGVAULT_CLIP__ENABLED": "true",
        "FIGVAULT_CLIP__MODEL": str(config),
        "FIGVAULT_CLIP__PRETRAINED": f"none:{seed}",
        "FIGVAULT_CLIP__PRECISION": "fp32",
        "FIGVAULT_CLIP__DEVICE": "cpu",
    }


def save_state_dict(model: torch.nn.Module, path: Path) -> Path:
    """Write a model's weights the way open_clip checkpoints are shipped (safetensors or torch .pt/.bin)."""
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    if path.suffix == ".safetensors":
        from safetensors.torch import save_file

        save_file(state, str(path))
    else:
        torch.save(state, path)
    return path
