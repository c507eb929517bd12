#!/usr/bin/env bash
# Regenerate requirements.lock: every package installed in ./.venv (direct pins from
# requirements.txt and their transitive dependencies) at its exact installed version, each with
# sha256 hashes, for `pip install --require-hashes -r requirements.lock` (scripts/setup.sh).
#
# Hashes per package = the union of
#   (a) pip-compile --generate-hashes: every file of that version on the configured indexes
#       (PyPI's JSON API for PyPI packages: wheels for other platforms/Pythons and the sdist), and
#   (b) the exact file pip picks on THIS machine (`pip install --dry-run --report`), which may come
#       from a local find-links folder or file index (torch's 2.13.0+cpu wheel is not on PyPI).
# llama-cpp-python is locked by its sdist's hash; pip (>= 23.1) reuses its cached built wheel in
# hash-checking mode because the cache records the sdist's hash (origin.json).
#
# Needs the network (package indexes only). Run after changing requirements.txt and installing it.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q "pip==23.2.1" "pip-tools==7.4.1"
.venv/bin/python -m pip freeze --exclude-editable | grep -v '^-e ' | sed 's/^torch==\(.*\)+cpu$/torch==\1/' \
  > "$work/requirements.in"
export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF}"
"$work/tools/bin/pip-compile" -q --generate-hashes --allow-unsafe --no-strip-extras --no-emit-index-url \
  --no-emit-find-links --no-header --annotate -o "$work/compiled.txt" "$work/requirements.in"
"$work/tools/bin/pip" install -q --dry-run --ignore-installed --no-deps --report "$work/report.json" \
  -r "$work/requirements.in"
"$work/tools/bin/python" scripts/lock_merge.py "$work/compiled.txt" "$work/report.json" > requirements.lock.tmp
mv requirements.lock.tmp requirements.lock
echo "wrote requirements.lock ($(grep -c '^[A-Za-z0-9]' requirements.lock) packages)"
