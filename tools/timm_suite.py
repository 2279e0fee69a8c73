"""Run timm's own model test suite (tests/test_models.py of the installed timm version) on the hrnet* names.

Why: ``import hrnet`` replaces timm's HRNet registry entries, so timm's own per-model tests (forward, backward,
default cfgs, features, forward_intermediates, pruning, FX, TorchScript, pretrained loading) are the contract our
registration has to keep. The tests ship only in timm's source distribution, not in the wheel.

    python tools/timm_suite.py [--without-hrnet] [PYTEST ARGS...]   (make timm-suite TIMM_SUITE_ARGS=...)

* The sdist (``pip download --no-binary :all: --no-deps timm==<installed version>``) is unpacked once into
  ``$HRNET_CACHE/timm-src/<version>/`` (default ``~/.cache/hrnet``): built in a temp dir and renamed into place,
  so an interrupted download leaves no half cache. timm's files are never edited.
* This script is also the pytest plugin (``pytest.main(..., plugins=[this module])``). Before timm's test
  module is collected it imports ``hrnet`` (not with ``--without-hrnet``: timm's own HRNet, the baseline) and
  wraps ``timm.list_models``, which test_models.py imports and calls in its ``parametrize`` decorators, so that
  no hrnet* name is left out of a test by timm's exclude filters (``EXCLUDE_JIT_FILTERS`` holds ``'hrnet*'``:
  timm skips HRNet in its TorchScript tests). Then only the tests of
  hrnet* models are kept (the rest is reported as deselected), so extra ``-k`` / ``-m`` / ``-x`` compose.
* The tests that download weights skip when the Hugging Face Hub cannot be reached.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from importlib.metadata import version as installed_version
from pathlib import Path

import pytest

DOWNLOADING_TESTS = ("test_model_inference", "test_model_load_pretrained", "test_model_features_pretrained")
HRNET: set = set()  # the hrnet* names, filled in pytest_configure
HUB: dict = {}  # "up": whether huggingface.co answers, probed once


def timm_source(version: str) -> Path:
    """timm's unpacked sdist for ``version`` in the cache, downloaded and unpacked the first time."""
    root = Path(os.environ.get("HRNET_CACHE") or Path.home() / ".cache" / "hrnet") / "timm-src"
    target = root / version
    if (target / "tests" / "test_models.py").is_file():
        return target
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{version}-") as work:
        pip = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
        subprocess.run([*pip, "--no-binary", ":all:", "--no-deps", f"timm=={version}", "-d", work], check=True)
        with tarfile.open(next(Path(work).glob("timm-*.tar.gz"))) as sdist:
            sdist.extractall(work, filter="data")
        shutil.rmtree(target, ignore_errors=True)  # an incomplete tree from elsewhere (no test_models.py)
        os.replace(Path(work) / f"timm-{version}", target)
    return target


# --------------------------------------------------------------------------------------------- the plugin
def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--without-hrnet", action="store_true", help="test timm's own HRNet (do not import hrnet)")


def pytest_configure(config: pytest.Config) -> None:
    import timm

    if not config.getoption("without_hrnet"):
        import hrnet  # noqa: F401  (registers our models under timm's names)
    HRNET.update(timm.list_models("hrnet*"))
    config.addinivalue_line("markers", "timeout(seconds): pytest-timeout's marker (timm's limits, unenforced here)")
    list_models = timm.list_models

    def list_models_with_hrnet(
        filter="", module="", pretrained=False, exclude_filters="", name_matches_cfg=False, include_tags=None
    ):
        """timm's list plus the hrnet* names it lists without ``exclude_filters`` (and without ``module`` where
        the modules include timm's ``'hrnet'``), in timm's order."""
        found = list_models(filter, module, pretrained, exclude_filters, name_matches_cfg, include_tags)
        if module and "hrnet" not in ([module] if isinstance(module, str) else list(module)):
            return found
        unfiltered = list_models(filter, "", pretrained, "", name_matches_cfg, include_tags)
        return [name for name in unfiltered if name in set(found) or name.split(".")[0] in HRNET]

    timm.list_models = list_models_with_hrnet


def pytest_report_header(config: pytest.Config) -> list:
    import timm

    who = "timm's own (hrnet not imported)" if config.getoption("without_hrnet") else "hrnet's registration"
    lines = [f"timm {timm.__version__} model tests on the {len(HRNET)} hrnet* names, {who}"]
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list) -> None:
    """Keep the tests parametrized by an hrnet* model name (with or without a pretrained tag)."""
    keep, drop = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {}).values()
        ours = any(isinstance(v, str) and fnmatch.fnmatch(v.split(".")[0], "hrnet*") for v in params)
        (keep if ours else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _hub_reachable() -> bool:
    try:
        socket.create_connection(("huggingface.co", 443), timeout=5).close()
        return True
    except OSError:
        return False


def pytest_runtest_setup(item: pytest.Item) -> None:
    if getattr(item, "originalname", "") not in DOWNLOADING_TESTS:
        return
    if "up" not in HUB:
        HUB["up"] = _hub_reachable()
    if not HUB["up"]:
        pytest.skip("needs pretrained weights from the Hugging Face Hub, which is unreachable")


# --------------------------------------------------------------------------------------------- the runner
def main(argv: list) -> int:
    os.environ.setdefault("COLUMNS", "200")  # room for the reason after each (long) test id in the -ra summary
    source = timm_source(installed_version("timm"))  # = timm.__version__ of this interpreter's timm
    args = [
        str(source / "tests" / "test_models.py"),
        f"--rootdir={source}",  # timm's pytest config (its markers), not ours
        "--import-mode=importlib",  # no sys.path change: `import timm` stays the installed timm, not the sdist's
        "-o", f"cache_dir={source.parent / ('.pytest_cache-' + source.name)}",  # --lf works, the tree stays as is
        "-ra",
        *argv,
    ]  # fmt: skip
    return pytest.main(args, plugins=[sys.modules[__name__]])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
