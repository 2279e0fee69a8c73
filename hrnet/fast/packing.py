"""Packed oneDNN convolutions: every convolution of a folded network becomes a :class:`PackedConv2d`, which on CPU
calls oneDNN directly with its weight reordered once into oneDNN's blocked layout (instead of on every call) and
applies the ReLU that follows it — and, at the end of each residual unit, the shortcut addition and ReLU — inside
the convolution instead of as separate passes over the feature map. PyTorch otherwise sends 1×1 convolutions at
batch < 16 on one thread, and small 3×3 maps at batch 1, to its slower reference kernel.

The packed route calls private PyTorch operators (the ones ``torch.compile`` uses on CPU). Whether they exist, and
whether this CPU runs bfloat16 convolutions natively, is probed on the first packed call (:func:`packed_dtypes`),
not at import; where a piece is missing, the same modules run ordinary convolutions.
"""

import functools
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..units import BasicUnit, BottleneckUnit, ResidualUnit
from .rewrite import Rewrites, replace_modules


def onednn_pointwise_available() -> bool:
    """Whether this PyTorch has every private piece the packed route calls: oneDNN's fused convolution op (the
    one ``torch.compile`` uses on CPU) with its ``binary`` overload, and the weight reorder. Probed by what
    exists, not by version; where any is missing, :class:`PackedConv2d` runs ordinary convolutions."""
    try:
        pointwise = torch.ops.mkldnn._convolution_pointwise
        return (
            torch.backends.mkldnn.is_available()
            and hasattr(pointwise, "binary")
            and hasattr(torch._C._nn, "mkldnn_reorder_conv2d_weight")
        )
    except (AttributeError, RuntimeError):
        return False


def onednn_bfloat16_available() -> bool:
    """Whether oneDNN runs bfloat16 convolutions natively on this CPU (AVX-512 BF16 / AMX); elsewhere it would
    emulate them, slower than float32, so bfloat16 convolutions stay ordinary ones there."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@functools.cache
def packed_dtypes() -> Tuple[torch.dtype, ...]:
    """The dtypes the packed route serves in this process (probed once, on first use): float32, and bfloat16 where
    the CPU has bfloat16 instructions; none where this PyTorch lacks a piece of the route."""
    if not onednn_pointwise_available():
        return ()
    return (torch.float32, torch.bfloat16) if onednn_bfloat16_available() else (torch.float32,)


class PackedConv2d(nn.Conv2d):
    """A frozen ``nn.Conv2d`` (optionally followed by ReLU) that runs as one oneDNN call on a pre-reordered weight.

    The dense ``weight`` / ``bias`` stay the module's parameters (same state dict, same semantics). On CPU in
    float32, outside autograd, tracing, scripting and compiling, ``forward`` calls oneDNN's fused convolution
    with the weight reordered once (on the first call, redone if the weight changes) and the ReLU applied
    inside, and given a ``shortcut``, also the residual addition before it. Everywhere else it computes the same
    thing with ``F.conv2d``. The packed route also serves bfloat16 (input and weight), on CPUs where oneDNN
    has bfloat16 instructions (:func:`packed_dtypes`). Weights and the maps it returns are channels-last
    (oneDNN's packed route produces that layout whatever the input's).
    """

    __jit_ignored_attributes__ = ["_geometry", "_packed", "_packed_key"]

    def __init__(self, conv: nn.Conv2d, relu: bool = False) -> None:
        if conv.padding_mode != "zeros" or isinstance(conv.padding, str):
            raise ValueError(f"PackedConv2d needs numeric zero padding, got {conv}")
        super().__init__(
            conv.in_channels,
            conv.out_channels,
            conv.kernel_size,
            conv.stride,
            conv.padding,
            conv.dilation,
            conv.groups,
            bias=conv.bias is not None,
            device=conv.weight.device,
            dtype=conv.weight.dtype,
        )
        self.weight = nn.Parameter(conv.weight.detach().clone(memory_format=torch.channels_last))
        if conv.bias is not None:
            self.bias = nn.Parameter(conv.bias.detach().clone())
        self.requires_grad_(False)
        self.relu = relu
        self._geometry = (list(self.padding), list(self.stride), list(self.dilation), self.groups)
        self._packed: Optional[torch.Tensor] = None
        self._packed_key = (0, -1)

    def extra_repr(self) -> str:
        return super().extra_repr() + (", relu=True" if self.relu else "")

    def __getstate__(self) -> Dict[str, Any]:  # the reordered weight is a cache: copies and pickles rebuild it
        state = super().__getstate__()
        state["_packed"] = None
        return state

    def forward(self, x: torch.Tensor, shortcut: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``conv(x)`` (then ReLU if ``relu``), or with a ``shortcut``: ``relu(conv(x) + shortcut)``, the end of
        a residual unit."""
        if not torch.jit.is_scripting() and self.packable(x):
            return self.run_packed(x, shortcut)
        y = self._conv_forward(x, self.weight, self.bias)
        if shortcut is not None:
            return F.relu_(y + shortcut)
        return F.relu_(y) if self.relu else y

    @torch.jit.unused
    def packable(self, x: torch.Tensor) -> bool:
        """Whether this call may take the oneDNN route (which neither records gradients nor traces): no
        tracing, compiling or autocast (checked first: tracers never reach the probe), no autograd, CPU, input
        and weight of one dtype in :func:`packed_dtypes`."""
        return (
            not torch.jit.is_tracing()
            and not torch.compiler.is_compiling()
            and not torch.is_autocast_enabled("cpu")
            and x.device.type == "cpu"
            and self.weight.device.type == "cpu"
            and not (x.requires_grad or self.weight.requires_grad)
            and x.dtype == self.weight.dtype
            and x.dtype in packed_dtypes()
        )

    @torch.jit.unused
    def run_packed(self, x: torch.Tensor, shortcut: Optional[torch.Tensor]) -> torch.Tensor:
        key = (self.weight.data_ptr(), self.weight._version)
        if self._packed is None or self._packed_key != key:
            self._packed = torch._C._nn.mkldnn_reorder_conv2d_weight(
                self.weight.to_mkldnn(), *self._geometry, list(x.shape)
            )
            self._packed_key = key
        x = x.contiguous(memory_format=torch.channels_last)
        if shortcut is None:
            return torch.ops.mkldnn._convolution_pointwise(
                x, self._packed, self.bias, *self._geometry, "relu" if self.relu else "none", [], ""
            )
        shortcut = shortcut.contiguous(memory_format=torch.channels_last)
        return torch.ops.mkldnn._convolution_pointwise.binary(
            x, shortcut, self._packed, self.bias, *self._geometry, "add", 1.0, "relu", [], ""
        )


class PackedUnit(nn.Module):
    """A folded residual unit on :class:`PackedConv2d`: each inner conv with its ReLU, the last one with the
    shortcut addition and the unit's ReLU, as one oneDNN call each. Keys stay the unit's (``conv1`` …,
    ``downsample.0``), so a packed model loads the unpacked optimized model's state dict."""

    def __init__(self, unit: ResidualUnit) -> None:
        super().__init__()
        bottleneck = isinstance(unit, BottleneckUnit)
        self.conv1 = PackedConv2d(unit.conv1, relu=True)
        self.conv2 = PackedConv2d(unit.conv2, relu=bottleneck)
        self.conv3: Optional[PackedConv2d] = PackedConv2d(unit.conv3) if bottleneck else None
        self.downsample: Optional[nn.Sequential] = None
        shortcut = unit.shortcut_conv()
        if shortcut is not None:
            self.downsample = nn.Sequential(PackedConv2d(shortcut))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x)
        x = self.conv1(x)
        if self.conv3 is None:
            return self.conv2(x, shortcut)
        return self.conv3(self.conv2(x), shortcut)


PACK_REWRITES: Rewrites = {BasicUnit: PackedUnit, BottleneckUnit: PackedUnit}
STEM_CONVS = ("conv1", "conv2")  # the trunk applies ReLU after these in its forward


def pack_convolutions(model: nn.Module) -> None:
    """In place, on a folded model: residual units become :class:`PackedUnit`; every folded
    ``conv → Identity → ReLU`` brick (``hrnet.units.conv_norm`` with ReLU) a ReLU-applying :class:`PackedConv2d`;
    every other ``nn.Conv2d`` a plain one."""
    replace_modules(model, PACK_REWRITES)
    for parent in list(model.modules()):
        if isinstance(parent, nn.Sequential) and len(parent) == 3:
            conv, norm, relu = list(parent)
            if type(conv) is nn.Conv2d and isinstance(norm, nn.Identity) and isinstance(relu, nn.ReLU):
                parent[0], parent[2] = PackedConv2d(conv, relu=True), nn.Identity()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d:  # the stem's ReLU applied twice (here and in forward) is exact
                stem = parent is model and name in STEM_CONVS
                setattr(parent, name, PackedConv2d(child, relu=stem))
