"""``hrnet.HRNet`` for OpenMMLab configs: the core network with the frameworks' HRNet arguments.

An existing mmpose / mmseg / mmdet HRNet config switches to this backbone by changing only ``type`` (and
adding ``custom_imports``): ``extra``, ``in_channels``, ``norm_cfg``, ``norm_eval``, ``with_cp``,
``frozen_stages``, ``zero_init_residual``, ``multiscale_output``, ``upsample_cfg`` (or mmpose's
``extra['upsample']``), ``pretrained`` and ``init_cfg`` mean what they mean there. The frameworks' HRNets differ
in their defaults (how the fusion upsamples, how many outputs): ``framework`` names the one whose defaults apply
(``FRAMEWORK_DEFAULTS``), and every config of ours says it. Without it the network is the same whichever scope
builds it: nearest upsampling straight to the branch size, four outputs (the defaults of mmdet's HRNet and of
the core ``hrnet.HRNet``). ``upsample_cfg`` / ``extra['upsample']`` and ``multiscale_output`` (or mmpose's
``extra['stage4']['multiscale_output']``) override the framework's choice. Every resize still goes to the exact
branch size, so odd input sizes work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Sequence, Tuple, Union

import torch

from ..checkpoint import load_checkpoint
from ..model import HRNet as CoreHRNet
from ..specs import ArchSpec, spec_from_mm_extra
from ..units import Norm
from .compat import mmengine_checkpoints
from .registry import MODELS


@dataclass(frozen=True)
class FrameworkDefaults:
    """What a framework's own HRNet does where its config says nothing."""

    upsample: str  # the fusion's upsampling mode
    align_corners: bool
    upsample_by_factor: bool  # upsample by the power of two, then resize to the branch size (mmseg's two steps)
    multiscale_output: bool  # four outputs (True) or the high-resolution one only, fused only into it (V1)


FRAMEWORK_DEFAULTS: Dict[Optional[str], FrameworkDefaults] = {
    None: FrameworkDefaults("nearest", False, False, True),  # whatever the scope: the core hrnet.HRNet's
    "mmdet": FrameworkDefaults("nearest", False, False, True),
    "mmpose": FrameworkDefaults("nearest", False, False, False),  # one output unless extra['stage4'] says more
    "mmseg": FrameworkDefaults("bilinear", False, True, True),
}


def framework_defaults(framework: Optional[str]) -> FrameworkDefaults:
    """The defaults of ``framework``'s HRNet (``None``: this package's own); a ValueError names the choices."""
    if framework not in FRAMEWORK_DEFAULTS:
        choices = ", ".join(repr(name) for name in FRAMEWORK_DEFAULTS if name is not None)
        raise ValueError(f"framework must be one of {choices} or None, got {framework!r}")
    return FRAMEWORK_DEFAULTS[framework]


MM_NORM_KINDS = {"BN": "bn", "BN2d": "bn", "SyncBN": "syncbn"}  # OpenMMLab's norm type → the core's kind


def norm_layer_from_cfg(norm_cfg: Optional[dict]) -> Norm:
    """The core's norm factory for an OpenMMLab ``norm_cfg`` (BN or SyncBN, with eps / momentum)."""
    cfg = dict(norm_cfg or dict(type="BN"))
    kind = cfg.pop("type")
    if kind not in MM_NORM_KINDS:
        raise ValueError(f"norm_cfg type must be one of {sorted(MM_NORM_KINDS)}, got {kind!r}")
    norm = Norm(MM_NORM_KINDS[kind], cfg.pop("eps", 1e-5), cfg.pop("momentum", 0.1), cfg.pop("requires_grad", True))
    if cfg:
        raise ValueError(f"unsupported norm_cfg keys {sorted(cfg)}; expected type, requires_grad, eps, momentum")
    return norm


def fetch(checkpoint: str) -> Union[str, dict]:
    """A local path as is; an mmengine URL (``open-mmlab://``, ``https://``, ...) through mmengine's loader."""
    if "://" not in str(checkpoint):
        return checkpoint
    from mmengine.runner import CheckpointLoader

    with mmengine_checkpoints():  # an OpenMMLab file may hold what mmengine's Runner saves beside the weights
        return CheckpointLoader.load_checkpoint(checkpoint, map_location="cpu")


@MODELS.register_module(name="HRNet")
class MMHRNet(CoreHRNet):
    """The core ``HRNet`` returning a tuple of maps, configured by OpenMMLab-style arguments.

    ``arch`` (a name of ``hrnet.ARCHS``) or ``extra`` (the frameworks' stage dicts) chooses the network;
    ``head`` may be ``None`` (four branches, or one with ``multiscale_output=False``), ``'v1'``, ``'v1h'``,
    ``'v2'`` or ``'v2p'``. ``framework`` (``'mmdet'``, ``'mmpose'``, ``'mmseg'`` or ``None``) sets the defaults of
    that framework's HRNet (``FRAMEWORK_DEFAULTS``); the scope building the model never changes the network.
    """

    def __init__(
        self,
        arch: Union[str, ArchSpec, None] = None,
        extra: Optional[dict] = None,
        in_channels: int = 3,
        head: Optional[str] = None,
        conv_cfg: Optional[dict] = None,
        norm_cfg: Optional[dict] = None,
        norm_eval: bool = False,
        with_cp: bool = False,
        frozen_stages: int = -1,
        zero_init_residual: bool = False,
        multiscale_output: Optional[bool] = None,
        upsample_cfg: Optional[dict] = None,
        pretrained: Optional[str] = None,
        init_cfg: Union[dict, Sequence[dict], None] = None,
        framework: Optional[str] = None,
        **options: Any,
    ) -> None:
        defaults = framework_defaults(framework)
        if conv_cfg not in (None, dict(type="Conv2d"), dict(type="Conv")):
            raise ValueError(f"conv_cfg must be None or a plain Conv2d config, got {conv_cfg!r}")
        if (arch is None) == (extra is None):
            raise ValueError("give exactly one of arch (a name of hrnet.ARCHS) and extra (stage1 … stage4 dicts)")
        if pretrained is not None and init_cfg is not None:
            raise ValueError("give the checkpoint either as pretrained or as init_cfg, not both")
        extra = dict(extra or {})
        spec = spec_from_mm_extra(extra) if arch is None else arch
        upsample = dict(extra.get("upsample") or {}, **(upsample_cfg or {}))
        if multiscale_output is None:  # mmpose spells it inside extra['stage4']
            multiscale_output = extra.get("stage4", {}).get("multiscale_output", defaults.multiscale_output)
        if head is None and not multiscale_output:
            head = "v1"
        align_corners = upsample.get("align_corners")
        super().__init__(
            spec,
            head=head,
            upsample=upsample.get("mode") or defaults.upsample,
            align_corners=defaults.align_corners if align_corners is None else bool(align_corners),
            upsample_by_factor=options.pop("upsample_by_factor", defaults.upsample_by_factor),
            in_chans=in_channels,
            frozen_stages=frozen_stages,
            norm_eval=norm_eval,
            zero_init_residual=zero_init_residual,
            norm_layer=norm_layer_from_cfg(norm_cfg),
            **options,
        )
        if with_cp:
            self.set_grad_checkpointing(True)
        self.init_cfg = dict(type="Pretrained", checkpoint=pretrained) if pretrained else init_cfg
        self.load_report = None

    def init_weights(self) -> None:
        """Called by the framework's Runner: random init, then the ``Pretrained`` checkpoint if any, loaded
        by ``hrnet.load_checkpoint`` (any public HRNet layout; a file that does not fit is an error)."""
        super().init_weights()
        init_cfg = getattr(self, "init_cfg", None)  # unset while the core constructor initialises
        cfgs = init_cfg if isinstance(init_cfg, (list, tuple)) else [init_cfg]
        for cfg in cfgs:
            if not cfg:
                continue
            if cfg.get("type") != "Pretrained":
                raise ValueError(f"init_cfg type must be 'Pretrained' for hrnet.HRNet, got {cfg!r}")
            self.load_report = load_checkpoint(self, fetch(cfg["checkpoint"]), strict=False)
        self.freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:  # type: ignore[override]
        return tuple(super().forward(x))
