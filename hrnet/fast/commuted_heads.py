"""Commuted V2 / V2p heads: the 1×1 convolution after the V2 / V2p concatenation is linear, and so is the
bilinear resize before it, so each branch is projected at its own resolution and resized after: 15C → 15C at
1/4 becomes C, 2C, 4C, 8C → 15C at 1/4 … 1/32 (about 8× fewer multiply-adds in that layer)."""

from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..fusion import resize
from ..heads import V2Head, V2pHead
from .rewrite import frozen_conv


class BranchProjection(nn.ModuleList):
    """A 1×1 conv over the concatenation of bilinearly resized branches, computed as one 1×1 conv per branch at
    the branch's own resolution, then resized and summed: ``conv0(x0) + Σ resize(conv_i(x_i))``. Both steps are
    linear (bilinear weights sum to one, so the bias, kept with the first conv, commutes too)."""

    def __init__(self, proj: nn.Conv2d, widths: Sequence[int], align_corners: bool) -> None:
        convs, start = [], 0
        for index, width in enumerate(widths):
            weight = proj.weight[:, start : start + width]
            convs.append(frozen_conv(proj, weight, proj.bias if index == 0 and proj.bias is not None else None))
            start += width
        super().__init__(convs)
        self.align_corners = align_corners

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        size = [xs[0].shape[-2], xs[0].shape[-1]]
        total = torch.empty(0)
        for i, conv in enumerate(self):
            if i == 0:
                total = conv(xs[0])
            else:
                total = total + resize(conv(xs[i]), size, "bilinear", self.align_corners)
        return total


class CommutedV2Head(nn.Module):
    """HRNetV2 with its 1×1 conv + BN (folded) applied per branch before the bilinear resize."""

    def __init__(self, head: V2Head) -> None:
        super().__init__()
        self.out_channels = head.out_channels
        self.project = BranchProjection(head.projection(), head.in_channels, head.align_corners)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return [F.relu_(self.project(xs))]


class CommutedV2pHead(V2pHead):
    """HRNetV2p with its 1×1 reduction applied per branch before the bilinear resize; same pyramid."""

    def __init__(self, head: V2pHead) -> None:
        nn.Module.__init__(self)
        self.in_channels = head.in_channels
        self.out_channels = head.out_channels
        self.num_levels = head.num_levels
        self.align_corners = head.align_corners
        self.project = BranchProjection(head.reduction_conv, head.in_channels, head.align_corners)
        self.fpn_convs = head.fpn_convs

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return self.pyramid(self.project(xs))
