"""Searches under load: N concurrent clients over HTTP against a real ``figvault serve``, per level.

For each store (embedded Milvus Lite, and/or the Milvus 2.3.5 server of the dev extra) and each concurrency
level (default 1, 4, 8, 16), ``c`` clients each send a fixed number of ``POST /v1/search`` requests back to
back (bounded loops: the run stops by itself) and the table shows p50/p95/p99 latency, searches per second,
errors (any answer but 200, incl. 429) and, from the responses' ``timings``, where the time went: each search
step's p50/p95 and ``outside`` (client latency minus the search's own ``total``: HTTP, authentication,
waiting for a worker, the audit row). The first search after ``/readyz`` says ready is timed too.

Data (built once into ``--cache-dir``, reused afterwards):
- ``--data corpus``: the labelled corpus plus the 65 distractor documents, ingested with the offline profile;
  questions are the dev questions, then variants of them (so that a question cache does not answer most).
- ``--data 10000`` / ``100000``: synthetic units as in bench/http_search.py (random vectors, random
  caption words, the caller holds 3 of 20 groups).

``--compare REF`` runs a second server from another commit's code (``git archive REF``) on a copy of the
same data, and alternates the two level by level (A B, then B A), so that machine noise hits both: read the
ratios. The data is built by this tree, so REF must know its database migrations: to compare with an older
commit, run the older tree's bench with ``--compare main`` (the newer server upgrades its copy). Loopback
only; every process this starts is stopped at the end.

Each client sends on its own API key (reader users ``loadbench``, ``loadbench-2``, ...), as the callers
of a team do: the service limits each key to ``service.rate_limit_per_key`` and each caller to its
``service.search_share_per_caller`` of the search places, so clients sharing one key measure, from about
8 clients on, partly those 429s. ``--no-keys-per-client`` puts every client on one key (the bench before
2026-12-05: a batch script on one key). All clients are in one tenant: past
``service.search_share_per_tenant`` of the places (34 on 2 cores) they get the tenant's 429s.

    .venv/bin/python bench/http_load.py --data corpus [--stores lite,server] [--levels 1,4,8,16]
        [--per-client 40] [--compare main] [--no-keys-per-client] [--cache-dir /tmp/$USER/figvault-load]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from percentiles import percentile  # noqa: E402

SHARED = REPO.parent / "shared"
STEPS = ("lookup", "encode", "recall", "fetch", "total")
CORPUS_GROUPS = ["staff"]
CORPUS_TENANT = "default"


def load_avg() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f}"


# ---- data ------------------------------------------------------------------------------------------------


def shared_dir() -> Path:
    for candidate in (SHARED, Path("/work/shared")):
        if (candidate / "corpus").is_dir():
            return candidate
    raise SystemExit("the corpus folder (shared/corpus) is not there")


def corpus_questions(n: int, seed: int = 7) -> list[str]:
    """The dev questions, then variants of them (a word dropped, two swapped): ``n`` distinct questions."""
    base = [json.loads(line)["query"] for line in (shared_dir() / "corpus/dev_queries.jsonl").open()]
    rng = random.Random(seed)
    out, seen = list(base), set(base)
    while len(out) < n:
        words = rng.choice(base).split()
        if len(words) > 3:
            del words[rng.randrange(len(words))]
            i, j = rng.sample(range(len(words)), 2)
            words[i], words[j] = words[j], words[i]
        text = " ".join(words)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out[:n]


SERVER_ENV: dict[str, str] = {}
"""``--env`` settings given to every server (``FIGVAULT_SERVICE__SEARCH_CONCURRENCY=4``)."""
COMPARE_ENV: dict[str, str] = {}
"""``--compare-env`` settings given to the ``--compare`` server only (two settings of one code, one run)."""


def figvault_env(store_uri: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIGVAULT_")}
    env["HF_HUB_OFFLINE"] = "1"
    # Its own servers on loopback: /metrics open, as it was by default before 2026-12-05 (older code too).
    env["FIGVAULT_SERVICE__METRICS_REQUIRE_AUTH"] = "false"
    if store_uri:
        env["FIGVAULT_STORE__URI"] = store_uri
    return {**env, **SERVER_ENV}


def build_corpus(data_dir: Path, store_uri: str) -> None:
    docs = shared_dir()
    paths = [str(docs / "corpus/docs"), str(docs / "corpus-distractors/docs")]
    cmd = [sys.executable, "-m", "figvault", "--config", "offline", "--data-dir", str(data_dir), "ingest"]
    cmd += [*paths, "--groups", ",".join(CORPUS_GROUPS), "--tenant", CORPUS_TENANT, "--quiet"]
    print(f"ingesting the corpus + distractors into {data_dir} (once) ...", flush=True)
    subprocess.run(cmd, env=figvault_env(store_uri), check=True)


def copy_corpus(lite_dir: Path, data_dir: Path, store_uri: str) -> None:
    """The Lite corpus's units (rows and vectors) and registry copied to a server: no second extraction."""
    from figvault.retrieval.milvus_store import MilvusUnitStore
    from figvault.retrieval.schema import F_SEARCH_TEXT, LEXICAL
    from figvault.settings import load_settings

    print(f"copying the corpus units of {lite_dir} to {store_uri} (once) ...", flush=True)
    shutil.copy2(lite_dir / "registry.sqlite3", data_dir / "registry.sqlite3")
    source = MilvusUnitStore.from_settings(load_settings("offline", data_dir=lite_dir))
    target_settings = load_settings("offline", data_dir=data_dir)
    target_settings.store.uri = store_uri
    target = MilvusUnitStore.from_settings(target_settings)
    name = source.served_collection()
    assert name is not None, f"nothing ingested in {lite_dir}"
    collection = target.ensure_collection(source.layout_of(name))
    drop = {LEXICAL} | (set() if target.layout_of(collection).lexical else {F_SEARCH_TEXT})
    rows = [{k: v for k, v in row.items() if k not in drop} for row in source.query_rows(name, "", ["*"])]
    target.upsert_rows(collection, rows)
    target.flush(collection)
    source.client.close()
    target.client.close()


def build_synthetic(data_dir: Path, units: int, store_uri: str) -> None:
    import multiprocessing

    import http_search

    child = multiprocessing.get_context("spawn").Process(
        target=http_search.build_store, args=(data_dir, units, store_uri)
    )
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit("building the synthetic store failed")


def ensure_data(data_dir: Path, data: str, store_uri: str) -> tuple[list[str], str, list[str]]:
    """Build the data folder once; the caller's (tenant, groups) and a question source."""
    marker = data_dir / ".http-load-built"
    if not marker.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        if data == "corpus" and store_uri:
            lite_dir = data_dir.parent / "corpus-lite"
            ensure_data(lite_dir, "corpus", "")
            copy_corpus(lite_dir, data_dir, store_uri)
        elif data == "corpus":
            build_corpus(data_dir, store_uri)
        else:
            build_synthetic(data_dir, int(data), store_uri)
        marker.touch()
    if data == "corpus":
        return CORPUS_GROUPS, CORPUS_TENANT, []
    import http_search

    return http_search.CALLER_GROUPS, http_search.TENANT, []


def questions_for(data: str, n: int) -> list[str]:
    if data == "corpus":
        return corpus_questions(n)
    import http_search

    return http_search.questions(n, seed=11)


def api_keys(
    data_dir: Path, groups: list[str], tenant: str, count: int, command: list[str] | None = None
) -> list[str]:
    """``count`` reader keys for the bench, one user each (``loadbench``, ``loadbench-2``, ...), made by
    ``command`` (the figvault of the server that will check them: an older tree must write its own
    registry schema, which the current code would migrate past). Each client of a level sends on its own
    key: the service limits each key (``service.rate_limit_per_key``) and each caller's share of the search
    places (``service.search_share_per_caller``), so clients on one key partly measure 429s."""
    return [
        api_key(data_dir, groups, tenant, "loadbench" if i == 0 else f"loadbench-{i + 1}", command)
        for i in range(count)
    ]


def api_key(
    data_dir: Path, groups: list[str], tenant: str, name: str = "loadbench", command: list[str] | None = None
) -> str:
    """One reader key, for user ``name`` (revoked first if a previous run made it)."""
    base = [
        *(command or [sys.executable, "-m", "figvault"]),
        "--config",
        "offline",
        "--data-dir",
        str(data_dir),
    ]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([*base, "users", "revoke", name], env=env, capture_output=True, check=False)
    add = [*base, "users", "add", name, "--role", "reader", "--groups", ",".join(groups), "--tenant", tenant]
    done = subprocess.run(add, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"cannot add the bench user {name} in {data_dir}: {done.stderr.strip()[-500:]}")
    return done.stdout.strip().splitlines()[-1]


# ---- servers ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


LAUNCHER = """
import importlib.machinery, importlib.util, runpy, sys
MAPPING = {mapping!r}
class Finder:
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name in MAPPING:
            return importlib.util.spec_from_file_location(
                name, MAPPING[name] + "/__init__.py", submodule_search_locations=[MAPPING[name]])
        return None
sys.meta_path.insert(0, Finder)
sys.path.insert(0, {root!r})
sys.argv[0] = "figvault"
runpy.run_module("figvault", run_name="__main__")
"""


def export_tree(ref: str, cache: Path) -> list[str]:
    """``ref``'s code in ``cache``, and the command that runs its ``figvault`` with this interpreter."""
    sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", ref], capture_output=True, text=True)
    sha.check_returncode()
    root = cache / f"tree-{sha.stdout.strip()[:12]}"
    if not root.exists():
        tmp = Path(tempfile.mkdtemp(dir=cache))
        archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive.stdout, check=True)
        tmp.rename(root)
    setup = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    mapping = {name: str(root / folder) for name, folder in setup["package-dir"].items()}
    for package in setup["packages"]:  # sub-packages not named in package-dir: under their parent's folder
        parent, _, leaf = package.rpartition(".")
        if package not in mapping and parent in mapping:
            mapping[package] = f"{mapping[parent]}/{leaf}"
    launcher = root / "_launch_figvault.py"
    launcher.write_text(LAUNCHER.format(mapping=mapping, root=str(root)))
    return [sys.executable, str(launcher)]


@dataclass
class Server:
    name: str
    command: list[str]
    data_dir: Path
    store_uri: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None
    port: int = 0
    first_search_ms: float = float("nan")
    ready_s: float = float("nan")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server process so far (Linux /proc)."""
        if self.proc is None:
            return 0.0
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def counts(self) -> dict[str, float]:
        """The question batching, question cache and audit writer counters of ``/metrics`` (none on code
        from before they existed)."""
        text = httpx.get(f"{self.base}/metrics", timeout=30).text
        found = {}
        for line in text.splitlines():
            name, _, value = line.partition(" ")
            if name.startswith(("figvault_question_", "figvault_audit_")) and name.endswith("_total"):
                found[name.removeprefix("figvault_").removesuffix("_total")] = float(value)
        return found

    def start(self, key: str, question: str) -> None:
        self.port = free_port()
        cmd = [*self.command, "--config", "offline", "--data-dir", str(self.data_dir), "serve"]
        cmd += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        started = time.monotonic()
        env = {**figvault_env(self.store_uri), **self.env}
        self.proc = subprocess.Popen(cmd, env=env, start_new_session=True)
        deadline = started + 600
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name}: server exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            self.stop()
            raise SystemExit(f"{self.name}: not ready within 600 s")
        self.ready_s = time.monotonic() - started
        t = time.perf_counter()
        response = httpx.post(
            f"{self.base}/v1/search",
            json={"query": question, "rerank": False},
            headers={"Authorization": f"Bearer {key}"},
            timeout=120,
        )
        self.first_search_ms = (time.perf_counter() - t) * 1000
        response.raise_for_status()

    def check_keys(self, keys: list[str]) -> None:
        """One request per key, so that no level pays a key's first verification (one scrypt each)."""
        for key in keys:
            httpx.get(
                f"{self.base}/v1/me", headers={"Authorization": f"Bearer {key}"}, timeout=60
            ).raise_for_status()

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)
        self.proc = None


class MilvusServer:
    """The 2.3.5 standalone of the dev extra, on loopback, data kept under ``base`` between runs."""

    def __init__(self, base: Path) -> None:
        import milvus

        base.mkdir(parents=True, exist_ok=True)
        self.server = milvus.MilvusServer(wait_for_started=False)
        self.server.set_base_dir(str(base))

    def __enter__(self) -> str:
        try:
            self.server.start()
            self.server.wait_started(timeout=120_000)
        except Exception:
            # Its embedded etcd listens on fixed ports (2379/2380): a second standalone on the machine fails.
            self.__exit__()
            raise
        return f"http://127.0.0.1:{self.server.listen_port}"

    def __exit__(self, *exc: object) -> None:
        proc = getattr(self.server, "server_proc", None)
        if proc is not None:  # it ignores SIGTERM for 30 s: stop it by its pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            with contextlib.suppress(Exception):
                proc.wait(timeout=30)


# ---- load ------------------------------------------------------------------------------------------------


@dataclass
class Level:
    server: str
    clients: int
    latencies: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    steps: dict[str, list[float]] = field(default_factory=dict)
    wall: float = 0.0
    load: str = ""
    cpu_s: float = 0.0
    """CPU time the server process used during the level (all its threads): less noisy than latency on a
    shared machine, and 2 cores / (CPU per search) bounds what an idle machine could serve."""
    counts: dict[str, float] = field(default_factory=dict)
    """Change of the server's question and audit counters over the level."""

    def counters_text(self) -> str:
        """Mean questions per forward pass, cache hits, audit rows per commit (when the server has them)."""
        c = self.counts
        parts = []
        if c.get("question_passes"):
            parts.append(f"batch {c['question_encoded'] / c['question_passes']:.2f}")
        if "question_cache_hits" in c:
            parts.append(f"cache hits {c['question_cache_hits']:.0f}")
        if c.get("audit_batches"):
            parts.append(f"audit rows/commit {len(self.latencies) / c['audit_batches']:.1f}")
        return ", ".join(parts)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall if self.wall else 0.0


async def run_level(
    server: Server, keys: list[str], questions: list[str], clients: int, per_client: int
) -> Level:
    """``clients`` clients, client ``i`` on ``keys[i % len(keys)]`` (one key: all on it)."""
    level = Level(server.name, clients)
    counts_before = server.counts()
    cpu_before = server.cpu_seconds()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    work = iter(questions)
    async with httpx.AsyncClient(base_url=server.base, timeout=60, limits=limits) as client:

        async def one_client(key: str) -> None:
            headers = {"Authorization": f"Bearer {key}"}
            for _ in range(per_client):
                question = next(work)
                t = time.perf_counter()
                try:
                    response = await client.post(
                        "/v1/search", json={"query": question, "rerank": False}, headers=headers
                    )
                except httpx.HTTPError as exc:
                    kind = type(exc).__name__
                    level.errors[kind] = level.errors.get(kind, 0) + 1
                    continue
                ms = (time.perf_counter() - t) * 1000
                if response.status_code != 200:
                    kind = refusal_kind(response)
                    level.errors[kind] = level.errors.get(kind, 0) + 1
                    continue
                level.latencies.append(ms)
                timings = response.json().get("timings", {})
                for step, value in timings.items():
                    level.steps.setdefault(step, []).append(value)
                if "total" in timings:
                    level.steps.setdefault("outside", []).append(ms - timings["total"])

        started = time.perf_counter()
        await asyncio.gather(*(one_client(keys[i % len(keys)]) for i in range(clients)))
        level.wall = time.perf_counter() - started
    level.load = load_avg()
    level.cpu_s = server.cpu_seconds() - cpu_before
    after = server.counts()
    level.counts = {name: after[name] - counts_before.get(name, 0.0) for name in after}
    return level


def refusal_kind(response: httpx.Response) -> str:
    """The status, and for a 429 its reason without the varying "; try again in N s" (the caller's share,
    its tenant's, the gate, a rate limit)."""
    if response.status_code != 429:
        return str(response.status_code)
    with contextlib.suppress(ValueError, AttributeError, KeyError, TypeError):
        return f"429 {response.json()['detail'].split(';')[0]}"
    return "429"


def print_table(title: str, levels: list[Level]) -> None:
    print(f"\n{title}")
    head = f"{'server':<10}{'clients':>8}{'n':>6}{'p50':>8}{'p95':>8}{'p99':>8}{'search/s':>10}{'errors':>8}"
    head += f"{'cpu ms/search':>15}"
    print(head + "   steps p50/p95 ms" + " " * 40 + "load 1/5 min")
    for lv in levels:
        errors = sum(lv.errors.values())
        steps = "  ".join(
            f"{s} {percentile(v, 50):.0f}/{percentile(v, 95):.0f}"
            for s in (*STEPS, "outside")
            if (v := lv.steps.get(s))
        )
        print(
            f"{lv.server:<10}{lv.clients:>8}{len(lv.latencies):>6}{percentile(lv.latencies, 50):>8.0f}"
            f"{percentile(lv.latencies, 95):>8.0f}{percentile(lv.latencies, 99):>8.0f}{lv.rate:>10.1f}"
            f"{errors:>8}{lv.cpu_s * 1000 / max(1, len(lv.latencies)):>15.1f}   {steps}   {lv.load}"
        )
        if lv.errors:
            print(f"{'':<18}errors by kind: {lv.errors}")
        if counters := lv.counters_text():
            print(f"{'':<18}{counters}")


def run_store(args: argparse.Namespace, store: str, store_uri: str, cache: Path) -> None:
    data_dir = cache / f"{args.data}-{store}"
    groups, tenant, _ = ensure_data(data_dir, args.data, store_uri)
    levels = [int(c) for c in args.levels.split(",")]
    count = max(levels) if args.keys_per_client else 1
    runs = 2 if args.compare else 1
    total = (args.warmup + sum(c * args.per_client for c in levels) * args.rounds) * runs
    questions = questions_for(args.data, total + 1)
    servers = [Server("this", [sys.executable, "-m", "figvault"], data_dir, store_uri)]
    keys = {"this": api_keys(data_dir, groups, tenant, count)}
    if args.compare:
        other_dir = data_dir
        command = export_tree(args.compare, cache)
        if not store_uri:  # Lite serves one process per folder: the other server reads a copy
            other_dir = cache / f"{args.data}-{store}-copy"
            if not other_dir.exists():
                shutil.copytree(data_dir, other_dir)
            keys[args.compare] = api_keys(other_dir, groups, tenant, count, command)
        else:
            keys[args.compare] = keys["this"]
        servers.append(Server(args.compare, command, other_dir, store_uri, dict(COMPARE_ENV)))
    results: list[Level] = []
    try:
        for server in servers:
            server.start(keys[server.name][0], questions[-1])
            server.check_keys(keys[server.name][1:])  # each key's first (scrypt) check, not in a level
            print(
                f"{server.name}: ready after {server.ready_s:.1f}s; first search after ready "
                f"{server.first_search_ms:.0f} ms ({load_avg()})",
                flush=True,
            )
        work = iter(questions)
        for server in servers:  # warm-up, not counted
            warm = [next(work) for _ in range(args.warmup // len(servers))]
            asyncio.run(run_level(server, keys[server.name], warm, 1, len(warm)))
        for r in range(args.rounds):
            for i, clients in enumerate(levels):
                order = servers if (i + r) % 2 == 0 else list(reversed(servers))
                for server in order:
                    chunk = [next(work) for _ in range(clients * args.per_client)]
                    level = asyncio.run(run_level(server, keys[server.name], chunk, clients, args.per_client))
                    results.append(level)
                    print(
                        f"  {server.name} c={clients}: p50 {percentile(level.latencies, 50):.0f} ms, "
                        f"{level.rate:.1f}/s, {sum(level.errors.values())} errors ({level.load})",
                        flush=True,
                    )
    finally:
        for server in servers:
            server.stop()
    what = "corpus + distractors" if args.data == "corpus" else f"{int(args.data):,} synthetic units"
    print_table(f"{what}, {store} ({store_uri or 'embedded'}), rerank off, {os.cpu_count()} CPUs", results)
    for server in servers:
        print(f"{server.name}: first search after ready {server.first_search_ms:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", default="corpus", help="corpus, or a number of synthetic units")
    parser.add_argument("--stores", default="lite", help="lite, server, or lite,server")
    parser.add_argument("--levels", default="1,4,8,16")
    parser.add_argument("--per-client", type=int, default=40, help="requests each client sends per level")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the levels")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--keys-per-client",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="each client on its own API key (default); --no-keys-per-client: all on one key, as before"
        " 2026-12-05 (from 8 clients on, the per-key rate limit and the caller's search share answer 429)",
    )
    parser.add_argument("--compare", default="", help="a git ref to run beside this tree, interleaved")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / f"{os.environ.get('USER', 'figvault')}-figvault-load",
    )
    parser.add_argument(
        "--env", action="append", default=[], metavar="FIGVAULT_X=V", help="a setting for every server"
    )
    parser.add_argument(
        "--compare-env", action="append", default=[], metavar="FIGVAULT_X=V", help="for --compare's only"
    )
    args = parser.parse_args()
    for items, into in ((args.env, SERVER_ENV), (args.compare_env, COMPARE_ENV)):
        for item in items:
            name, sep, value = item.partition("=")
            if not (sep and name.startswith("FIGVAULT_")):
                raise SystemExit(f"--env / --compare-env want FIGVAULT_NAME=VALUE, not {item!r}")
            into[name] = value
    os.environ["HF_HUB_OFFLINE"] = "1"
    cache = args.cache_dir
    cache.mkdir(parents=True, exist_ok=True)
    env = f"server env {SERVER_ENV or 'default'}, --compare's {COMPARE_ENV or 'the same'}"
    env += ", a key per client" if args.keys_per_client else ", every client on one key"
    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {load_avg()}, cache {cache}, {env}")
    for store in args.stores.split(","):
        if store == "lite":
            run_store(args, store, "", cache)
        elif store == "server":
            with MilvusServer(cache / f"milvus-{args.data}") as uri:
                run_store(args, store, uri, cache)
        else:
            raise SystemExit(f"unknown store {store!r}: lite or server")


if __name__ == "__main__":
    main()
