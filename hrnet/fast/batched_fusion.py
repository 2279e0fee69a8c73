"""Batched fusion: a folded :class:`~hrnet.fusion.MultiResolutionFusion` computed source branch by source branch.

All the 1×1 up-projections that read one branch run as one convolution, and so do the first stride-2 3×3
convolutions of all the down chains that start at it; the outputs are split by channel. With nearest upsampling
and sizes that halve exactly from branch to branch, the upsampled terms are summed from the lowest resolution up,
one doubling at a time (``up4(a) + up2(b) = up2(up2(a) + b)``), so only one term is upsampled to each output's
full resolution. Indices follow :mod:`hrnet.fusion`: ``src`` is the paper's input index ``x``, ``dst`` its output
index ``r``.
"""

from typing import List, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..fusion import DownTransform, MultiResolutionFusion, UpTransform, resize
from .rewrite import frozen_conv


def stacked(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
    """One convolution computing all of ``convs`` (same input, kernel, stride), outputs concatenated by channel."""
    first = convs[0]
    geometry = (first.in_channels, first.kernel_size, first.stride, first.padding, first.dilation, first.groups)
    for conv in convs[1:]:
        if (conv.in_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) != geometry:
            raise ValueError(f"cannot stack {conv} with {first}: different input or geometry")
    biases = [c.bias if c.bias is not None else c.weight.new_zeros(c.out_channels) for c in convs]
    return frozen_conv(first, torch.cat([c.weight for c in convs]), torch.cat(biases))


class ReluConvChain(nn.Sequential):
    """The rest of a down chain after its (batched) first step: ``conv(relu(x))`` per remaining step."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv in self:
            x = conv(F.relu(x))
        return x


class FusionSource(nn.Module):
    """Everything one branch sends to the other outputs of a fusion, from at most two convolutions.

    ``up`` holds the 1×1 projections for every higher-resolution output (split by channel, in output order);
    ``down`` the first stride-2 step of every down chain (the last step towards the next output, the first
    step of the longer chains, which ``tails`` continue). For source branch ``src``, ``forward`` returns the
    terms for outputs ``0 … src-1`` (still at the source's resolution: the caller resizes them), then
    ``src+1 …``.
    """

    def __init__(
        self,
        up: nn.Conv2d | None,
        up_channels: List[int],
        down: nn.Conv2d | None,
        down_channels: List[int],
        tails: List[ReluConvChain],
    ) -> None:
        super().__init__()
        self.up = up
        self.up_channels = up_channels
        self.down = down
        self.down_channels = down_channels
        self.tails = nn.ModuleList(tails)

    def forward(self, branch: torch.Tensor) -> List[torch.Tensor]:
        terms: List[torch.Tensor] = []
        if self.up is not None:
            terms.extend(self.up(branch).split(self.up_channels, 1))
        if self.down is not None:
            steps = self.down(branch).split(self.down_channels, 1)
            terms.append(steps[0])
            for k, tail in enumerate(self.tails):
                terms.append(tail(steps[k + 1]))
        return terms


class BatchedFusion(nn.Module):
    """A folded :class:`MultiResolutionFusion` (sum, stride-2 conv downsampling) computed source by source."""

    def __init__(self, fusion: MultiResolutionFusion) -> None:
        super().__init__()
        rows = len(fusion)
        first_up = fusion[0][len(fusion[0]) - 1]
        self.mode = first_up.mode if isinstance(first_up, UpTransform) else "nearest"
        self.align_corners = first_up.align_corners if isinstance(first_up, UpTransform) else False
        self.rows = rows
        sources: list[FusionSource] = []
        for src in range(len(fusion[0])):
            ups = [fusion[dst][src].projection() for dst in range(min(src, rows))]
            chains = [fusion[dst][src].step_convs() for dst in range(src + 1, rows)]
            firsts = [chain[0] for chain in chains]
            tails = [ReluConvChain(*chain[1:]) for chain in chains[1:]]
            sources.append(
                FusionSource(
                    stacked(ups) if ups else None,
                    [conv.out_channels for conv in ups],
                    stacked(firsts) if firsts else None,
                    [conv.out_channels for conv in firsts],
                    tails,
                )
            )
        self.sources = nn.ModuleList(sources)

    @staticmethod
    def supports(fusion: MultiResolutionFusion) -> bool:
        """Batching covers the paper's fusion; the §7 ablations (product, bilinear downsampling) stay as folded."""
        downs = [t for row in fusion for t in row if isinstance(t, DownTransform)]
        return not fusion.multiply and all(t.mode == "conv" for t in downs)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        terms: List[List[torch.Tensor]] = []
        for src, source in enumerate(self.sources):
            terms.append(source(xs[src]))
        nested = self.mode == "nearest" and not tracing_graph() and halving_sizes(xs)
        outputs: List[torch.Tensor] = []
        for dst in range(self.rows):
            total = xs[dst]
            for src in range(dst):  # source src's terms are for outputs 0 … src-1, then src+1 …
                total = total + terms[src][dst - 1]
            if nested and dst + 1 < len(xs):
                # Each branch is exactly half the size of the one above, so nearest upsampling by 2^k is k
                # doublings: add the lower terms up from the lowest resolution, one doubling at a time.
                upper = terms[len(xs) - 1][dst]
                for src in range(len(xs) - 2, dst, -1):
                    upper = terms[src][dst] + resize(upper, [xs[src].shape[-2], xs[src].shape[-1]], "nearest")
                total = total + resize(upper, [xs[dst].shape[-2], xs[dst].shape[-1]], "nearest")
            else:
                size = [xs[dst].shape[-2], xs[dst].shape[-1]]
                for src in range(dst + 1, len(xs)):
                    total = total + resize(terms[src][dst], size, self.mode, self.align_corners)
            outputs.append(F.relu_(total))
        return outputs


def halving_sizes(xs: List[torch.Tensor]) -> bool:
    """Whether every branch map is exactly half the height and width of the one above (input sides divisible by
    ``2^(branches + 1)``): then nearest upsampling composes, and summing from the lowest resolution is exact."""
    for i in range(len(xs) - 1):
        if xs[i].shape[-2] != 2 * xs[i + 1].shape[-2] or xs[i].shape[-1] != 2 * xs[i + 1].shape[-1]:
            return False
    return True


def tracing_graph() -> bool:
    """True while ``torch.compile`` / ``torch.export`` trace: a graph with dynamic sizes must not depend on their
    divisibility (and compiled code fuses the additions anyway). TorchScript keeps the size check."""
    if torch.jit.is_scripting():
        return False
    return is_compiling()


@torch.jit.unused
def is_compiling() -> bool:
    return torch.compiler.is_compiling()


def batched_fusion(fusion: MultiResolutionFusion) -> BatchedFusion | None:
    """The rewrite of a folded fusion: batched where :meth:`BatchedFusion.supports` it, else kept (``None``)."""
    return BatchedFusion(fusion) if BatchedFusion.supports(fusion) else None
