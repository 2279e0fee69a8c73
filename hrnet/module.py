"""``HighResolutionModule`` (parallel branches + fusion), stage transitions and stages."""

from typing import Any, List, Optional, Sequence

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from .fusion import MultiResolutionFusion
from .units import UNITS, NormLayer, batch_norm, conv_norm, make_units, step_geometry


def run_units(units: nn.Sequential, x: torch.Tensor, checkpointed: bool) -> torch.Tensor:
    """Run a chain of residual units, recomputing each one in backward when ``checkpointed``."""
    for unit in units:
        x = checkpoint(unit, x, use_reentrant=False) if checkpointed else unit(x)
    return x


class HighResolutionModule(nn.Module):
    """Parallel multi-resolution branches of residual units followed by one fusion (§3.1, §3.2).

    ``num_outputs`` < number of branches keeps only the highest-resolution outputs (the pose network's
    last module fuses only into the high-resolution output). ``fuse=False`` skips the fusion (the §7
    ablation that keeps only some of the fusions); the branches then pass straight through.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        num_blocks: Sequence[int],
        num_channels: Sequence[int],
        block: str = "basic",
        num_outputs: int | None = None,
        fuse: bool = True,
        norm_layer: NormLayer = batch_norm,
        dilations: Optional[Sequence[int]] = None,
        **fusion_options: Any,
    ) -> None:
        """``fusion_options``: those of :class:`MultiResolutionFusion` (upsample, downsample, op, align_corners,
        upsample_by_factor)."""
        super().__init__()
        dilations = list(dilations or [1] * len(num_channels))
        if not len(in_channels) == len(num_blocks) == len(num_channels) == len(dilations):
            raise ValueError(
                f"in_channels {list(in_channels)}, num_blocks {list(num_blocks)} and num_channels "
                f"{list(num_channels)} (and dilations {dilations}) must have one entry per branch"
            )
        expansion = UNITS[block].expansion
        self.branches = nn.ModuleList(
            make_units(block, c_in, c, n, norm_layer, d)
            for c_in, n, c, d in zip(in_channels, num_blocks, num_channels, dilations)
        )
        self.out_channels = [c * expansion for c in num_channels]
        num_branches = len(num_channels)
        self.num_outputs = num_branches if num_outputs is None else num_outputs
        self.fuse_layers: MultiResolutionFusion | None = None
        if fuse and num_branches > 1:
            self.fuse_layers = MultiResolutionFusion(
                self.out_channels, self.num_outputs, norm_layer, dilations=dilations, **fusion_options
            )
        self.grad_checkpointing = False

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        if self.grad_checkpointing and not torch.jit.is_scripting() and torch.is_grad_enabled():
            return self._forward_checkpointed(xs)
        ys: List[torch.Tensor] = []
        for i, branch in enumerate(self.branches):
            ys.append(branch(xs[i]))
        if self.fuse_layers is None:
            return ys[: self.num_outputs]
        return self.fuse_layers(ys)

    @torch.jit.unused
    def _forward_checkpointed(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        ys = [run_units(branch, x, True) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return ys[: self.num_outputs]
        return list(checkpoint(lambda *t: tuple(self.fuse_layers(list(t))), *ys, use_reentrant=False))


class Transition(nn.ModuleList):
    """Between stages: adapt existing branches (3×3 conv when widths differ) and start new lower ones.

    A new branch ``i`` comes from the lowest existing branch through ``i + 1 - len(in_channels)``
    stride-2 3×3 conv + BN + ReLU steps (one in the standard network; more in the ablation that starts
    all four streams at once). Keys follow the official ``transition{n}.{i}.{k}`` layout. ``dilations``
    (per output branch) make the steps into a branch that keeps the resolution stride-1 and dilated.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        out_channels: Sequence[int],
        norm_layer: NormLayer,
        dilations: Optional[Sequence[int]] = None,
    ) -> None:
        layers: list[nn.Module] = []
        num_in = len(in_channels)
        dilations = list(dilations or [1] * len(out_channels))
        for i, c_out in enumerate(out_channels):
            if i < num_in:
                if in_channels[i] == c_out:
                    layers.append(nn.Identity())
                else:
                    layers.append(conv_norm(in_channels[i], c_out, 3, norm_layer, dilation=dilations[i]))
            else:
                chain = []
                for level in range(num_in - 1, i):
                    stride, dilation = step_geometry(dilations, level)
                    width = c_out if level == i - 1 else in_channels[-1]
                    chain.append(conv_norm(in_channels[-1], width, 3, norm_layer, stride, dilation=dilation))
                layers.append(nn.Sequential(*chain))
        super().__init__(layers)
        self.num_inputs = num_in

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        ys: List[torch.Tensor] = []
        for i, layer in enumerate(self):
            ys.append(layer(xs[i] if i < self.num_inputs else xs[-1]))
        return ys


class Stage(nn.Sequential):
    """A sequence of ``HighResolutionModule`` passing lists of branch maps (keys ``stage{n}.{m}``)."""

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        for module in self:
            xs = module(xs)
        return xs
