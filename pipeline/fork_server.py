"""Imported first by the extraction workers' fork server only (``_PRELOAD`` in
``pipeline/extract_worker.py``), never by another process: the workers forked from it do not run the main
script again, and run their native libraries on one thread each.

Each worker has a core (``extract.workers``, one per core by default): numpy's OpenBLAS (imported by the
preload) started a pool of one thread per core in every worker, whose threads spin after each call and
take the other workers' cores (one worker at a time on 4 corpus PDFs: 8-12 % less CPU with one thread;
corpus ingest on 2 cores at load 6-12: docs/jobs.md). Set before the libraries load, which read it then.

A forkserver child runs the parent's main script (``figvault``, a bench) before its target, as
``__mp_main__``: 30-100 ms of CPU per document for ``figvault``'s (measured 2026-12-03). Python's own
remedy, ``"__main__"`` in the preload list, does nothing on Python 3.11 (the fork server is never told the
main script's path). The workers' targets are module-level functions of figvault's modules (the limited
extraction, a page render), so they need nothing from the main script.
"""

import os
from multiprocessing import spawn

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def _keep_main(_main: str) -> None:
    """The worker keeps the fork server's ``__main__``."""


spawn._fixup_main_from_path = _keep_main  # type: ignore[attr-defined]
spawn._fixup_main_from_name = _keep_main  # type: ignore[attr-defined]
