"""SearchEngine.warm_up (what `figvault serve` runs before /readyz is ready): every encoder loaded, the
questions' runtime prepared, the image tower run once, and a search run end to end, on an empty store too."""

from __future__ import annotations

from figvault.encoders.factory import build_encoders
from figvault.retrieval.search import SearchEngine
from figvault.settings import Settings


def test_warm_up_loads_every_encoder_on_an_empty_store(tiny_clip_settings: Settings) -> None:
    tiny_clip_settings.text.question_runtime = "torch"  # the ONNX path has its own test
    encoders = build_encoders(tiny_clip_settings)
    engine = SearchEngine.from_settings(tiny_clip_settings, encoders)
    assert not engine.encoders_loaded()
    engine.warm_up()  # nothing ingested yet: still loads and runs what it can
    assert engine.encoders_loaded() and encoders.clip is not None and encoders.clip.loaded
    assert encoders.text is not None and encoders.text._questions is None  # stayed on torch, as asked
