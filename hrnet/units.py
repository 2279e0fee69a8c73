"""Residual units of the paper: the basic unit (two 3×3 convs) and the bottleneck unit (1×1-3×3-1×1).

Attribute names (``conv1``, ``bn1``, ..., ``downsample``) follow the layout shared by the official code,
timm and OpenMMLab, so state dicts move between them without renaming.
"""

from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

NormLayer = Callable[[int], nn.Module]

BN_MOMENTUM = 0.1
NORM_KINDS: dict[str, type[nn.Module]] = {"bn": nn.BatchNorm2d, "syncbn": nn.SyncBatchNorm}


@dataclass(frozen=True)
class Norm:
    """The one norm-layer factory: ``Norm('syncbn')(channels)``. Every HRNet implementation uses BN with eps
    1e-5 and momentum 0.1; ``requires_grad=False`` freezes the affine parameters (OpenMMLab's ``norm_cfg``)."""

    kind: str = "bn"
    eps: float = 1e-5
    momentum: float = BN_MOMENTUM
    requires_grad: bool = True

    def __post_init__(self) -> None:
        if self.kind not in NORM_KINDS:
            raise ValueError(f"norm kind must be one of {sorted(NORM_KINDS)}, got {self.kind!r}")

    def __call__(self, num_features: int) -> nn.Module:
        layer = NORM_KINDS[self.kind](num_features, eps=self.eps, momentum=self.momentum)
        return layer.requires_grad_(self.requires_grad)


batch_norm: NormLayer = Norm()  # the default norm layer


def resolve_norm_layer(norm_layer: Union[str, NormLayer, None]) -> NormLayer:
    """Accept a norm-layer callable (e.g. ``nn.SyncBatchNorm``), a kind of ``NORM_KINDS``, or ``None`` (BN)."""
    if norm_layer is None:
        return batch_norm
    if isinstance(norm_layer, str):
        if norm_layer not in NORM_KINDS:
            raise ValueError(f"norm_layer must be a callable or one of {sorted(NORM_KINDS)}, got {norm_layer!r}")
        return Norm(norm_layer)
    if not callable(norm_layer):
        raise ValueError(f"norm_layer must be a callable or one of {sorted(NORM_KINDS)}, got {norm_layer!r}")
    return norm_layer


def branch_dilations(output_stride: int, num_branches: int = 4) -> Tuple[int, ...]:
    """Dilation of each branch when no map may be coarser than ``output_stride``: branch ``i`` (stride
    ``4·2^i``) runs at ``min(4·2^i, output_stride)`` with its 3×3 convs dilated by the missing factor, which
    keeps the receptive field (and every weight's shape) of the stride-32 network."""
    if output_stride not in (8, 16, 32):
        raise ValueError(f"output_stride must be 8, 16 or 32, got {output_stride!r}")
    return tuple(max(1, 4 * 2**i // output_stride) for i in range(num_branches))


def step_geometry(dilations: Sequence[int], level: int) -> Tuple[int, int]:
    """(stride, dilation) of the stride-2 3×3 conv from branch ``level`` to ``level + 1``: stride 1, dilated
    like its input, where the lower branch keeps the resolution (output stride 8 / 16)."""
    if level + 1 < len(dilations) and dilations[level + 1] > dilations[level]:
        return 1, dilations[level]
    return 2, dilations[level]


def conv_norm(
    in_channels: int,
    out_channels: int,
    kernel_size: int,
    norm_layer: NormLayer,
    stride: int = 1,
    relu: bool = True,
    dilation: int = 1,
    bias: bool = False,
) -> nn.Sequential:
    """``Conv2d → norm (→ ReLU)``: the building brick of stems, transitions and fusions (keys ``0``, ``1``)."""
    padding = dilation * (kernel_size // 2)
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=bias),
        norm_layer(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ResidualUnit(nn.Module):
    """Shared shape of the units: ``relu(residual(x) + shortcut(x))``."""

    expansion = 1

    def add_shortcut(self, in_channels: int, channels: int, norm_layer: NormLayer) -> None:
        """Projection shortcut when the shape changes; created after the convs so that ``parameters()``
        come in the same order as in timm and the official code (optimizer states line up)."""
        out_channels = channels * self.expansion
        self.downsample: Optional[nn.Module] = None
        if in_channels != out_channels:
            self.downsample = conv_norm(in_channels, out_channels, 1, norm_layer, relu=False)

    def shortcut_conv(self) -> Optional[nn.Conv2d]:
        """The projection shortcut's convolution, if the unit has one (what a rewrite of the unit reads)."""
        return None if self.downsample is None else self.downsample[0]

    def last_norm(self) -> nn.Module:
        raise NotImplementedError

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = self.residual(x)
        out += shortcut  # in place: the residual branch's last BN output is not needed for backward
        return F.relu_(out)


class BasicUnit(ResidualUnit):
    """Two 3×3 conv + BN with an identity (or projected) shortcut: the unit of stages 2-4."""

    expansion = 1

    def __init__(self, in_channels: int, channels: int, norm_layer: NormLayer = batch_norm, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, 1, dilation, dilation, bias=False)
        self.bn1 = norm_layer(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, dilation, dilation, bias=False)
        self.bn2 = norm_layer(channels)
        self.add_shortcut(in_channels, channels, norm_layer)

    def last_norm(self) -> nn.Module:
        return self.bn2

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(x))


class BottleneckUnit(ResidualUnit):
    """1×1 reduce, 3×3, 1×1 expand (×4): the unit of stage 1 and of the classification head."""

    expansion = 4

    def __init__(self, in_channels: int, channels: int, norm_layer: NormLayer = batch_norm, dilation: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = norm_layer(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, dilation, dilation, bias=False)
        self.bn2 = norm_layer(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = norm_layer(channels * self.expansion)
        self.add_shortcut(in_channels, channels, norm_layer)

    def last_norm(self) -> nn.Module:
        return self.bn3

    def residual(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu_(self.bn1(self.conv1(x)))
        x = F.relu_(self.bn2(self.conv2(x)))
        return self.bn3(self.conv3(x))


UNITS: dict[str, type[ResidualUnit]] = {"basic": BasicUnit, "bottleneck": BottleneckUnit}


def make_units(
    block: str, in_channels: int, channels: int, num_units: int, norm_layer: NormLayer, dilation: int = 1
) -> nn.Sequential:
    """A chain of ``num_units`` residual units (keys ``0 … n-1``); the first one adapts the channels."""
    unit = UNITS[block]
    layers = [unit(in_channels, channels, norm_layer, dilation)]
    layers += [unit(channels * unit.expansion, channels, norm_layer, dilation) for _ in range(num_units - 1)]
    return nn.Sequential(*layers)
