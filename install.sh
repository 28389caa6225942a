#!/usr/bin/env bash
# Installs figvault and everything its tests need into ./.venv.
# System packages (LibreOffice for rendering slide regions, Chromium for the page's browser tests, PostgreSQL for
# the registry tests against a real server: started by the tests, never as a service; Tesseract for the words
# inside pictures) come from
# Debian via apt-get when this runs as root or with sudo; without them figvault still works and says so.
set -euo pipefail
cd "$(dirname "$0")"

PY=${PYTHON:-python3}
APT_PACKAGES=(libreoffice-impress fonts-dejavu-core fonts-liberation chromium postgresql tesseract-ocr tesseract-ocr-eng)

if [[ "${FIGVAULT_SKIP_APT:-0}" != "1" ]] && command -v apt-get >/dev/null; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO=$(command -v sudo || true); fi
  if [[ $(id -u) -eq 0 || -n "$SUDO" ]]; then
    missing=()
    for p in "${APT_PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if ((${#missing[@]})); then
      echo "install.sh: apt-get install ${missing[*]}"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
        || echo "install.sh: warning: apt-get failed; slide-region rendering and browser tests will be skipped" >&2
    fi
  else
    echo "install.sh: not root and no sudo: skipping ${APT_PACKAGES[*]} (optional)" >&2
  fi
fi

[[ -x .venv/bin/python ]] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[dev,ray]'  # ray: the Ray engine's tests (--engine ray)
echo "install.sh: figvault installed in .venv ($(.venv/bin/figvault --version 2>/dev/null || echo ok))"
