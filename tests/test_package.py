"""The package as built: the wheel carries the paper's configs (one copy in the source tree, put into the package by
the build), the sdist carries what a wheel is built and tested from, and an installed wheel finds its configs from
any folder, through ``hrnet.resources`` and through mmengine's ``hrnet::`` scope. The same wheel installed into
fresh environments of the oldest and newest torch is checked by ``tools/check_installed.sh`` (make installed-check).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_CONFIGS = ROOT / "configs"
if not SOURCE_CONFIGS.is_dir():
    pytest.skip("builds the package from its source tree, which is not here", allow_module_level=True)
pytest.importorskip("build", reason="needs the build package: pip install -e '.[dev]'")


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> dict[str, Path]:
    """The sdist and the wheel built from it (what ``python -m build`` does), once for the module."""
    out = tmp_path_factory.mktemp("dist")
    build = [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)]
    done = subprocess.run(build, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return {"sdist": next(out.glob("hrnet-*.tar.gz")), "wheel": next(out.glob("hrnet-*.whl"))}


def source_config_files() -> dict[str, bytes]:
    return {p.relative_to(SOURCE_CONFIGS).as_posix(): p.read_bytes() for p in SOURCE_CONFIGS.rglob("*.py")}


def test_the_wheel_carries_every_config_and_nothing_of_the_repository(dist) -> None:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        prefix = "hrnet/.mim/configs/"
        shipped = {n[len(prefix) :]: wheel.read(n) for n in names if n.startswith(prefix) and not n.endswith("/")}
        assert shipped == source_config_files()  # every row, ablation/, test-set/, _base_/: byte for byte
        assert len(shipped) > 80
        assert "hrnet/.mim/model-index.yml" in names and "hrnet/py.typed" in names
        assert not [n for n in names if n.split("/")[0] in ("tests", "benchmarks", "tools", "configs")]
        metadata = wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert f"Version: {project['version']}\n" in metadata
    assert f"Requires-Python: {project['requires-python']}\n" in metadata
    assert "License-Expression: MIT\n" in metadata


def test_the_sdist_holds_what_the_wheel_and_the_tests_are_made_from(dist) -> None:
    with tarfile.open(dist["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    configs = {f"configs/{name}" for name in source_config_files()}
    assert configs <= names
    tests = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").glob("*.py")}
    assert tests <= names and {"tests/conftest.py", "tests/helpers.py"} <= names
    assert {"setup.py", "MANIFEST.in", "CHANGELOG.md", "README.md", "LICENSE", "Makefile"} <= names
    assert {"requirements/core-oldest.txt", "requirements/core-newest.txt", "tools/check_installed.sh"} <= names
    assert not [n for n in names if "__pycache__" in n or n.startswith("hrnet/.mim")]


def run_installed(target: Path, cwd: Path, code: str) -> subprocess.CompletedProcess:
    """``code`` in a fresh interpreter that imports hrnet from ``target`` (a wheel installed there), in ``cwd``."""
    env = dict(os.environ, PYTHONPATH=str(target))
    env.pop("HRNET_CONFIGS", None)
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def installed(dist, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target), str(dist["wheel"])]
    subprocess.run(pip, check=True)
    return target


def test_an_installed_wheel_finds_its_configs_from_any_folder(installed, tmp_path) -> None:
    done = run_installed(
        installed,
        tmp_path,
        "import hrnet, hrnet.resources as r; print(hrnet.__file__); print(r.configs_dir()); print(hrnet.__version__)",
    )
    assert done.returncode == 0, done.stderr
    module, configs, version = done.stdout.split()
    assert Path(module).is_relative_to(installed)
    assert Path(configs) == installed / "hrnet" / ".mim" / "configs"
    assert version == tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


MY_CONFIG = """_base_ = 'hrnet::pose/mmpose_hrnetv1-w32_210e_coco-256x192.py'
train_dataloader = dict(batch_size=8)
"""


def test_a_config_of_ones_own_inherits_ours_by_scope(installed, tmp_path) -> None:
    """``_base_ = 'hrnet::pose/...'`` through mmengine's Config.fromfile, resolved to the installed wheel's file
    (which itself inherits mmpose's), once ``hrnet.mm`` is imported; without it mmengine refuses the scope."""
    pytest.importorskip("mmpose", reason="needs the OpenMMLab stack: make env")
    (tmp_path / "mine.py").write_text(MY_CONFIG)
    load = "from mmengine.config import Config; cfg = Config.fromfile('mine.py'); "
    shown = "print(cfg.model.backbone.type, cfg.train_dataloader.batch_size, cfg.optim_wrapper.optimizer.lr)"
    done = run_installed(installed, tmp_path, "import hrnet.mm; " + load + shown)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["hrnet.HRNet", "8", "0.001"]  # our backbone and lr, the user's batch
    refused = run_installed(installed, tmp_path, load + shown)
    assert refused.returncode != 0 and "does not support to load hrnet config" in refused.stderr


def requirement_pins(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def test_the_declared_floors_are_the_tested_ones() -> None:
    """pyproject.toml admits torch and timm from exactly the versions the oldest tested environment pins."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["timm"]]
    floors = {req.split(">=")[0].strip().lower(): req.split(">=")[1].strip() for req in declared if ">=" in req}
    oldest = requirement_pins(ROOT / "requirements" / "core-oldest.txt")
    assert floors == {"torch": oldest["torch"], "timm": oldest["timm"]}
    newest = requirement_pins(ROOT / "requirements" / "core-newest.txt")
    assert tuple(map(int, newest["torch"].split("."))) > tuple(map(int, oldest["torch"].split(".")))
