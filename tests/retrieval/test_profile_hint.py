"""A store built with a packaged profile and opened without it says which profile: a new user who built
the store with ``--config offline`` and then left it out was told only "store serves v4be1..., configured
v08a7...: run figvault reencode" (a first-hour audit, 2026-12-08), when adding the option was the fix."""

from __future__ import annotations

from pathlib import Path

from figvault.encoders.factory import configured_embedding_version
from figvault.retrieval.served_encoders import mismatch_hint
from figvault.settings import load_settings


def test_a_store_of_a_packaged_profile_names_the_profile(tmp_path: Path) -> None:
    offline = load_settings("offline", data_dir=tmp_path)
    default = load_settings("default", data_dir=tmp_path)
    served, configured = configured_embedding_version(offline), configured_embedding_version(default)
    hint = mismatch_hint(default, None, served, configured)
    assert hint.startswith(
        "this store was built with the `offline` profile: add --config offline (or run `figvault reencode`"
        " to move it to this configuration)"
    )
    assert f"store serves {served}, configured {configured}" in hint
    # A version no profile makes: as before.
    assert mismatch_hint(default, None, "v000000000000", configured) == (
        f"store serves v000000000000, configured {configured}: run `figvault reencode`"
    )
    # The profile in use is never the one to add.
    assert "profile" not in mismatch_hint(offline, None, served, "v000000000000")
