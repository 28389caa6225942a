"""What the page cache's bound (``storage.page_cache_mb``, ``pipeline/page_cache.py``) costs a render.

A first render stores its PNG and tells the cache (``PageCache.wrote``); past the bound that walks the cache
and evicts down to 0.9 of it. Rasterising (a worker process, 40 ms to seconds) is left out: each "render"
here is what the bound adds around it, the storage write plus ``wrote``, into a cache pre-filled with
``--entries`` renders of ``--kb`` each (random bytes: the walk's cost depends on the count, not the
content), for two arms in the order A B B A: A no bound (``page_cache_mb = 0``), B a bound the pre-filled
cache already fills (every render past it evicts, a walk every 10 % of the bound). Timed: ``wrote`` alone
(the write is the same in both arms; its time is printed, it is the disk's noise). Also one walk alone and a
cache hit's ``touch``. Per-render means in microseconds; the load average is printed beside them.

    nice -n 10 .venv/bin/python bench/page_cache.py [--entries 2000] [--kb 100] [--renders 2000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from figvault.pipeline.page_cache import CACHE_AREA, PageCache  # noqa: E402
from figvault.settings import Settings  # noqa: E402
from figvault.storage import Storage  # noqa: E402


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def fill(settings: Settings, prefix: str, count: int, size: int) -> None:
    pages = Storage.from_settings(settings).area(CACHE_AREA)
    for n in range(count):
        pages.write(f"doc/{prefix}/{n % 97:02x}/{n:064x}-p1-110.png", os.urandom(size))


def renders(
    settings: Settings, bound_mb: float, arm: str, count: int, size: int
) -> tuple[float, float, float]:
    """Mean microseconds a render spends in ``wrote`` (the bound's work), the slowest one's, and the
    storage write's mean (the same in both arms: the disk's noise)."""
    settings.storage.page_cache_mb = bound_mb
    cache = PageCache.from_settings(settings)
    pages = Storage.from_settings(settings).area(CACHE_AREA)
    data = os.urandom(size)
    spent, slowest, writing = 0.0, 0.0, 0.0
    for n in range(count):
        start = time.perf_counter()
        pages.write(f"doc/{arm}/{n % 97:02x}/{n:064x}-p2-110.png", data)
        wrote = time.perf_counter()
        cache.wrote(size)
        took = time.perf_counter() - wrote
        spent, slowest, writing = spent + took, max(slowest, took), writing + wrote - start
    return spent / count * 1e6, slowest * 1e6, writing / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=2000)
    parser.add_argument("--kb", type=int, default=100)
    parser.add_argument("--renders", type=int, default=2000)
    args = parser.parse_args()
    size = args.kb * 1024
    with tempfile.TemporaryDirectory(prefix="fv-page-cache-") as folder:
        settings = Settings(data_dir=Path(folder))
        fill(settings, "filled", args.entries, size)
        bound_mb = args.entries * size / 2**20  # the pre-filled cache is at the bound
        print(f"pre-filled: {args.entries} entries of {args.kb} KB; bound B {bound_mb:.0f} MB")
        print(f"load before: {load()}")
        rows = []
        for arm, bound in (("A1", 0.0), ("B1", bound_mb), ("B2", bound_mb), ("A2", 0.0)):
            mean, slowest, write = renders(settings, bound, arm, args.renders, size)
            rows.append((arm, mean))
            what = "no bound" if not bound else "bound"
            print(
                f"{arm} ({what}): wrote {mean:8.1f} us/render (slowest {slowest / 1e3:.1f} ms);"
                f" the write itself {write:.0f} us",
                flush=True,
            )
        cache = PageCache.from_settings(settings)
        start = time.perf_counter()
        cache.trim()
        walk_ms = (time.perf_counter() - start) * 1e3
        entries = len(Storage.from_settings(settings).area(CACHE_AREA).files())
        key = Storage.from_settings(settings).area(CACHE_AREA).files()[0][0]
        start = time.perf_counter()
        for _ in range(1000):
            cache.used(key)
        touch_us = (time.perf_counter() - start) * 1e3
        a = (rows[0][1] + rows[3][1]) / 2
        b = (rows[1][1] + rows[2][1]) / 2
        print(f"A mean {a:.1f} us, B mean {b:.1f} us: the bound adds {b - a:.0f} us a render")
        print(f"one walk of {entries} entries: {walk_ms:.1f} ms; a hit's touch: {touch_us:.1f} us")
        print(f"evicted by B: {cache.evicted()}; cache now {cache.size() / 2**20:.0f} MB")
        print(f"load after: {load()}")


if __name__ == "__main__":
    main()
