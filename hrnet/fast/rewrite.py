"""Rewriting a network module by module: the mechanism ``hrnet.optimize_for_inference`` and ``hrnet.export`` share.

A rewrite takes one core module (a fusion, a head, a residual unit) and returns the module that replaces it, built
from the core module's weights through the accessors the core offers (``UpTransform.projection``,
``DownTransform.step_convs``, ``V2Head.projection``, ``ResidualUnit.shortcut_conv``), never from a copy of its
forward. A table maps exact core types to their rewrites (a subclass may compute something else, so it is left as
it is, and rewriting a rewritten model changes nothing).
"""

from typing import Callable, Dict, Optional

import torch
from torch import nn

Rewrite = Callable[[nn.Module], Optional[nn.Module]]  # a core module → its replacement (None: keep it)
Rewrites = Dict[type, Rewrite]  # exact core type → its rewrite


def replace_modules(model: nn.Module, rewrites: Rewrites) -> None:
    """In place: every submodule whose exact type has a rewrite is replaced by what the rewrite returns."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            rewrite = rewrites.get(type(child))
            replacement = rewrite(child) if rewrite is not None else None
            if replacement is not None:
                setattr(parent, name, replacement)


def frozen_conv(like: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Conv2d:
    """A convolution with ``like``'s geometry, dtype and device and the given (frozen) weight and bias: what the
    rewrites build their convolutions from."""
    out_channels, in_channels = weight.shape[:2]
    conv = nn.Conv2d(
        in_channels,
        out_channels,
        like.kernel_size,
        like.stride,
        like.padding,
        like.dilation,
        like.groups,
        bias=bias is not None,
        padding_mode=like.padding_mode,
        device=like.weight.device,
        dtype=like.weight.dtype,
    )
    with torch.no_grad():
        conv.weight.copy_(weight)
        if bias is not None:
            conv.bias.copy_(bias)
    return conv.requires_grad_(False)
