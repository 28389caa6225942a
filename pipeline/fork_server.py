"""Imported by the extraction workers' fork server only (``_PRELOAD`` in ``pipeline/extract_worker.py``),
never by another process: the workers forked from it do not run the main script again.

A forkserver child runs the parent's main script (``figvault``, a bench) before its target, as
``__mp_main__``: 30-100 ms of CPU per document for ``figvault``'s (measured 2026-12-03). Python's own
remedy, ``"__main__"`` in the preload list, does nothing on Python 3.11 (the fork server is never told the
main script's path). The workers' targets are module-level functions of figvault's modules (the limited
extraction, a page render), so they need nothing from the main script.
"""

from multiprocessing import spawn


def _keep_main(_main: str) -> None:
    """The worker keeps the fork server's ``__main__``."""


spawn._fixup_main_from_path = _keep_main  # type: ignore[attr-defined]
spawn._fixup_main_from_name = _keep_main  # type: ignore[attr-defined]
