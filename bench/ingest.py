"""Batch ingest benchmark: pages/s and units/s of each engine on the same documents, in one run.

Runs, each in a fresh process and a fresh data folder, one after the other:

- ``extract``: extraction alone (``extract_many``, ``extract.workers`` processes): the ceiling;
- ``sequential``: the ingest path before issue 16 (a chunk of ``extract.workers`` documents extracted,
  then each encoded and written in turn);
- ``local``: the staged local engine (extract, encode, write overlapped; the default);
- ``ray``: the Ray engine on a Ray started here (``--ray-cpus``), overhead included;
- ``ENGINE@before``: that engine from the figvault package under ``--before-src`` (an older commit's code,
  laid out as an installed package, or its source tree: a worktree, a ``git archive``), in the same run.

Each ingest is a real job (``run_here``) on the offline profile by default, so the models load inside the
measured time as they do for a user; the per-stage busy times come from the job's ``stages``, the model
load from ``stages.load`` (reported in its own column, not in the encode rate). ``% of extract`` is the
engine's pages/s over extraction alone's, in the same run. Peak memory
is the largest resident total of the run's process tree (extraction workers, Ray's processes included),
sampled every 0.2 s, and the ingesting process's own (in ``serve``, the service's). The load average is
recorded before and after each run: the machine is shared.
The text model's ONNX export (``text.export_cache``) is
kept in one folder for all runs, filled before them and untimed (``--export-cache warm``, the default: a
job in a data folder that has ingested before; ``cold``: each run exports, as a first ingest does).
A second table says where each engine's time went: the runner's own time against the process's, and
each stage's busy share of it (extraction per worker); a stage under 100% waited.

    .venv/bin/python bench/ingest.py [--docs DIR ...] [--limit N] [--engines extract,sequential,local,ray]
                                     [--profile offline] [--export-cache warm|cold] [--json OUT]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# ``ENGINE@before`` runs set BENCH_INGEST_SRC to the older package's folder: it must come first.
sys.path.insert(0, os.environ.get("BENCH_INGEST_SRC") or str(REPO))

import psutil  # noqa: E402

NIGHT_S = 8 * 3600
"""``overnight`` in the 1M-page estimate."""


def corpus_docs(folders: list[Path], limit: int) -> list[Path]:
    files = sorted(p for f in folders for p in f.iterdir() if p.suffix.lower() in {".pdf", ".pptx"})
    return files[:limit] if limit else files


class PeakMemory:
    """The largest resident total of this process and its descendants, sampled in a thread; and the CPU
    seconds (user + system) the tree used: at the end, each live process's own and its reaped children's
    (the fork server's children are the extraction workers, LibreOffice included), plus what the samples
    saw of a process that ended with no live parent to reap it. A cost per page that a busy machine
    distorts far less than wall time; exact for short-lived workers, which samples miss."""

    def __init__(self) -> None:
        self.peak = 0
        self.own_peak = 0
        """This process's own largest resident size: the ingesting process (in ``serve``: the service's)."""
        self.cpu_s = 0.0
        self.seen: dict[int, tuple[int, float]] = {}
        """pid -> (its parent's pid, the largest CPU seconds sampled)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        me = psutil.Process()
        while not self._stop.wait(0.2):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                    times, parent = proc.cpu_times(), proc.ppid()
                except psutil.Error:
                    continue
                cpu = max(self.seen.get(proc.pid, (0, 0.0))[1], times.user + times.system)
                self.seen[proc.pid] = (parent, cpu)
            self.peak = max(self.peak, total)
            with contextlib.suppress(psutil.Error):
                self.own_peak = max(self.own_peak, me.memory_info().rss)

    def _tree_cpu(self) -> float:
        me = psutil.Process()
        live: dict[int, float] = {}
        for proc in [me, *me.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                t = proc.cpu_times()
                live[proc.pid] = t.user + t.system + t.children_user + t.children_system
        orphans = sum(
            cpu
            for pid, (parent, cpu) in self.seen.items()
            if pid not in live and parent not in live and parent not in self.seen
        )
        return sum(live.values()) + orphans

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_s = self._tree_cpu()


def warm_export_cache(profile: str) -> dict[str, Any]:
    """In this process: fill ``text.export_cache`` (the bench's shared folder) as a first job would, so
    that the timed runs measure a job in a data folder that has ingested before (docs/jobs.md)."""
    from figvault.encoders.factory import build_encoders
    from figvault.pipeline.stages import StageClock, load_encoders
    from figvault.settings import load_settings

    with tempfile.TemporaryDirectory(prefix="figvault-bench-warm-", ignore_cleanup_errors=True) as data:
        clock = StageClock()
        load_encoders(build_encoders(load_settings(profile, data_dir=Path(data))), clock)
    return {"load_s": clock.stages["load"].busy_s}


def run_one(engine: str, files: list[Path], profile: str, ray_cpus: int) -> dict[str, Any]:
    """In this process: one engine over ``files`` in a fresh data folder."""
    from figvault.settings import load_settings

    # Milvus Lite may still write a collection manifest while the folder is removed ("Directory not empty"):
    # the run's numbers are taken by then, so a leftover folder must not fail it.
    with tempfile.TemporaryDirectory(prefix="figvault-bench-ingest-", ignore_cleanup_errors=True) as data:
        settings = load_settings(profile, data_dir=Path(data))
        with PeakMemory() as memory:
            started = time.perf_counter()
            if engine == "extract":
                result = _extract_only(settings, files)
            else:
                result = _ingest_job(settings, files, engine, ray_cpus)
            result["wall_s"] = time.perf_counter() - started
        result["peak_rss_mb"] = memory.peak / 2**20
        result["peak_own_rss_mb"] = memory.own_peak / 2**20
        result["cpu_s"] = memory.cpu_s
        result["workers"] = settings.extract.workers or os.cpu_count() or 1
    return result


def _extract_only(settings: Any, files: list[Path]) -> dict[str, Any]:
    from figvault.pipeline.extract_worker import extract_many

    pages = units = failed = 0
    for _path, result in extract_many(files, settings.extract):
        if isinstance(result, str):
            failed += 1
        else:
            pages += result.extraction.meta.pages
            units += len(result.extraction.figures)
    return {"pages": pages, "units": units, "failed": failed}


def _ingest_job(settings: Any, files: list[Path], engine: str, ray_cpus: int) -> dict[str, Any]:
    from figvault.pipeline.jobs import JobStore, JobType, run_here
    from figvault.pipeline.runner import encoder_may_lower_threads

    if engine == "ray":
        # Ray's local-only mode, read when ray is imported: on Linux it otherwise listens on every
        # interface even when told 127.0.0.1 (seen here: its GCS and raylet on *, an agent on the host's
        # address). The engine does the same for a Ray it starts itself.
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
        import ray

        ray.init(
            num_cpus=ray_cpus, include_dashboard=False, _node_ip_address="127.0.0.1", log_to_driver=False
        )
    jobs = JobStore.open(settings)
    params = {"paths": [str(p) for p in files], "groups": ["bench"], "engine": engine}
    job = jobs.create(JobType.INGEST, params, started_by="bench", tenant="default")
    with encoder_may_lower_threads():  # as `figvault ingest` does
        final = run_here(settings, job)
    r = final.result
    return {
        "state": str(final.state),
        "pages": r.get("pages", 0),
        "units": r.get("units", 0),
        "failed": r.get("failed", 0),
        "stages": r.get("stages", {}),
        "timings": {k: round(v, 2) for k, v in r.get("timings", {}).items()},
    }


def installed_layout(src: Path) -> Path:
    """``src`` laid out as an installed package: itself when it holds ``figvault/pipeline``; for a source
    tree (a worktree or ``git archive``: ``pipeline/``, ``ingest/``... beside ``figvault/``), a folder of
    links in the layout its ``pyproject.toml`` maps (``package-dir``). Put first on ``sys.path``, the tree's
    ``figvault`` would find only its top there and take every sub-package from the editable install's
    mapping (the current checkout): the new pipeline under the old top."""
    if (src / "figvault" / "pipeline").is_dir() or not (src / "pyproject.toml").exists():
        return src
    setup = tomllib.loads((src / "pyproject.toml").read_text())["tool"]["setuptools"]
    root = Path(tempfile.mkdtemp(prefix="fv-before-"))
    top = root / "figvault"
    top.mkdir()
    for entry in (src / setup["package-dir"]["figvault"]).iterdir():
        (top / entry.name).symlink_to(entry.resolve())
    for name, folder in setup["package-dir"].items():
        if name != "figvault":
            (top / name.removeprefix("figvault.")).symlink_to((src / folder).resolve())
    return root


def run_isolated(engine: str, args: argparse.Namespace) -> dict[str, Any]:
    name, _, variant = engine.partition("@")
    env = dict(os.environ)
    if variant == "before":
        env["BENCH_INGEST_SRC"] = str(installed_layout(args.before_src))
    command = [
        sys.executable,
        __file__,
        "--one",
        name,
        "--limit",
        str(args.limit),
        "--profile",
        args.profile,
    ]
    command += ["--ray-cpus", str(args.ray_cpus)]
    for folder in args.docs:
        command += ["--docs", str(folder)]
    load_before = os.getloadavg()
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        raise SystemExit(f"{engine}: failed\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["engine"], result["load_before"], result["load_after"] = engine, load_before, os.getloadavg()
    return result


def estimate(local: dict[str, Any]) -> dict[str, float]:
    """From the local run's busy times: core-seconds a page costs per stage, and the workers (cores)
    a 1M-page ingest needs to finish in 8 hours; the writer is one driver. The model load is a fixed cost
    per encoder worker, not per page (``stages.load``), so it is outside the per-page costs."""
    stages, pages = local["stages"], max(local["pages"], 1)
    per_page = {name: stages[name]["busy_s"] / pages for name in ("extract", "encode", "write")}
    return {
        **{f"{name}_core_s_per_page": round(s, 4) for name, s in per_page.items()},
        "extract_workers_1M_overnight": round(1e6 * per_page["extract"] / NIGHT_S, 1),
        "encode_workers_1M_overnight": round(1e6 * per_page["encode"] / NIGHT_S, 1),
        "writer_hours_1M": round(1e6 * per_page["write"] / 3600, 1),
        "model_load_s_per_encoder": stages.get("load", {}).get("busy_s", 0.0),
    }


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| engine | wall s | pages/s | % of extract | units/s | extract pages/s (busy, per worker)"
        " | encode units/s (busy) | write units/s (busy) | model load s | CPU s / page | peak MB"
        " | ingest process peak MB | load before/after (1 min) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    ceiling = next((r["pages"] / r["wall_s"] for r in results if r["engine"] == "extract"), 0.0)
    for r in results:
        stages = r.get("stages") or {}

        def rate(stage: str, key: str, stages: dict = stages) -> str:
            return f"{stages[stage][key]:.1f}" if stage in stages else ""

        cells = [
            r["engine"],
            f"{r['wall_s']:.1f}",
            f"{r['pages'] / r['wall_s']:.2f}",
            f"{100 * r['pages'] / r['wall_s'] / ceiling:.0f}%" if ceiling else "",
            f"{r['units'] / r['wall_s']:.2f}",
            rate("extract", "pages_per_s"),
            rate("encode", "units_per_s"),
            rate("write", "units_per_s"),
            rate("load", "busy_s"),
            f"{r['cpu_s'] / r['pages']:.2f}" if r.get("cpu_s") and r["pages"] else "",
            f"{r['peak_rss_mb']:.0f}",
            f"{r['peak_own_rss_mb']:.0f}" if "peak_own_rss_mb" in r else "",
            f"{r['load_before'][0]:.1f} / {r['load_after'][0]:.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def busy_table(results: list[dict[str, Any]]) -> str:
    """Where each engine's wall time goes: the runner's own time (``timings.total``) against the whole
    process, and each stage's busy seconds as a share of the runner's time (extraction: per worker). A
    stage under 100% waited for work or for room downstream; the model load overlaps extraction."""
    lines = [
        "| engine | wall s | runner s | outside the runner s | extract busy % (per worker) | encode busy %"
        " | model load s | write busy % | plan (hash) s | flush s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        stages, timings = r.get("stages") or {}, r.get("timings") or {}
        total = timings.get("total", 0.0)
        if not stages or total <= 0:
            continue

        def share(stage: str, per: int = 1, stages: dict = stages, total: float = total) -> str:
            return f"{100 * stages.get(stage, {}).get('busy_s', 0.0) / (per * total):.0f}%"

        cells = [
            r["engine"],
            f"{r['wall_s']:.1f}",
            f"{total:.1f}",
            f"{r['wall_s'] - total:.1f}",
            share("extract", r.get("workers", 1)),
            share("encode"),
            f"{stages.get('load', {}).get('busy_s', 0.0):.1f}",
            share("write"),
            f"{timings.get('hash', 0.0):.1f}",
            f"{timings.get('flush', 0.0):.1f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--docs", type=Path, action="append", help="folder of PDF/PPTX (repeatable)")
    parser.add_argument("--limit", type=int, default=0, help="first N files (sorted by name); 0: all")
    parser.add_argument("--engines", default="extract,sequential,local,ray")
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--ray-cpus", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--before-src", type=Path, help="an older figvault's source tree or package")
    parser.add_argument(
        "--export-cache",
        choices=("warm", "cold"),
        default="warm",
        help="warm: one text.export_cache folder for the bench's runs, filled before them (untimed), as in a"
        " data folder that has ingested before; cold: each run's own, as a first ingest",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one == "warm":
        print(json.dumps(warm_export_cache(args.profile)))
        return
    args.docs = args.docs or [REPO.parent / "shared" / "corpus" / "docs"]
    files = corpus_docs(args.docs, args.limit)
    if args.one:
        print(json.dumps(run_one(args.one, files, args.profile, args.ray_cpus)))
        return
    with tempfile.TemporaryDirectory(prefix="figvault-bench-export-") as cache:
        if args.export_cache == "warm":
            os.environ["FIGVAULT_TEXT__EXPORT_CACHE"] = cache  # older code (``@before``) ignores it
            subprocess.run([sys.executable, __file__, "--one", "warm", "--profile", args.profile], check=True)
        run_all(args, files)


def run_all(args: argparse.Namespace, files: list[Path]) -> None:
    print(f"{len(files)} files; uptime: {os.getloadavg()}", flush=True)
    results = []
    for engine in args.engines.split(","):
        results.append(run_isolated(engine, args))
        r = results[-1]
        print(f"{engine}: {r['pages'] / r['wall_s']:.2f} pages/s, load {r['load_after']}", flush=True)
    print(table(results))
    print(busy_table(results))
    local = next((r for r in results if r["engine"] == "local"), None)
    if local is not None and local.get("stages"):
        print(json.dumps(estimate(local), indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
