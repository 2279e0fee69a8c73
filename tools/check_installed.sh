#!/usr/bin/env bash
# The package as a user installs it: build the sdist and, from it, the wheel; install the wheel into an environment
# with no source tree (one per requirements/core-*.txt: the oldest and the newest torch / timm admitted); then, from
# a folder outside any clone, run the quick start, `hrnet --version`, `hrnet tables`, `hrnet reproduce --list`, a
# dry run of one row and the test suite of the sdist against the installed package. A skip other than for the
# OpenMMLab stack (which these environments leave out: requirements/openmmlab.txt pins it for make env) or a
# GPU fails the check.
# Usage: tools/check_installed.sh [requirements/core-*.txt ...]    (default: every requirements/core-*.txt)
# Environments are cached under ${HRNET_CACHE:-~/.cache/hrnet}/venvs, keyed by the requirements file's content and
# the Python version; each run reinstalls hrnet from the new wheel.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3}
cache=${HRNET_CACHE:-$HOME/.cache/hrnet}
builder=${BUILD_PYTHON:-$root/.venv/bin/python}  # a Python with the `build` package (make env installs it)
[ "$#" -gt 0 ] || set -- "$root"/requirements/core-*.txt
# the tests that build the package need its source tree, which the installed check leaves out on purpose
ALLOWED_SKIPS=(--allow "needs the OpenMMLab stack" --allow "CUDA" --allow "builds the package from its source tree")
export PIP_CONSTRAINT=/dev/null  # the versions are the requirements file's, whatever pip's machine-wide constraints say
export PIP_DISABLE_PIP_VERSION_CHECK=1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "== building the sdist, then the wheel from it"
"$builder" -m build --outdir "$work/dist" "$root" > "$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
sdist=$(ls "$work"/dist/hrnet-*.tar.gz)
wheel=$(ls "$work"/dist/hrnet-*.whl)
echo "built $(basename "$sdist") and $(basename "$wheel")"
mkdir -p "$work/sdist" "$work/outside"
tar -xzf "$sdist" -C "$work/sdist" --strip-components=1
rm -rf "$work/sdist/hrnet" "$work/sdist/configs"  # the tests must import the installed package, not these

environment() {  # requirements file → a cached virtual environment with exactly those pins (prints its path)
  local reqs=$1 key venv
  key=$(basename "$reqs" .txt)-$(sha256sum "$reqs" | cut -c1-12)-py$("$python" -c 'import sys; print("%d%d" % sys.version_info[:2])')
  venv=$cache/venvs/$key
  if [ ! -f "$venv/.complete" ]; then  # built where it lives (scripts name their interpreter by path), then marked
    rm -rf "$venv"
    mkdir -p "$cache/venvs"
    "$python" -m venv "$venv" >&2
    # a failed install is the check's failure, with pip's reason: nothing is skipped for a missing version
    "$venv/bin/python" -m pip install --quiet -r "$reqs" >&2
    touch "$venv/.complete"
  fi
  echo "$venv"
}

commands_outside_the_clone() {  # VENV: what a user runs after installing the wheel; every command must succeed
  local venv=$1 py=$1/bin/python version
  cd "$work/outside" || return 1
  echo "+ import hrnet (from the environment, not a source tree)"
  "$py" -c "import hrnet, sys; assert hrnet.__file__.startswith(sys.prefix), hrnet.__file__" || return 1
  version=$("$venv/bin/hrnet" --version) || return 1
  echo "+ hrnet --version: $version"
  echo "+ the README's quick start"
  "$python" "$root/tools/readme_quickstart.py" "$root/README.md" > quickstart.py || return 1
  "$py" quickstart.py || return 1
  echo "+ hrnet tables"
  "$venv/bin/hrnet" tables > tables.txt || { cat tables.txt; return 1; }
  echo "+ hrnet reproduce --list"
  "$venv/bin/hrnet" reproduce --list > rows.txt || { cat rows.txt; return 1; }
  echo "+ hrnet reproduce 1 --dry-run"
  "$venv/bin/hrnet" reproduce 1 --work-dir "$work/runs" --dry-run > dry-run.txt || { cat dry-run.txt; return 1; }
  grep -q "$venv/lib/python[0-9.]*/site-packages/hrnet/.mim/configs/pose/" dry-run.txt ||
    { echo "the dry run does not name the installed package's configs:"; cat dry-run.txt; return 1; }
  echo "tables: $(wc -l < tables.txt) lines; rows listed: $(($(wc -l < rows.txt) - 1)); dry run: $(wc -l < dry-run.txt) lines"
}

status=0
for reqs in "$@"; do
  name=$(basename "$reqs" .txt)
  echo "== $name: $(grep -E '^(torch|timm|numpy)==' "$reqs" | tr '\n' ' ')"
  venv=$(environment "$reqs")
  py=$venv/bin/python
  "$py" -m pip install --quiet --force-reinstall --no-deps "$wheel"
  "$py" -m pip install --quiet "$wheel[timm,export,openvino]" -c "$reqs"  # the wheel's own requirements hold
  "$py" -m pip check
  commands_outside_the_clone "$venv" || { echo "$name: the installed package failed the command above"; status=1; }
  (cd "$work/sdist" && "$py" -m pytest -q -p no:cacheprovider --junitxml="$work/$name.xml" tests > "$work/$name.log" 2>&1) ||
    true
  tail -n 15 "$work/$name.log"
  echo "$name: $("$py" -c 'import torch, timm; print(f"torch {torch.__version__}, timm {timm.__version__}")')"
  "$py" "$root/tools/audit_skips.py" "$work/$name.xml" "${ALLOWED_SKIPS[@]}" || status=1
done
exit $status
