"""``HRNet``: the trunk plus one of the paper's heads — the model every interface of the package builds."""

from typing import Any, List, Optional, Union

import torch
from torch import nn

from .fusion import check_choice
from .heads import CLASSIFICATION_FEATURES, HEADS, GlobalPool, make_classification_head, make_dense_head
from .specs import ArchSpec
from .trunk import HRNetTrunk
from .units import resolve_norm_layer


class HRNet(HRNetTrunk):
    """High-Resolution Network (Wang et al., TPAMI): one implementation for every task head.

    Args:
        arch: a name from ``hrnet.ARCHS`` (``w18_small`` … ``w64``) or an ``ArchSpec``.
        head: ``None`` → the four branch maps (C, 2C, 4C, 8C at 1/4 … 1/32); ``'v1'`` → [high-res map];
            ``'v1h'`` → [15C 1×1 projection of it]; ``'v2'`` → [15C concat representation]; ``'v2p'`` →
            pyramid of ``pyramid_levels`` maps (strides 4 … 64); ``'cls'`` → ImageNet logits.
        num_classes / global_pool / drop_rate / head_conv_bias: the classification head's; head_channels:
            the V1h / V2 width (default 15C) or V2p's (256).

    The trunk's options (:class:`~hrnet.trunk.HRNetTrunk`):
        in_chans: input channels.
        upsample: fusion upsampling, ``'nearest'`` (classification / pose / detection weights) or
            ``'bilinear'`` (segmentation weights); always to the exact target size.
        align_corners: bilinear corner alignment (the official OCR models use ``True``).
        upsample_by_factor: upsample by the power of two first, then resize to the exact size when that
            differs (mmseg's order; the same as the default direct resize on sides that are multiples of 32).
        output_stride: 32, or 16 / 8 for dense clients that want coarser maps no coarser than that: the
            lowest branches keep that resolution and dilate their 3×3 convs (the same weights load).
        frozen_stages: freeze the stem (0) and stages 1 … n (no gradients, BN in eval); -1 freezes nothing.
        norm_eval: keep every BN in eval mode while training (frozen statistics for small batches).
        fusion / fusion_downsample / fusion_op / streams: the §7 ablations (Table 12 and text).

    The classification head keeps the official top-level names (``incre_modules downsamp_modules final_layer
    classifier``) so ImageNet checkpoints load as they are; every other head is ``head``.
    """

    def __init__(
        self,
        arch: Union[str, ArchSpec] = "w32",
        head: Optional[str] = None,
        num_classes: int = 1000,
        global_pool: str = "avg",
        drop_rate: float = 0.0,
        head_conv_bias: bool = True,
        head_channels: Optional[int] = None,
        pyramid_levels: int = 5,
        **trunk_options: Any,
    ) -> None:
        check_choice("head", head, HEADS)
        norm = resolve_norm_layer(trunk_options.pop("norm_layer", None))
        super().__init__(arch, norm_layer=norm, single_output=head in ("v1", "v1h"), **trunk_options)
        self.head_type = head
        self.head: Optional[nn.Module] = None
        self.incre_modules: Optional[nn.ModuleList] = None
        self.downsamp_modules: Optional[nn.ModuleList] = None
        self.final_layer: Optional[nn.Module] = None
        self.global_pool: Optional[nn.Module] = None
        self.head_drop: Optional[nn.Module] = None
        self.classifier: Optional[nn.Module] = None
        self.num_classes = 0
        if head == "cls":
            self.incre_modules, self.downsamp_modules, self.final_layer = make_classification_head(
                self.branch_channels, norm, head_conv_bias, self.dilations
            )
            self.global_pool = GlobalPool(global_pool)
            self.head_drop = nn.Dropout(drop_rate)
            self.num_classes = num_classes
            self.classifier = nn.Linear(CLASSIFICATION_FEATURES, num_classes) if num_classes > 0 else nn.Identity()
            self.out_channels: List[int] = [CLASSIFICATION_FEATURES]
        else:
            trunk_channels = self.branch_channels[:1] if head in ("v1", "v1h") else self.branch_channels
            self.head = make_dense_head(
                head, trunk_channels, norm, head_channels, pyramid_levels, self.align_corners
            )
            self.out_channels = list(self.head.out_channels)
        self.init_weights()
        self.freeze_stages()

    # ------------------------------------------------------------------ the classification head
    def widen_branches(self, xs: List[torch.Tensor], count: Optional[int] = None) -> List[torch.Tensor]:
        """``incre_modules`` on the branch maps (the first ``count`` of them): 128 … 1024 channels."""
        assert self.incre_modules is not None
        widened: List[torch.Tensor] = []
        for i, incre in enumerate(self.incre_modules):
            if count is None or i < count:
                widened.append(incre(xs[i]))
        return widened

    def merge_branches(self, widened: List[torch.Tensor]) -> torch.Tensor:
        """Merge the widened maps high → low (stride-2 3×3 convs), then project to 2048 channels."""
        assert self.downsamp_modules is not None and self.final_layer is not None
        merged = widened[0]
        for i, down in enumerate(self.downsamp_modules):
            merged = widened[i + 1] + down(merged)
        return self.final_layer(merged)

    def classify(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """The merged 2048-channel map through pooling, dropout and classifier (skipped with ``pre_logits``)."""
        assert self.global_pool is not None and self.head_drop is not None and self.classifier is not None
        x = self.head_drop(self.global_pool(x))
        return x if pre_logits else self.classifier(x)

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor):
        xs = self.forward_trunk(x)
        if self.final_layer is not None:  # each branch is resolved statically under TorchScript
            return self.classify(self.merge_branches(self.widen_branches(xs)))
        if self.head is not None:
            return self.head(xs)
        return xs
