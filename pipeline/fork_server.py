"""Imported first by the extraction workers' fork server only (``_PRELOAD`` in
``pipeline/extract_worker.py``), never by another process: the workers forked from it do not run the main
script again, and run their native libraries on one thread each.

Each worker has a core (``extract.workers``, one per core by default): numpy's OpenBLAS (imported by the
preload) started a pool of one thread per core in every worker, whose threads spin after each call and
take the other workers' cores (one worker at a time on 4 corpus PDFs: 8-12 % less CPU with one thread;
corpus ingest on 2 cores at load 6-12: docs/jobs.md). Set before the libraries load, which read it then.

A forkserver child runs the parent's main script (``figvault``, a bench) before its target, as
``__mp_main__``: 30-100 ms of CPU per document for ``figvault``'s (measured 2026-12-03). The workers'
targets are module-level functions of figvault's modules (the limited extraction, a page render), so they
need nothing from the main script, and this module replaces multiprocessing's private
``spawn._fixup_main_from_path``/``_from_name`` in the fork server with a function that keeps its
``__main__``. No public way does the same (checked 2026-12-04):

- ``"__main__"`` in ``set_forkserver_preload`` is multiprocessing's own remedy, but on Python 3.11 and 3.12
  the fork server is never told the main script's path (it reads ``main_path`` where ``spawn`` writes
  ``init_main_from_path``: CPython gh-126631 / gh-137996, fixed in September 2025 for 3.13 and 3.14), so
  the main script still runs once per worker. Where it works it runs the main script once in the fork
  server instead, and every worker forked from it then carries that script's imports in its memory,
  which the per-document memory limit counts (RSS): a few MB for ``figvault``'s, hundreds for an
  application or bench that imports torch at its top; a script whose top level does work does it there.
- ``set_executable``, ``set_start_method`` and the ``spawn`` context change the interpreter or start
  every worker afresh (the preload, 40 ms a process, is the point of the fork server); none of them
  selects what a child imports as its main module.

Should a later Python rename the two functions, assigning them here changes nothing and workers run the
main script again: ``tests/pipeline/test_extract_worker.py`` ``test_workers_do_not_run_the_main_script_again``
counts the runs and fails then.
"""

import os
from multiprocessing import spawn

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def _keep_main(_main: str) -> None:
    """The worker keeps the fork server's ``__main__``."""


spawn._fixup_main_from_path = _keep_main  # type: ignore[attr-defined]
spawn._fixup_main_from_name = _keep_main  # type: ignore[attr-defined]
