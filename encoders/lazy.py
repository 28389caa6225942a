"""A model built on first use: once, even when request threads race to it."""

from __future__ import annotations

import threading
from typing import Any, Self


class LazyModel:
    """Subclasses implement ``_build()`` returning the model; ``_model_lock`` serialises forward passes."""

    def __init__(self) -> None:
        self._model: Any = None
        self._load_lock = threading.Lock()
        self._model_lock = threading.Lock()

    def load(self) -> Self:
        """Build the model now (otherwise it is built on first use)."""
        self._ensure_loaded()
        return self

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def _ensure_loaded(self) -> None:
        if self._model is not None:
            return
        with self._load_lock:
            if self._model is None:
                # Assigned last: readers that skip the lock must never see a half-built encoder.
                self._model = self._build()

    def _build(self) -> Any:
        raise NotImplementedError
