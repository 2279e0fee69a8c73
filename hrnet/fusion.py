"""The multi-resolution fusion of §3.2 and its §7 ablation variants.

In the paper's notation, output ``r`` of a fusion is ``act(Σ_x f_xr(R_x))``, summed over the input resolution
indices ``x``. The code calls ``x`` the source branch ``src`` and ``r`` the destination ``dst`` (so that an
index never reads like a tensor); ``f_xr`` is

* identity for ``src = dst``;
* ``dst − src`` stride-2 3×3 conv + BN (ReLU between, none after the last) for ``src < dst``; the ablation
  ``downsample='bilinear'`` replaces them by a bilinear resize and a 1×1 conv + BN;
* 1×1 conv + BN, then an upsample for ``src > dst``.

Every resize goes to the exact size of the target branch (never a fixed scale factor), so any input
size works. ``op='mul'`` is the ablation that multiplies the transformed inputs instead of summing them.
"""

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .units import NormLayer, batch_norm, conv_norm, step_geometry

UPSAMPLE_MODES: tuple[str, ...] = ("nearest", "bilinear")
DOWNSAMPLE_MODES: tuple[str, ...] = ("conv", "bilinear")
FUSION_OPS: tuple[str, ...] = ("sum", "mul")


def check_choice(name: str, value: object, choices: tuple) -> None:
    """Raise a ``ValueError`` naming the valid values when ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")


def resize(x: torch.Tensor, size: List[int], mode: str, align_corners: bool = False) -> torch.Tensor:
    """Resize ``x`` to ``size`` (H, W); ``align_corners`` only applies to bilinear."""
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=align_corners)


class Keep(nn.Module):
    """``f_xr`` for ``src = dst``: the identity transform (no parameters, as in the official layout)."""

    def forward(self, x: torch.Tensor, size: List[int]) -> torch.Tensor:
        return x


class UpTransform(nn.Sequential):
    """``f_xr`` for a lower-resolution source (``src > dst``): 1×1 conv + BN (keys ``0``, ``1``), then upsample.

    ``by_factor`` first upsamples by the power of two between the branches, then resizes to the target
    when that differs (mmseg's order). It equals the direct resize whenever the input sides are multiples
    of 32 and differs slightly on other sizes.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        norm_layer: NormLayer,
        mode: str,
        align_corners: bool,
        factor: int = 2,
        by_factor: bool = False,
    ) -> None:
        super().__init__(*conv_norm(in_channels, out_channels, 1, norm_layer, relu=False))
        self.mode = mode
        self.align_corners = align_corners
        self.factor = factor
        self.by_factor = by_factor

    def projection(self) -> nn.Conv2d:
        """The 1×1 convolution (what a rewrite of the fusion reads, instead of knowing the layout's keys)."""
        return self[0]

    def forward(self, x: torch.Tensor, size: List[int]) -> torch.Tensor:
        for layer in self:
            x = layer(x)
        if self.by_factor:
            x = resize(x, [x.shape[-2] * self.factor, x.shape[-1] * self.factor], self.mode, self.align_corners)
            if x.shape[-2] == size[0] and x.shape[-1] == size[1]:
                return x
        return resize(x, size, self.mode, self.align_corners)


class DownTransform(nn.Sequential):
    """``f_xr`` for a higher-resolution source (``src < dst``): a chain of stride-2 3×3 conv + BN (+ ReLU but the last).

    Keys are ``k.0`` (conv) and ``k.1`` (BN) for step ``k``, the layout of the official code. With
    ``mode='bilinear'`` (the §7 ablation) the input is resized and projected by one 1×1 conv + BN instead.
    ``dilations`` (per branch, from the source on) turn the steps into a lower branch that keeps the
    resolution into stride-1 dilated convs (output stride 8 / 16).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        steps: int,
        norm_layer: NormLayer,
        mode: str = "conv",
        align_corners: bool = False,
        dilations: Optional[Sequence[int]] = None,
    ) -> None:
        dilations = list(dilations or [1] * (steps + 1))
        if mode == "conv":
            chain = []
            for k in range(steps):
                last = k == steps - 1
                stride, dilation = step_geometry(dilations, k)
                width = out_channels if last else in_channels
                chain.append(conv_norm(in_channels, width, 3, norm_layer, stride, not last, dilation))
        else:
            chain = [conv_norm(in_channels, out_channels, 1, norm_layer, relu=False)]
        super().__init__(*chain)
        self.mode = mode
        self.align_corners = align_corners

    def step_convs(self) -> List[nn.Conv2d]:
        """The convolution of each step, from the source on (what a rewrite of the fusion reads)."""
        return [step[0] for step in self]

    def forward(self, x: torch.Tensor, size: List[int]) -> torch.Tensor:
        if self.mode != "conv":
            x = resize(x, size, "bilinear", self.align_corners)
        for layer in self:
            x = layer(x)
        return x


class MultiResolutionFusion(nn.ModuleList):
    """The fusion of one module: ``self[dst][src]`` is ``f_xr`` (``x = src``, ``r = dst``), the official
    ``fuse_layers.{dst}.{src}`` layout.

    ``num_outputs`` is the number of fused outputs, from the highest resolution down (1 for the last
    module of the pose network, which fuses only into the high-resolution output).
    """

    def __init__(
        self,
        channels: List[int],
        num_outputs: int | None = None,
        norm_layer: NormLayer | None = None,
        upsample: str = "nearest",
        downsample: str = "conv",
        op: str = "sum",
        align_corners: bool = False,
        upsample_by_factor: bool = False,
        dilations: Optional[Sequence[int]] = None,
    ) -> None:
        check_choice("upsample", upsample, UPSAMPLE_MODES)
        check_choice("downsample", downsample, DOWNSAMPLE_MODES)
        check_choice("op", op, FUSION_OPS)
        norm_layer = norm_layer or batch_norm
        num_outputs = len(channels) if num_outputs is None else num_outputs
        dilations = list(dilations or [1] * len(channels))
        strides = [2**i // d for i, d in enumerate(dilations)]  # relative to branch 0
        rows = []
        for dst in range(num_outputs):
            row: list[nn.Module] = []
            for src, in_channels in enumerate(channels):
                if src == dst:
                    row.append(Keep())
                elif src > dst:
                    row.append(
                        UpTransform(
                            in_channels,
                            channels[dst],
                            norm_layer,
                            upsample,
                            align_corners,
                            strides[src] // strides[dst],
                            upsample_by_factor,
                        )
                    )
                else:
                    steps, chain_dilations = dst - src, dilations[src : dst + 1]
                    row.append(
                        DownTransform(
                            in_channels, channels[dst], steps, norm_layer, downsample, align_corners, chain_dilations
                        )
                    )
            rows.append(nn.ModuleList(row))
        super().__init__(rows)
        self.multiply = op == "mul"

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        outputs: List[torch.Tensor] = []
        for dst, row in enumerate(self):
            size = [xs[dst].shape[-2], xs[dst].shape[-1]]
            terms: List[torch.Tensor] = []
            for src, transform in enumerate(row):
                terms.append(transform(xs[src], size))
            fused = terms[0]
            for term in terms[1:]:
                fused = fused * term if self.multiply else fused + term
            outputs.append(F.relu(fused))
        return outputs
