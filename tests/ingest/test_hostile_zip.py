"""Uploads are typed by their bytes in the service's own process (``sniff_mime``): a zip whose list of
parts is crafted to hold millions of entries is refused from its end record, before anything is listed."""

from __future__ import annotations

import resource

import pytest

from figvault.errors import UnsupportedFileError
from figvault.ingest.extract import PPTX_MIME, sniff_mime
from figvault.ingest.samples import sample_pptx_bytes
from tests.ingest.hostile_docs import many_parts_zip


def test_a_zip_listing_millions_of_parts_is_refused_before_it_is_listed() -> None:
    """1,000,000 entries in 48 MB (an upload under service.max_upload_mb): listing them took 15 s and
    400 MB of the service's memory, and the file was typed as a deck."""
    hostile = many_parts_zip(1_000_000)
    assert len(hostile) < 50 * 2**20
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with pytest.raises(UnsupportedFileError, match="list of parts takes over"):
        sniff_mime(hostile)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak_mb < 100
    assert sniff_mime(many_parts_zip(20_000)) == PPTX_MIME  # a directory of a normal size is still read
    assert sniff_mime(sample_pptx_bytes()) == PPTX_MIME
