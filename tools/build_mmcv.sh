#!/usr/bin/env bash
# Build mmcv (with its compiled CPU ops) once and cache the wheel outside the clone, keyed by the mmcv, torch
# and Python versions. mmcv 2.1.0 has no wheels for current torch; its setup.py imports pkg_resources
# (setuptools < 81, no build isolation) and hard-codes -std=c++17 while torch >= 2.10 headers need C++20,
# so the flag is raised here, in the build step, and nowhere else.
# Usage: tools/build_mmcv.sh PYTHON   (a Python whose environment already has torch, setuptools<81, wheel, ninja)
set -euo pipefail
python=$(realpath -s "${1:?usage: build_mmcv.sh PYTHON}")  # absolute: the build runs in the sdist folder
mmcv_version=${MMCV_VERSION:-2.1.0}
torch_version=$("$python" -c "import torch; print(torch.__version__.split('+')[0])")
py_version=$("$python" -c "import sys; print(f'{sys.version_info[0]}{sys.version_info[1]}')")
cache=${HRNET_CACHE:-$HOME/.cache/hrnet}/wheels/mmcv-${mmcv_version}-torch${torch_version}-py${py_version}
if compgen -G "$cache/mmcv-*.whl" > /dev/null; then
  echo "$cache"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --no-deps --no-binary :all: --no-build-isolation "mmcv==${mmcv_version}" -d "$work" >&2
tar -xzf "$work"/mmcv-*.tar.gz -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name "mmcv-*" | head -n 1)
sed -i 's/-std=c++17/-std=c++20/g' "$src/setup.py"
mkdir -p "$cache.partial"
(cd "$src" && MMCV_WITH_OPS=1 MAX_JOBS=${MAX_JOBS:-2} "$python" -m pip wheel --no-build-isolation --no-deps . -w "$cache.partial" >&2)
rm -rf "$cache" && mv "$cache.partial" "$cache"
echo "$cache"
