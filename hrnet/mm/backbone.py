"""``hrnet.HRNet`` for OpenMMLab configs: the core network with the frameworks' HRNet arguments.

An existing mmpose / mmseg / mmdet HRNet config switches to this backbone by changing only ``type`` (and
adding ``custom_imports``): ``extra``, ``in_channels``, ``norm_cfg``, ``norm_eval``, ``with_cp``,
``frozen_stages``, ``zero_init_residual``, ``multiscale_output``, ``upsample_cfg`` (or mmpose's
``extra['upsample']``), ``pretrained`` and ``init_cfg`` mean what they mean there. The fusion upsamples as
the framework that builds it does (mmseg: bilinear; mmpose, mmdet: nearest) unless ``upsample_cfg`` says
otherwise; every resize still goes to the exact branch size, so odd input sizes work.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Tuple, Union

import torch
from mmengine.registry import DefaultScope

from ..checkpoint import load_checkpoint
from ..model import HRNet as CoreHRNet
from ..specs import ArchSpec, spec_from_mm_extra
from ..units import Norm
from .registry import MODELS

BILINEAR_SCOPES = ("mmseg",)  # frameworks whose HRNet fuses bilinearly


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


def current_scope() -> Optional[str]:
    """The scope of the framework building the model (a config's ``default_scope``), if any."""
    scope = DefaultScope.get_current_instance()
    return None if scope is None else scope.scope_name


def framework_upsample() -> str:
    """'bilinear' when built under mmseg's scope, else 'nearest' (mmpose, mmdet, plain mmengine)."""
    return "bilinear" if current_scope() in BILINEAR_SCOPES else "nearest"


def fetch(checkpoint: str) -> Union[str, dict]:
    """A local path as is; an mmengine URL (``open-mmlab://``, ``https://``, ...) through mmengine's loader."""
    if "://" not in str(checkpoint):
        return checkpoint
    from mmengine.runner import CheckpointLoader

    return CheckpointLoader.load_checkpoint(checkpoint, map_location="cpu")


@MODELS.register_module(name="HRNet")
class MMHRNet(CoreHRNet):
    """The core ``HRNet`` returning a tuple of maps, configured by OpenMMLab-style arguments.

    ``arch`` (a name of ``hrnet.ARCHS``) or ``extra`` (the frameworks' stage dicts) chooses the network;
    ``head`` may be ``None`` (four branches, or one with ``multiscale_output=False``), ``'v1'``, ``'v1h'``,
    ``'v2'`` or ``'v2p'``.
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
        **options: Any,
    ) -> None:
        if conv_cfg not in (None, dict(type="Conv2d"), dict(type="Conv")):
            raise ValueError(f"conv_cfg must be None or a plain Conv2d config, got {conv_cfg!r}")
        if (arch is None) == (extra is None):
            raise ValueError("give exactly one of arch (a name of hrnet.ARCHS) and extra (stage1 … stage4 dicts)")
        if pretrained is not None and init_cfg is not None:
            raise ValueError("give the checkpoint either as pretrained or as init_cfg, not both")
        extra = dict(extra or {})
        spec = spec_from_mm_extra(extra) if arch is None else arch
        upsample = dict(extra.get("upsample") or {}, **(upsample_cfg or {}))
        if multiscale_output is None:  # mmpose spells it inside extra['stage4'] and defaults to one output
            stage4 = extra.get("stage4", {})
            multiscale_output = stage4.get("multiscale_output", not (extra and current_scope() == "mmpose"))
        if head is None and not multiscale_output:
            head = "v1"
        super().__init__(
            spec,
            head=head,
            upsample=upsample.get("mode") or framework_upsample(),
            align_corners=bool(upsample.get("align_corners") or False),
            upsample_by_factor=current_scope() in BILINEAR_SCOPES,  # mmseg resizes in two steps
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
