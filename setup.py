"""The build step that puts the paper's configs into the package.

``configs/`` stays one folder at the top of the source tree; the wheel carries it as ``hrnet/.mim/configs``, the
place where OpenMMLab packages keep theirs and where mmengine resolves ``scope::path`` configs (``hrnet::pose/...``
after ``import hrnet.mm``). ``model-index.yml`` lists no models: mmengine reads it first, then falls back to the
``.mim/configs`` path. Everything else about the build is in ``pyproject.toml``.
"""

from __future__ import annotations

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

MIM_FOLDER = os.path.join("hrnet", ".mim")
MODEL_INDEX = "Import: []  # no model metafiles: mmengine resolves hrnet::<path> to .mim/configs/<path>\n"


class BuildWithConfigs(build_py):
    """``build_py`` plus a copy of ``configs/`` (``*.py`` files only) and an empty model index under ``.mim``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads configs/ in the source tree (hrnet.resources)
            return
        source = os.path.join(os.path.dirname(os.path.abspath(__file__)), "configs")
        if not os.path.isdir(source):
            raise RuntimeError(f"no configs folder at {source}: the wheel must carry the paper's configs")
        target = os.path.join(self.build_lib, MIM_FOLDER)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(source, os.path.join(target, "configs"), ignore=keep_only_configs)
        with open(os.path.join(target, "model-index.yml"), "w", encoding="utf-8") as index:
            index.write(MODEL_INDEX)


def keep_only_configs(folder: str, names: list[str]) -> list[str]:
    """``shutil.copytree``'s ignore: everything but sub-folders and ``.py`` files (no caches)."""
    return [n for n in names if n == "__pycache__" or not (n.endswith(".py") or os.path.isdir(os.path.join(folder, n)))]


setup(cmdclass={"build_py": BuildWithConfigs})
