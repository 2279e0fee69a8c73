"""Where the package finds the paper's configs: one answer for ``hrnet reproduce``, ``hrnet tables`` and mmengine.

A wheel carries them as ``hrnet/.mim/configs`` (OpenMMLab's place for a package's configs, from which mmengine
resolves ``hrnet::<task>/<file>.py``); a source tree (an editable install, or ``hrnet`` on ``PYTHONPATH``) has them
at the top level as ``configs/``. ``$HRNET_CONFIGS`` names a folder of the user's own, holding ``pose/``, ``seg/``
and ``det/``, and takes precedence over both.
"""

from __future__ import annotations

import os
from pathlib import Path

CONFIGS_ENV = "HRNET_CONFIGS"
PACKAGE_DIR = Path(__file__).resolve().parent
MIM_DIR = PACKAGE_DIR / ".mim"  # in a wheel: configs/ and model-index.yml (setup.py)
SOURCE_CONFIGS = PACKAGE_DIR.parent / "configs"  # the top-level folder of a source tree


def configs_dir() -> Path:
    """The folder of the paper's configs: ``$HRNET_CONFIGS``, else the installed package's, else the source
    tree's. Raises ``FileNotFoundError`` naming every place looked at."""
    chosen = os.environ.get(CONFIGS_ENV)
    if chosen:
        if not Path(chosen).is_dir():
            raise FileNotFoundError(f"{CONFIGS_ENV}={chosen} is not a folder (expected one holding pose/, seg/, det/)")
        return Path(chosen)
    for folder in (MIM_DIR / "configs", SOURCE_CONFIGS):
        if (folder / "pose").is_dir():
            return folder
    raise FileNotFoundError(
        f"no paper configs at {MIM_DIR / 'configs'} (an installed wheel) nor at {SOURCE_CONFIGS} (a source tree): "
        f"reinstall hrnet, or point {CONFIGS_ENV} at a folder holding pose/, seg/ and det/ configs"
    )
