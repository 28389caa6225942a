"""A retag landing between a re-encode batch's read and its write (tests of the re-encode's copy)."""

from __future__ import annotations

import pytest

from figvault.settings import Settings


def retag_before_the_first_write(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, doc_id: str
) -> list[str]:
    """Make the first re-encode batch that holds ``doc_id`` retag it to ``["fresh"]`` just before it is
    written; the returned list gets ``doc_id`` once that happened."""
    from figvault.pipeline import reencode as reencode_module
    from figvault.pipeline.regroup import set_document_tags

    write = reencode_module.Reencoder.write_batch
    retagged: list[str] = []

    def retagging_write(self, job, encoded):  # type: ignore[no-untyped-def]
        if not retagged and any(u.doc_id == doc_id for u in job.units):
            set_document_tags(settings, "default", doc_id, ["fresh"], store=self.store)
            retagged.append(doc_id)
        return write(self, job, encoded)

    monkeypatch.setattr(reencode_module.Reencoder, "write_batch", retagging_write)
    return retagged
