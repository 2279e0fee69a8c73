#!/usr/bin/env bash
# Create (or complete) the project's virtual environment: torch, timm and the OpenMMLab stack in one place.
# Usage: tools/setup_env.sh VENV_DIR
# The mmcv wheel is built once and cached under ~/.cache/hrnet (tools/build_mmcv.sh); later runs take seconds.
set -euo pipefail
venv=$(realpath -m "${1:?usage: setup_env.sh VENV_DIR}")
root=$(cd "$(dirname "$0")/.." && pwd)
constraints="$root/requirements/openmmlab.txt"
python=${PYTHON:-python3}

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check -c "$constraints")
"${pip[@]}" "setuptools<81" wheel ninja "numpy<2" torch torchvision
mmcv_dir=$("$root/tools/build_mmcv.sh" "$venv/bin/python" | tail -n 1)
"${pip[@]}" "$mmcv_dir"/mmcv-*.whl mmengine opencv-python-headless
"${pip[@]}" mmdet mmsegmentation ftfy regex
"${pip[@]}" --no-deps mmpose
"${pip[@]}" json_tricks munkres xtcocotools scipy matplotlib
# mmseg's CityscapesMetric converts train ids to the test server's label ids with cityscapesscripts, whose own
# requirements pin an old `typing` backport: its two imports are installed without them.
"${pip[@]}" --no-deps cityscapesscripts pyquaternion
"${pip[@]}" -e "$root[dev]"
