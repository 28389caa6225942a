#!/usr/bin/env bash
# Prepare what bench/gpu_check.sh needs on a GPU machine that can fetch nothing: run it here (network to
# PyPI), carry DEST to the machine, and there run `cd DEST/tree && bash bench/gpu_check.sh ../whl`.
#
#   bash bench/gpu_carry.sh [DEST]     # DEST defaults to .devcarry in this checkout (ignore it in git)
#
# DEST/whl: wheels for CPython 3.12 on x86-64 Linux of what such a machine lacks (pydantic and its parts,
# pydantic-settings, open_clip, sqlalchemy, bitsandbytes), at the versions this checkout's .venv runs, so
# the device runs what the tests here run. bitsandbytes is cut to its CUDA $BNB_CUDA library (the whole
# wheel is 43 MB of libraries for every CUDA release; a carry is limited to 64 MiB).
# DEST/tree: this checkout's tracked and untracked-not-ignored files.
set -eu -o pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST=$(mkdir -p "${1:-$ROOT/.devcarry}" && cd "${1:-$ROOT/.devcarry}" && pwd)
PY=${PYTHON:-$ROOT/.venv/bin/python}
BNB_VERSION=${BNB_VERSION:-0.50.2}
BNB_CUDA=${BNB_CUDA:-130}
rm -rf "$DEST/whl" "$DEST/tree"
mkdir -p "$DEST/whl" "$DEST/tree"

pins=$("$PY" - <<'PY'
from importlib.metadata import version
names = ["pydantic", "pydantic-core", "pydantic-settings", "annotated-types", "typing-inspection",
         "typing-extensions", "python-dotenv", "open-clip-torch", "ftfy", "wcwidth", "sqlalchemy"]
print(" ".join(f"{name}=={version(name)}" for name in names))
PY
)
platforms=""
for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 manylinux_2_17_x86_64 \
  manylinux2014_x86_64; do platforms="$platforms --platform $tag"; done
# shellcheck disable=SC2086  # word splitting of the pins and platforms is meant
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $platforms -d "$DEST/whl" $pins "bitsandbytes==$BNB_VERSION"

bnb=$(ls "$DEST"/whl/bitsandbytes-*.whl)
unpacked=$(mktemp -d)
(
  cd "$unpacked"
  unzip -q "$bnb"
  find bitsandbytes -name 'libbitsandbytes_*.so' ! -name "libbitsandbytes_cuda$BNB_CUDA.so" \
    ! -name libbitsandbytes_cpu.so -delete
  record=$(ls -d bitsandbytes-*.dist-info)/RECORD
  { grep -v "libbitsandbytes_" "$record"; grep -E "libbitsandbytes_(cpu|cuda$BNB_CUDA)\.so" "$record"; } >kept
  mv kept "$record"
  rm "$bnb"
  zip -q -r "$bnb" .
)
rm -rf "$unpacked"

git -C "$ROOT" ls-files -co --exclude-standard -z | tar -C "$ROOT" --null -T - -cf - | tar -C "$DEST/tree" -xf -
du -sh "$DEST/whl" "$DEST/tree"
