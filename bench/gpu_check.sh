#!/usr/bin/env bash
# The checks that need a CUDA device, in one run on a GPU machine: tests/gpu (encoders, reranker, rerank
# stage, Ray encoder actor on cuda against the CPU) and bench/gpu_encode.py (units/s, cpu vs cuda).
#
#   bash bench/gpu_check.sh [WHEEL_DIR]      # logs to $OUT (or ./gpu-check-out)
#
# Needs python3 with torch (CUDA build), transformers, sentence-transformers, accelerate, pillow, numpy,
# pytest. What such a machine lacks of figvault's needs (pydantic, pydantic-settings, open_clip, sqlalchemy,
# bitsandbytes, ...) comes as wheels in WHEEL_DIR (bench/gpu_carry.sh makes them), installed into a private
# folder, not the system.
# figvault is used from this checkout without installing it: the packages are laid out as pyproject.toml's
# package-dir maps them, in a temporary copy. On a machine without CUDA the tests skip and the bench runs
# on the CPU only (a rehearsal of the script). docs/encoders.md ("On a GPU") says what the tests check.
set -u -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WHEELS=${1:-$ROOT/.whl}
PY=${PYTHON:-python3}
LOGS=${OUT:-$PWD/gpu-check-out}
WORK=$(mktemp -d /tmp/figvault-gpu-check.XXXXXX)
mkdir -p "$LOGS" "$WORK/src" "$WORK/site"

tar -C "$ROOT" --exclude=./.git --exclude=./.venv --exclude=./.whl --exclude=./.devcarry -cf - . \
  | tar -C "$WORK/src" -xf -
for part in ingest encoders retrieval pipeline service configs; do
  rm -rf "$WORK/src/figvault/$part"
  cp -r "$ROOT/$part" "$WORK/src/figvault/$part"
done
if compgen -G "$WHEELS/*.whl" >/dev/null; then
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target "$WORK/site" "$WHEELS"/*.whl \
    2>&1 | tee "$LOGS/pip.log" || exit 1
fi
export PYTHONPATH="$WORK/src:$WORK/site${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false
cd "$WORK/src" || exit 1

{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  "$PY" - <<'PY'
import importlib, sys
import torch
print("python", sys.version.split()[0], "| torch", torch.__version__, "cuda", torch.version.cuda,
      "available", torch.cuda.is_available(), "| bf16", torch.cuda.is_available() and torch.cuda.is_bf16_supported())
for name in ("transformers", "sentence_transformers", "open_clip", "accelerate", "bitsandbytes", "pydantic"):
    try:
        print(name, importlib.import_module(name).__version__)
    except Exception as exc:
        print(name, "missing:", type(exc).__name__, exc)
import figvault.encoders.device as d
print("figvault from", d.__file__)
PY
} 2>&1 | tee "$LOGS/env.txt"

# The registry fixtures need fastapi and a PostgreSQL (tests/helpers): not there, and not used here.
timeout "${TEST_TIMEOUT:-300}" "$PY" -m pytest -q -s -rA -p no:cacheprovider -p no:tests.fixtures_registry -o faulthandler_timeout=120 tests/gpu \
  2>&1 | tee "$LOGS/tests.log"
tests=$?
timeout "${BENCH_TIMEOUT:-200}" "$PY" bench/gpu_encode.py --json "$LOGS/encode.json" ${BENCH_ARGS:-} 2>&1 | tee "$LOGS/encode.log"
bench=$?
echo "tests rc $tests, bench rc $bench" | tee -a "$LOGS/env.txt"
rm -rf "$WORK"
exit $((tests || bench))
