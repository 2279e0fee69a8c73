"""#Params and GFLOPs counted the way the paper's tables count them.

The HRNet papers' numbers come from a forward-hook summary over one batch-1 image: multiply-adds of the
convolution and linear weights at every output position (``weight.numel() × H_out × W_out``; no bias, no
BN, no pooling, no interpolation), divided by 1024³, and the parameters of the convolution, BN and linear
layers. Counting through hooks on a real forward pass means only the layers that actually run are
counted, whatever the module tree holds. The network may live on the ``meta`` device: then the pass is
shape-only and costs nothing, with identical counts.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd

GIGA = 1024**3  # the paper's "G": binary, as in the official summary code
MEGA = 10**6  # the paper's "M" for #Params
COUNTED_LAYERS = (_ConvNd, _BatchNorm, nn.Linear)


def multiply_adds(module: nn.Module, output: torch.Tensor) -> int:
    """Multiply-adds of one call of a conv or linear layer (batch 1): weight size × output positions."""
    if isinstance(module, _ConvNd):
        return module.weight.numel() * math.prod(output.shape[2:])
    if isinstance(module, nn.Linear):
        return module.weight.numel() * (output.numel() // module.out_features)
    return 0


def infer_in_chans(model: nn.Module) -> int:
    """Input channels: the model's ``in_chans`` attribute, else the first convolution's input width."""
    in_chans = getattr(model, "in_chans", None)
    if isinstance(in_chans, int):
        return in_chans
    for module in model.modules():
        if isinstance(module, _ConvNd):
            return module.in_channels
    raise ValueError("cannot infer the input channels: pass in_chans (the model has no in_chans and no convolution)")


def check_size(size: Sequence[int]) -> tuple[int, int]:
    if (
        not isinstance(size, Sequence)
        or len(size) != 2
        or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size)
    ):
        raise ValueError(f"size must be (H, W), two positive ints, got {size!r}")
    return int(size[0]), int(size[1])


def complexity(model: nn.Module, size: Sequence[int], in_chans: int | None = None) -> tuple[float, float]:
    """``(#Params in millions, GFLOPs)`` of ``model`` on one ``size = (H, W)`` image, the paper's convention.

    Parameters are those of the Conv / BN / Linear layers that run in the forward pass (each layer once);
    GFLOPs are their multiply-adds per call, in units of 1024³. The model is put in eval mode for the
    count and restored afterwards; the input is zeros on the model's device and dtype.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    height, width = check_size(size)
    channels = infer_in_chans(model) if in_chans is None else in_chans
    if not isinstance(channels, int) or channels < 1:
        raise ValueError(f"in_chans must be a positive int, got {channels!r}")
    reference = next(model.parameters(), None)
    device = reference.device if reference is not None else torch.device("cpu")
    dtype = reference.dtype if reference is not None and reference.is_floating_point() else torch.float32

    ran: dict[int, nn.Module] = {}
    flops = 0

    def count(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        nonlocal flops
        ran[id(module)] = module
        flops += multiply_adds(module, output)

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, COUNTED_LAYERS)]
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(torch.zeros(1, channels, height, width, device=device, dtype=dtype))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    unique = {id(p): p.numel() for m in ran.values() for p in m.parameters(recurse=False)}  # tied weights once
    params = sum(unique.values())
    return params / MEGA, flops / GIGA
