"""Imported by the extraction workers' fork server (pipeline/extract_worker.py): loads the OCR engine once,
so the workers forked from it start with it (``figvault.ingest.ocr.preload``)."""

from figvault.ingest.ocr import preload

preload()
