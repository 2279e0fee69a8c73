"""HRNetV2p as an mmdet neck: the core V2p pyramid (bilinear concat, 1×1 reduction, average pooling by
2^i, a 3×3 conv per level), reading mmdet's HRFPN checkpoints."""

from __future__ import annotations

from typing import Sequence, Tuple

import torch

from ..heads import V2pHead
from ..layouts import HRFPN_KEYS, rename_in_place
from .registry import MODELS


@MODELS.register_module(name="V2pNeck")
class V2pNeck(V2pHead):
    """Takes mmdet's HRFPN arguments (``in_channels``, ``out_channels``, ``num_outs``, ``stride``); equals HRFPN at
    equal weights wherever HRFPN runs, and also runs on sizes that are not multiples of 32."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int = 256,
        num_outs: int = 5,
        pooling_type: str = "AVG",
        stride: int = 1,
        align_corners: bool = False,
        init_cfg: dict | None = None,
    ) -> None:
        if pooling_type != "AVG":
            raise ValueError(f"expected pooling_type='AVG' (the paper's V2p), got {pooling_type!r}")
        if not isinstance(stride, int) or isinstance(stride, bool) or stride < 1:
            raise ValueError(f"stride must be a positive int (1: levels at strides 4 … 64; 2: 8 … 128), got {stride!r}")
        super().__init__(list(in_channels), out_channels, num_outs, align_corners)
        for conv in self.fpn_convs:  # HRFPN's stride: FCOS's levels start at stride 8, so its 3×3 convs subsample
            conv.stride = (stride, stride)
        self.init_cfg = init_cfg
        self._register_load_state_dict_pre_hook(self._read_hrfpn_layout)

    def init_weights(self) -> None:
        """Caffe2's Xavier fill (uniform, fan-in, gain for a=1) and zero bias, as mmdet initialises HRFPN."""
        for conv in [self.reduction_conv, *self.fpn_convs]:
            torch.nn.init.kaiming_uniform_(conv.weight, a=1, mode="fan_in", nonlinearity="leaky_relu")
            torch.nn.init.zeros_(conv.bias)

    @staticmethod
    def _read_hrfpn_layout(state_dict, prefix, *args) -> None:
        """HRFPN wraps each conv in a ConvModule: ``reduction_conv.conv.*``, ``fpn_convs.{i}.conv.*``."""
        rename_in_place(state_dict, prefix, HRFPN_KEYS)

    def forward(self, inputs: Sequence[torch.Tensor]) -> Tuple[torch.Tensor, ...]:  # type: ignore[override]
        return tuple(super().forward(list(inputs)))
