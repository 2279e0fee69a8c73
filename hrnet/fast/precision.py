"""The compute dtype of an optimized network: weights in bfloat16 (or float32 / float64), and for bfloat16 a cast
at the model's input and back to float32 at its outputs, as forward hooks, so that callers keep feeding and
receiving float32 and no module's forward changes."""

from typing import Any

import torch
from torch import nn

COMPUTE_DTYPES = (torch.float32, torch.float64, torch.bfloat16)


def compute_dtype(model: nn.Module) -> torch.dtype:
    """The dtype the network computes in: its stem convolution's."""
    return model.conv1.weight.dtype  # type: ignore[union-attr]


def cast_input(model: nn.Module, args: tuple) -> tuple:
    """Forward pre-hook of a reduced-precision model: the input in the network's dtype."""
    return (args[0].to(compute_dtype(model)),) + tuple(args[1:])


def cast_outputs(model: nn.Module, args: tuple, output: Any) -> Any:
    """Forward hook of a reduced-precision model: every output in float32 (the hook sees the cast input)."""
    if isinstance(output, torch.Tensor):
        return output.float()
    return type(output)(o.float() for o in output)


def set_compute_dtype(model: nn.Module, dtype: torch.dtype) -> None:
    """In place: weights in ``dtype``. For bfloat16, a cast at the model's input and back to float32 at its
    outputs; for float32 / float64 none (a second call never stacks casts, and removes them for those dtypes)."""
    model.to(dtype)
    for hooks, hook in ((model._forward_pre_hooks, cast_input), (model._forward_hooks, cast_outputs)):
        for key in [key for key, value in hooks.items() if value is hook]:
            del hooks[key]
    if dtype == torch.bfloat16:
        model.register_forward_pre_hook(cast_input)
        model.register_forward_hook(cast_outputs)
