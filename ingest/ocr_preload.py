"""Imported by the extraction workers' fork server (pipeline/extract_worker.py): loads the OCR engine once,
so the workers forked from it start with it (``figvault.ingest.ocr.preload``)."""

import logging

from figvault.ingest.ocr import preload

try:
    preload()
except Exception:  # the fork server ignores only ImportError: anything else would kill every extraction
    logging.getLogger(__name__).warning("OCR engine not preloaded; workers load it", exc_info=True)
