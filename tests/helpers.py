"""What the tests share: the optional packages they need (and how to skip without them), the suite's notions of
"equal", and facts written down from the paper and the docs for the tests to compare against.

Fixtures live in ``conftest.py``; everything a test imports by name lives here (``from helpers import ...``).
"""

from __future__ import annotations

from importlib import import_module
from importlib.util import find_spec
from types import ModuleType

import pytest
import torch
from torch import nn

# The core install (pip install -e '.[dev-core]': torch, pytest, ruff) runs every test that needs nothing more; a test
# that needs an optional package skips without it, and the reason says how to install it. A module all of whose
# tests need a package starts with `pytest.importorskip(name, reason=NEEDS_...)`; a module with only some such tests
# marks them with `needs_timm` / `needs_onnx`, or takes the package from `import_or_skip_on_use`.
NEEDS_TIMM = "needs timm: pip install -e '.[timm]'"
NEEDS_ONNX = "needs onnx, onnxscript and onnxruntime: pip install -e '.[export]' onnxruntime"
NEEDS_OPENMMLAB = "needs the OpenMMLab stack (mmengine, mmcv, mmpose, mmseg, mmdet): make env (tools/setup_env.sh)"


def installed(*names: str) -> bool:
    """Whether every top-level package of ``names`` is installed (found, not imported)."""
    return all(find_spec(name) is not None for name in names)


HAS_TIMM = installed("timm")
HAS_ONNX = installed("onnx", "onnxscript", "onnxruntime")
needs_timm = pytest.mark.skipif(not HAS_TIMM, reason=NEEDS_TIMM)
needs_onnx = pytest.mark.skipif(not HAS_ONNX, reason=NEEDS_ONNX)


class SkipOnUse:
    """Stands in for a package that is not installed: the test (or fixture) that touches it skips with ``reason``."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __getattr__(self, name: str):
        if name.startswith("__"):  # introspection (pytest's collection, copy, pickle) sees a plain object
            raise AttributeError(name)
        pytest.skip(self.reason)


def import_or_skip_on_use(name: str, reason: str) -> ModuleType | SkipOnUse:
    """``import name`` where its package is installed (import errors stay errors), else a :class:`SkipOnUse`."""
    return import_module(name) if installed(name.partition(".")[0]) else SkipOnUse(reason)


# What each frozen_stages value freezes, written down from docs/models.md: the stem, then each stage together with
# the transition that leaves it (state-dict prefixes, shared by timm, the official code and OpenMMLab).
FROZEN_PREFIXES = [
    ("conv1.", "bn1.", "conv2.", "bn2."),
    ("layer1.", "transition1."),
    ("stage2.", "transition2."),
    ("stage3.", "transition3."),
    ("stage4.",),
]


def frozen_prefixes(frozen_stages: int) -> tuple[str, ...]:
    return tuple(prefix for stage in FROZEN_PREFIXES[: frozen_stages + 1] for prefix in stage)


def as_list(out: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
    """A model's output as a list: the heads return one tensor (cls) or a list of maps."""
    return out if isinstance(out, list) else [out]


def max_rel_diff(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """max |ours − ref| / max |ref|: the suite's notion of "equal" (outputs of random HRNets reach 1e8)."""
    return ((ours - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()


def relative_l2(ours: torch.Tensor, ref: torch.Tensor) -> float:
    """‖ours − ref‖ / ‖ref‖ in float64: "close" for reduced precision, where single outputs may differ more."""
    return ((ours.double() - ref.double()).norm() / ref.double().norm()).item()


def randomize_norm_stats(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BN non-trivial running statistics and affine parameters, so BN handling matters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)
    return model


# §7's fusion scopes as the paper counts them (Table 12): (a) the final fusion alone, 1; (b) across stages, 3;
# (c) within and across stages, 8 (stage 2: 1 module, stage 3: 4, stage 4: 3).
PAPER_FUSIONS = {"final": 1, "across": 3, "within": 8}
HEAD_TYPES = {None: "BranchMaps", "v1": "BranchMaps", "v1h": "V1hHead", "v2": "V2Head"}


def assert_ablation_applied(options: dict, backbone: nn.Module) -> None:
    """The §7 options a config gives ``hrnet.HRNet`` (``options``: its backbone dict) are in the model the framework
    built: the number of fusions, how they downsample and combine, how many streams stage 2 runs, the head."""
    from hrnet.fusion import DownTransform, MultiResolutionFusion

    fusions = [m for m in backbone.modules() if isinstance(m, MultiResolutionFusion)]
    assert len(fusions) == PAPER_FUSIONS[options.get("fusion", "within")]
    downsample = options.get("fusion_downsample", "conv")
    modes = {m.mode for fusion in fusions for m in fusion.modules() if isinstance(m, DownTransform)}
    assert modes == {downsample} or (not modes and options.get("fusion") == "final"), modes
    assert {fusion.multiply for fusion in fusions} == {options.get("fusion_op", "sum") == "mul"}
    assert len(backbone.stage2[0].branches) == (4 if options.get("streams") == "parallel" else 2)
    assert type(backbone.head).__name__ == HEAD_TYPES[options.get("head")]
