"""HRNetV2 as an mmseg decode head: the core V2 head (bilinear concat + 1×1 conv + BN + ReLU) and a
1×1 classifier, so a segmentor is ``hrnet.HRNet`` + ``hrnet.V2Head`` (+ mmseg's own OCR head); and the flip test of
labels that have a mirror image (LIP)."""

from __future__ import annotations

from typing import Sequence

import torch
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.segmentors.seg_tta import SegTTAModel

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


@MODELS.register_module(name="FlipSwapTTAModel")
class FlipSwapTTAModel(SegTTAModel):
    """mmseg's test-time augmentation for classes that are each other's mirror image (LIP's left / right arm, leg
    and shoe): a flipped view's class scores are swapped back before the views are averaged, as the paper's
    flip-averaged LIP test does. mmseg's ``SegTTAModel`` only unflips the map, so a mirrored left arm would vote for
    the right one. ``swap_labels`` are the pairs, as mmseg's ``RandomFlip(swap_seg_labels=...)`` takes them."""

    def __init__(self, swap_labels: Sequence[Sequence[int]], **kwargs) -> None:
        pairs = [tuple(pair) for pair in swap_labels]
        if not pairs or any(len(pair) != 2 or not all(isinstance(i, int) for i in pair) for pair in pairs):
            raise ValueError(f"swap_labels must be pairs of class indices, e.g. [(14, 15)], got {swap_labels!r}")
        super().__init__(**kwargs)
        self.swap_labels = pairs

    def merge_preds(self, data_samples_list):  # type: ignore[override]
        for data_samples in data_samples_list:
            for sample in data_samples:
                if sample.metainfo.get("flip"):
                    scores = sample.seg_logits.data
                    order = list(range(scores.shape[0]))
                    for a, b in self.swap_labels:
                        order[a], order[b] = order[b], order[a]
                    sample.seg_logits.data = scores[order]
        return super().merge_preds(data_samples_list)
