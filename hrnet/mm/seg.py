"""HRNetV2 as an mmseg decode head: the core V2 head (bilinear concat + 1×1 conv + BN + ReLU) and a
1×1 classifier, so a segmentor is ``hrnet.HRNet`` + ``hrnet.V2Head`` (+ mmseg's own OCR head)."""

from __future__ import annotations

from typing import Sequence

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead

from ..heads import V2Head as CoreV2Head
from ..layouts import FCN_HEAD_KEYS, rename_in_place, under
from .backbone import norm_layer_from_cfg
from .registry import MODELS


@MODELS.register_module(name="V2Head")
class V2DecodeHead(BaseDecodeHead):
    """``channels`` defaults to the concat width (15C), as in the paper; ``align_corners`` applies to the
    concat's bilinear resize. Reads mmseg's FCN-HRNet checkpoints (``convs.0.conv`` / ``convs.0.bn``)."""

    def __init__(self, in_channels: Sequence[int], channels: int | None = None, **kwargs) -> None:
        in_channels = list(in_channels)
        kwargs.setdefault("in_index", tuple(range(len(in_channels))))
        kwargs.setdefault("input_transform", "multiple_select")
        super().__init__(in_channels, channels or sum(in_channels), **kwargs)
        self.v2 = CoreV2Head(in_channels, self.channels, norm_layer_from_cfg(self.norm_cfg), self.align_corners)
        self._register_load_state_dict_pre_hook(self._read_fcn_layout)

    @staticmethod
    def _read_fcn_layout(state_dict, prefix, *args) -> None:
        """mmseg's FCN head names the same conv + BN ``convs.0.conv`` / ``convs.0.bn`` (conv without bias)."""
        rename_in_place(state_dict, prefix, under("", "v2.", FCN_HEAD_KEYS))
        bias = prefix + "v2.proj.0.bias"
        weight = prefix + "v2.proj.0.weight"
        if weight in state_dict and bias not in state_dict:
            state_dict[bias] = torch.zeros(state_dict[weight].shape[0], dtype=state_dict[weight].dtype)

    def forward(self, inputs: Sequence[torch.Tensor]) -> torch.Tensor:
        (feature,) = self.v2(list(self._transform_inputs(inputs)))
        return self.cls_seg(feature)
