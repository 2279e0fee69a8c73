"""Residual units of the paper: the basic unit (two 3×3 convs) and the bottleneck unit (1×1-3×3-1×1).

Attribute names (``conv1``, ``bn1``, ..., ``downsample``) follow the layout shared by the official code,
timm and OpenMMLab, so state dicts move between them without renaming.
"""

from typing import Callable, Optional

import torch
import torch.nn.functional as F
from torch import nn

from .registry import MODELS

NormLayer = Callable[[int], nn.Module]

BN_MOMENTUM = 0.1


def batch_norm(num_features: int) -> nn.BatchNorm2d:
    """The default norm layer: BN with the eps / momentum every HRNet implementation uses."""
    return nn.BatchNorm2d(num_features, eps=1e-5, momentum=BN_MOMENTUM)


def conv_norm(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    norm_layer: NormLayer,
    stride: int = 1,
    relu: bool = True,
) -> nn.Sequential:
    """``Conv2d → norm (→ ReLU)``: the building brick of stems, transitions and fusions (keys ``0``, ``1``)."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, kernel_size // 2, bias=False),
        norm_layer(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualUnit(nn.Module):
    """Shared shape of the units: ``relu(residual(x) + shortcut(x))``."""

    expansion = 1

    def add_shortcut(self, in_channels: int, channels: int, stride: int, norm_layer: NormLayer) -> None:
        """Projection shortcut when the shape changes; created after the convs so that ``parameters()``
        come in the same order as in timm and the official code (optimizer states line up)."""
        out_channels = channels * self.expansion
        self.downsample: Optional[nn.Module] = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = conv_norm(in_channels, out_channels, 1, norm_layer, stride=stride, relu=False)

    def last_norm(self) -> nn.Module:
        raise NotImplementedError

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += shortcut  # in place: the residual branch's last BN output is not needed for backward
        return F.relu_(out)


@MODELS.register
class BasicUnit(ResidualUnit):
    """Two 3×3 conv + BN with an identity (or projected) shortcut: the unit of stages 2-4."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, stride: int = 1, norm_layer: NormLayer = batch_norm) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = norm_layer(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = norm_layer(channels)
        self.add_shortcut(in_channels, channels, stride, norm_layer)

    def last_norm(self) -> nn.Module:
        return self.bn2

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(x))


@MODELS.register
class BottleneckUnit(ResidualUnit):
    """1×1 reduce, 3×3, 1×1 expand (×4): the unit of stage 1 and of the classification head."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, stride: int = 1, norm_layer: NormLayer = batch_norm) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = norm_layer(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = norm_layer(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = norm_layer(channels * self.expansion)
        self.add_shortcut(in_channels, channels, stride, norm_layer)

    def last_norm(self) -> nn.Module:
        return self.bn3

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.bn1(self.conv1(x)))
        x = F.relu_(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))


UNITS: dict[str, type[ResidualUnit]] = {"basic": BasicUnit, "bottleneck": BottleneckUnit}


def make_units(
    block: str, in_channels: int, channels: int, num_units: int, norm_layer: NormLayer, stride: int = 1
) -> nn.Sequential:
    """A chain of ``num_units`` residual units (keys ``0 … n-1``); the first one adapts the channels."""
    unit = UNITS[block]
    layers = [unit(in_channels, channels, stride, norm_layer)]
    layers += [unit(channels * unit.expansion, channels, 1, norm_layer) for _ in range(num_units - 1)]
    return nn.Sequential(*layers)
