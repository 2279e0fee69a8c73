"""Representation heads of §3.3 and §7: V1h, V2, V2p, and the ImageNet classification head.

The head protocol: a module whose ``forward`` takes the trunk's branch maps (highest resolution first) and
returns a list of maps, with ``out_channels`` giving the channels of each. V1 and "no head" are
:class:`BranchMaps` (the trunk of a V1 network already ends in the high-resolution map alone). Every head
here resizes to the exact size of the high-resolution map, so any input size works.
"""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .fusion import resize
from .units import NormLayer, batch_norm, conv_norm, make_units, step_geometry

HEADS: tuple = (None, "v1", "v1h", "v2", "v2p", "cls")
CLASSIFICATION_WIDTHS: tuple[int, ...] = (32, 64, 128, 256)  # bottleneck widths of incre_modules
INCRE_CHANNELS: tuple[int, ...] = tuple(4 * w for w in CLASSIFICATION_WIDTHS)  # their outputs: 128 … 1024
CLASSIFICATION_FEATURES = 2048
POOL_TYPES: tuple[str, ...] = ("avg", "max")  # the core's; the timm adapter takes every pool type of timm


def concat_upsampled(xs: List[torch.Tensor], align_corners: bool = False) -> torch.Tensor:
    """HRNetV2's representation: every branch resized bilinearly to the first one, concatenated."""
    size = [xs[0].shape[-2], xs[0].shape[-1]]
    maps = [xs[0]]
    for x in xs[1:]:
        maps.append(resize(x, size, "bilinear", align_corners))
    return torch.cat(maps, dim=1)


def conv1x1_norm_relu(in_channels: int, out_channels: int, norm_layer: NormLayer) -> nn.Sequential:
    """1×1 conv (with bias, as the official segmentation head) + norm + ReLU; keys ``0`` and ``1``."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1), norm_layer(out_channels), nn.ReLU(inplace=True))


class BranchMaps(nn.Module):
    """No head (``None``) and HRNetV1 (``'v1'``): the trunk's branch maps as they are."""

    def __init__(self, in_channels: Sequence[int]) -> None:
        super().__init__()
        self.out_channels = list(in_channels)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return xs


class V1hHead(nn.Module):
    """HRNetV1h (§7): the high-resolution map lifted by a 1×1 conv to the width of HRNetV2 (15C)."""

    def __init__(self, in_channels: int, out_channels: int | None = None, norm_layer: NormLayer = batch_norm):
        super().__init__()
        width = out_channels or 15 * in_channels
        self.out_channels = [width]
        self.proj = conv1x1_norm_relu(in_channels, width, norm_layer)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return [self.proj(xs[0])]


class V2Head(nn.Module):
    """HRNetV2 (§3.3): concat of the four maps at 1/4, mixed by 1×1 conv + BN + ReLU."""

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int | None = None,
        norm_layer: NormLayer = batch_norm,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        self.in_channels = list(in_channels)
        total = sum(in_channels)
        width = out_channels or total
        self.out_channels = [width]
        self.proj = conv1x1_norm_relu(total, width, norm_layer)
        self.align_corners = align_corners

    def projection(self) -> nn.Conv2d:
        """The 1×1 convolution over the concatenation (what a rewrite of the head reads)."""
        return self.proj[0]

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return [self.proj(concat_upsampled(xs, self.align_corners))]


class V2pHead(nn.Module):
    """HRNetV2p (§3.3): a feature pyramid pooled from the HRNetV2 representation.

    As the paper's detection code: bilinear concat, 1×1 reduction conv, average pooling by 2^i for level
    i, and one 3×3 conv per level (convs with bias, no norm). Level i has stride ``4·2^i``. Pooling
    floors like the reference code; a map smaller than the pooling window is averaged whole.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: int = 256,
        num_levels: int = 5,
        align_corners: bool = False,
    ) -> None:
        super().__init__()
        if num_levels < 1:
            raise ValueError(f"num_levels must be >= 1, got {num_levels}")
        self.in_channels = list(in_channels)
        self.out_channels = [out_channels] * num_levels
        self.num_levels = num_levels
        self.align_corners = align_corners
        self.reduction_conv = nn.Conv2d(sum(in_channels), out_channels, 1)
        self.fpn_convs = nn.ModuleList(nn.Conv2d(out_channels, out_channels, 3, 1, 1) for _ in range(num_levels))

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return self.pyramid(self.reduction_conv(concat_upsampled(xs, self.align_corners)))

    def pyramid(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The levels from the reduced map (a method of its own so the commuted head of ``hrnet.fast`` reuses it)."""
        outputs: List[torch.Tensor] = []
        for level, conv in enumerate(self.fpn_convs):
            if level == 0:
                outputs.append(conv(x))
            else:
                outputs.append(conv(average_pool(x, 1 << level)))
        return outputs


def average_pool(x: torch.Tensor, window: int) -> torch.Tensor:
    """Average pooling with a ``window`` × ``window`` kernel and stride (flooring), over the whole map where it is
    smaller. While ``torch.export`` traces, the same average is a depthwise convolution with weights
    ``1 / window²``: PyTorch's shape function of ``avg_pool2d`` (before 2.13) branches on whether the sizes
    divide, which a graph with dynamic sizes cannot hold; an exported graph has one window per level, over the
    sizes ``hrnet.min_export_side`` admits, where every map is at least that large."""
    if torch.jit.is_scripting() or not exporting():
        kernel = [min(window, x.shape[-2]), min(window, x.shape[-1])]
        return F.avg_pool2d(x, kernel, kernel)
    kernel = [window if not isinstance(side, int) else min(window, side) for side in x.shape[-2:]]
    shape = (x.shape[1], 1, kernel[0], kernel[1])
    weight = torch.full(shape, 1.0 / (kernel[0] * kernel[1]), dtype=x.dtype, device=x.device)
    return F.conv2d(x, weight, stride=kernel, groups=x.shape[1])


@torch.jit.unused
def exporting() -> bool:
    """True while ``torch.export`` traces the model (not under ``torch.compile``, never under TorchScript)."""
    return torch.compiler.is_exporting()


def make_dense_head(
    head: Optional[str],
    in_channels: Sequence[int],
    norm_layer: NormLayer = batch_norm,
    head_channels: Optional[int] = None,
    pyramid_levels: int = 5,
    align_corners: bool = False,
) -> nn.Module:
    """The head module for ``head`` in ``None``, ``'v1'``, ``'v1h'``, ``'v2'``, ``'v2p'``."""
    if head == "v1h":
        return V1hHead(in_channels[0], head_channels, norm_layer)
    if head == "v2":
        return V2Head(in_channels, head_channels, norm_layer, align_corners)
    if head == "v2p":
        return V2pHead(in_channels, head_channels or 256, pyramid_levels, align_corners)
    if head in (None, "v1"):
        return BranchMaps(in_channels)
    raise ValueError(f"head must be one of {[h for h in HEADS if h != 'cls']}, got {head!r}")


def make_classification_head(
    in_channels: Sequence[int],
    norm_layer: NormLayer = batch_norm,
    conv_bias: bool = True,
    dilations: Optional[Sequence[int]] = None,
) -> tuple[nn.ModuleList, nn.ModuleList, nn.Sequential]:
    """The ImageNet head: ``incre_modules`` (one bottleneck per branch to 128 … 1024 channels),
    ``downsamp_modules`` (stride-2 3×3 conv merging high → low) and ``final_layer`` (1×1 conv to 2048).
    ``dilations`` are the branches' (output stride 8 / 16).
    """
    dilations = list(dilations or [1] * len(in_channels))
    incre = nn.ModuleList(
        make_units("bottleneck", c, width, 1, norm_layer, d)
        for c, width, d in zip(in_channels, CLASSIFICATION_WIDTHS, dilations)
    )
    widths = list(INCRE_CHANNELS[: len(in_channels)])
    downsamp = nn.ModuleList()
    for level, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
        stride, dilation = step_geometry(dilations, level)
        # the official ImageNet head's convs have a bias (PaddleClas' SSLD ones do not)
        downsamp.append(conv_norm(c_in, c_out, 3, norm_layer, stride, dilation=dilation, bias=conv_bias))
    final = conv_norm(widths[-1], CLASSIFICATION_FEATURES, 1, norm_layer, bias=conv_bias)
    return incre, downsamp, final


class GlobalPool(nn.Module):
    """Global average or max pooling to (N, C)."""

    def __init__(self, pool_type: str = "avg") -> None:
        super().__init__()
        if pool_type not in POOL_TYPES:
            raise ValueError(f"global_pool must be one of {list(POOL_TYPES)}, got {pool_type!r}")
        self.pool_type = pool_type

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.pool_type == "max":
            return torch.amax(x, dim=(2, 3))
        return x.mean(dim=(2, 3))
