"""BatchNorm folding: every BatchNorm into the convolution before it, with its running statistics (what eval mode
computes), replaced by ``nn.Identity`` so that the state-dict keys of the convolutions stay where they were."""

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .rewrite import frozen_conv

NORM_TYPES = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


def folded_conv(conv: nn.Conv2d, norm: _BatchNorm) -> nn.Conv2d:
    """``conv`` followed by eval-mode ``norm`` as one convolution with bias (computed in float64, rounded once)."""
    scale = torch.rsqrt(norm.running_var.double() + norm.eps)
    shift = -norm.running_mean.double() * scale
    if norm.affine:
        shift = shift * norm.weight.double() + norm.bias.double()
        scale = scale * norm.weight.double()
    bias = conv.bias.double() * scale if conv.bias is not None else torch.zeros_like(scale)
    return frozen_conv(conv, conv.weight.double() * scale.view(-1, 1, 1, 1), bias + shift)


def fold_batch_norms(model: nn.Module) -> nn.Module:
    """In place: fold every BatchNorm into the convolution registered just before it in the same parent.

    That is where HRNet puts them (``conv1, bn1``, ``Sequential(conv, bn, relu)``, ...). Everything is checked
    before anything changes: any norm layer that cannot be folded raises ``ValueError`` naming it.
    """
    pairs = []
    for parent in model.modules():
        children = list(parent.named_children())
        for (conv_name, conv), (norm_name, norm) in zip(children, children[1:]):
            if isinstance(norm, _BatchNorm) and isinstance(conv, nn.Conv2d) and norm.num_features == conv.out_channels:
                pairs.append((parent, conv_name, norm_name))
    paired = {id(getattr(parent, norm_name)) for parent, _, norm_name in pairs}
    for name, module in model.named_modules():
        if isinstance(module, NORM_TYPES) and id(module) not in paired:
            raise ValueError(f"BatchNorm folding needs a Conv2d before each norm; cannot fold {name!r} ({module})")
        if isinstance(module, _BatchNorm) and (module.running_mean is None or module.running_var is None):
            raise ValueError(f"BatchNorm folding needs running statistics; {name!r} has none")
    for parent, conv_name, norm_name in pairs:
        setattr(parent, conv_name, folded_conv(getattr(parent, conv_name), getattr(parent, norm_name)))
        setattr(parent, norm_name, nn.Identity())
    return model
