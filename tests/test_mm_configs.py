"""Every config of ours, as mmengine reads it: its backbone names the framework whose HRNet defaults it takes (the
framework that runs it), and its Runner reads its own checkpoints through ``hrnet.SafeLoadHook``, the framework's
own hooks kept."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import NEEDS_OPENMMLAB

pytest.importorskip("mmdet", reason=NEEDS_OPENMMLAB)
pytest.importorskip("mmpose", reason=NEEDS_OPENMMLAB)
pytest.importorskip("mmseg", reason=NEEDS_OPENMMLAB)

from mmengine.config import Config  # noqa: E402

import hrnet  # noqa: E402
import hrnet.mm  # noqa: E402, F401  (the hrnet scope)
from hrnet.mm.backbone import FRAMEWORK_DEFAULTS  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
ROWS = sorted(path for path in CONFIGS.rglob("*.py") if "_base_" not in path.parts)  # fragments are no configs
FRAMEWORK_HOOKS = dict(pose=["SyncBuffersHook"], seg=[], det=[])  # what the frameworks' base configs bring


def test_every_framework_has_configs() -> None:
    assert {path.relative_to(CONFIGS).parts[0] for path in ROWS} == set(FRAMEWORK_HOOKS)
    assert len(ROWS) > 80


@pytest.mark.parametrize("path", ROWS, ids=[str(p.relative_to(CONFIGS))[:-3] for p in ROWS])
def test_config_names_its_framework_and_loads_checkpoints_safely(path: Path) -> None:
    cfg = Config.fromfile(str(path))
    backbone = cfg.model.backbone
    assert backbone.type == "hrnet.HRNet"
    assert backbone.framework == cfg.default_scope and backbone.framework in FRAMEWORK_DEFAULTS
    hooks = [hook["type"] for hook in cfg.custom_hooks]
    assert hooks == [*FRAMEWORK_HOOKS[path.relative_to(CONFIGS).parts[0]], "hrnet.SafeLoadHook"]


def test_each_name_of_the_hrnet_scope_means_one_class() -> None:
    """One registry per ecosystem: the OpenMMLab names live in mmengine's registry tree under the ``hrnet`` scope
    (the core keeps no name table of its own, timm's names live in timm's registry), and no name there is bound to
    two different classes, whichever of our registries holds it."""
    from hrnet.mm import registry

    bound: dict = {}
    for kind in (registry.MODELS, registry.DATASETS, registry.MODEL_WRAPPERS, registry.HOOKS):
        assert kind.scope == "hrnet"
        for name, cls in kind.module_dict.items():
            assert bound.setdefault(name, cls) is cls, f"hrnet.{name} means {bound[name]} and {cls}"
    assert {"HRNet", "V2Head", "V2pNeck", "SafeLoadHook"} <= set(bound)
    assert bound["HRNet"] is hrnet.mm.MMHRNet and issubclass(bound["HRNet"], hrnet.HRNet)
    assert not hasattr(hrnet, "MODELS") and not hasattr(hrnet, "build")
