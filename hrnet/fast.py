"""Inference fast path: ``hrnet.optimize_for_inference(model)`` rebuilds a trained HRNet as an equal network that
does less work (the name torch gives the same kind of rewrite: ``torch.jit.optimize_for_inference``).

The optimized model is an :class:`~hrnet.HRNet` with the same forward and outputs (equal to the eval-mode model up
to float rounding), built from a copy (or in place) by these steps, each measured in
``benchmarks/bench_speed.py``:

* **fold**: every BatchNorm is folded into the convolution before it, with its running statistics (what eval
  mode computes), and replaced by ``nn.Identity``;
* **batch** (``batch=True``): in every fusion, the 1×1 up-projections that read one branch run as one
  convolution, and so do the first stride-2 3×3 convolutions of all the down chains that start at that
  branch; the outputs are split by channels; with nearest upsampling and sizes that halve exactly from branch
  to branch, the upsampled terms are summed from the lowest resolution up, one doubling at a time (``up4(a)
  + up2(b) = up2(up2(a) + b)``), so only one term is upsampled to each output's full resolution;
* **commute** (also ``batch=True``): the 1×1 convolution after the V2 / V2p concatenation is linear, and so
  is the bilinear resize before it, so each branch is projected at its own resolution and resized after:
  15C → 15C at 1/4 becomes C, 2C, 4C, 8C → 15C at 1/4 … 1/32 (about 8× fewer multiply-adds in that layer);
* **channels-last** (``channels_last=True``): the convolution weights are stored channels-last, so every
  feature map (and each output) is channels-last, the layout oneDNN's CPU convolutions run fastest in;
* **pack** (``pack=True``, the default with channels-last): every convolution becomes a
  :class:`PackedConv2d`, which on CPU in float32 calls oneDNN directly with its weight reordered once into
  oneDNN's blocked layout (instead of on every call) and applies the ReLU that follows it — and, at the end of
  each residual unit, the shortcut addition and ReLU — inside the convolution instead of as separate passes
  over the feature map. PyTorch otherwise sends 1×1 convolutions at batch < 16 on one thread, and small 3×3
  maps at batch 1, to its slower reference kernel.
* **bfloat16** (``dtype=torch.bfloat16``): the folded weights are rounded to bfloat16 once and the network runs
  in bfloat16 inside (the packed oneDNN convolutions, their fused post-ops, the fusions' sums and resizes),
  with float32 in and out: the input is cast on entry and every output cast back to float32. On
  CPUs with bfloat16 instructions (AVX-512 BF16, AMX) oneDNN runs these convolutions at about twice the
  float32 rate; outputs stay within about 1 % relative L2 of float32 (tested: ≤ 2 % for every head).

The result is made of ``nn.Conv2d`` layers (:class:`PackedConv2d` is one) and the package's own containers: it
runs eagerly, under ``torch.compile``, ``torch.jit.script`` / ``trace`` and ``torch.export`` (where packed
convolutions run as ordinary ones). It is for inference only: there is no BatchNorm left to train, and its
parameters do not require gradients.
"""

import copy
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .fusion import DownTransform, MultiResolutionFusion, UpTransform, resize
from .heads import V2Head, V2pHead
from .model import HRNet
from .units import BasicUnit, BottleneckUnit, ResidualUnit

NORM_TYPES = (_BatchNorm, nn.GroupNorm, nn.LayerNorm, nn.modules.instancenorm._InstanceNorm)


# ------------------------------------------------------------------------------------------------ folding
def folded_conv(conv: nn.Conv2d, norm: _BatchNorm) -> nn.Conv2d:
    """``conv`` followed by eval-mode ``norm`` as one convolution with bias (computed in float64, rounded once)."""
    scale = torch.rsqrt(norm.running_var.double() + norm.eps)
    shift = -norm.running_mean.double() * scale
    if norm.affine:
        shift = shift * norm.weight.double() + norm.bias.double()
        scale = scale * norm.weight.double()
    bias = conv.bias.double() * scale if conv.bias is not None else torch.zeros_like(scale)
    return conv_with(conv, conv.weight.double() * scale.view(-1, 1, 1, 1), bias + shift)


def conv_with(like: nn.Conv2d, weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Conv2d:
    """A convolution with ``like``'s geometry, dtype and device and the given (frozen) weight and bias."""
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


def stacked(convs: Sequence[nn.Conv2d]) -> nn.Conv2d:
    """One convolution computing all of ``convs`` (same input, kernel, stride), outputs concatenated by channel."""
    first = convs[0]
    geometry = (first.in_channels, first.kernel_size, first.stride, first.padding, first.dilation, first.groups)
    for conv in convs[1:]:
        if (conv.in_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups) != geometry:
            raise ValueError(f"cannot stack {conv} with {first}: different input or geometry")
    biases = [c.bias if c.bias is not None else c.weight.new_zeros(c.out_channels) for c in convs]
    return conv_with(first, torch.cat([c.weight for c in convs]), torch.cat(biases))


# ------------------------------------------------------------------------------------------------ batched fusion
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
    step of the longer chains, which ``tails`` continue). For source branch ``x``, ``forward`` returns the
    terms for outputs ``0 … x-1`` (still at the source's resolution: the caller resizes them), then ``x+1 …``.
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

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        terms: List[torch.Tensor] = []
        if self.up is not None:
            terms.extend(self.up(x).split(self.up_channels, 1))
        if self.down is not None:
            steps = self.down(x).split(self.down_channels, 1)
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
        for x in range(len(fusion[0])):
            ups = [fusion[r][x][0] for r in range(min(x, rows))]
            chains = [fusion[r][x] for r in range(x + 1, rows)]
            firsts = [chain[0][0] for chain in chains]
            tails = [ReluConvChain(*[step[0] for step in list(chain)[1:]]) for chain in chains[1:]]
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
        for x, source in enumerate(self.sources):
            terms.append(source(xs[x]))
        nested = self.mode == "nearest" and not tracing_graph() and halving_sizes(xs)
        outputs: List[torch.Tensor] = []
        for r in range(self.rows):
            total = xs[r]
            for x in range(r):  # source x's terms are for outputs 0 … x-1, then x+1 …
                total = total + terms[x][r - 1]
            if nested and r + 1 < len(xs):
                # Each branch is exactly half the size of the one above, so nearest upsampling by 2^k is k
                # doublings: add the lower terms up from the lowest resolution, one doubling at a time.
                upper = terms[len(xs) - 1][r]
                for x in range(len(xs) - 2, r, -1):
                    upper = terms[x][r] + resize(upper, [xs[x].shape[-2], xs[x].shape[-1]], "nearest")
                total = total + resize(upper, [xs[r].shape[-2], xs[r].shape[-1]], "nearest")
            else:
                size = [xs[r].shape[-2], xs[r].shape[-1]]
                for x in range(r + 1, len(xs)):
                    total = total + resize(terms[x][r], size, self.mode, self.align_corners)
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


# ------------------------------------------------------------------------------------------------ commuted heads
class BranchProjection(nn.ModuleList):
    """A 1×1 conv over the concatenation of bilinearly resized branches, computed as one 1×1 conv per branch at
    the branch's own resolution, then resized and summed: ``conv0(x0) + Σ resize(conv_i(x_i))``. Both steps are
    linear (bilinear weights sum to one, so the bias, kept with the first conv, commutes too)."""

    def __init__(self, proj: nn.Conv2d, widths: Sequence[int], align_corners: bool) -> None:
        convs, start = [], 0
        for index, width in enumerate(widths):
            weight = proj.weight[:, start : start + width]
            convs.append(conv_with(proj, weight, proj.bias if index == 0 and proj.bias is not None else None))
            start += width
        super().__init__(convs)
        self.align_corners = align_corners

    def forward(self, xs: List[torch.Tensor]) -> torch.Tensor:
        size = [xs[0].shape[-2], xs[0].shape[-1]]
        total = torch.empty(0)
        for i, conv in enumerate(self):
            if i == 0:
                total = conv(xs[0])
            else:
                total = total + resize(conv(xs[i]), size, "bilinear", self.align_corners)
        return total


class CommutedV2Head(nn.Module):
    """HRNetV2 with its 1×1 conv + BN (folded) applied per branch before the bilinear resize."""

    def __init__(self, head: V2Head) -> None:
        super().__init__()
        self.out_channels = head.out_channels
        self.project = BranchProjection(head.proj[0], head.in_channels, head.align_corners)

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return [F.relu_(self.project(xs))]


class CommutedV2pHead(V2pHead):
    """HRNetV2p with its 1×1 reduction applied per branch before the bilinear resize; same pyramid."""

    def __init__(self, head: V2pHead) -> None:
        nn.Module.__init__(self)
        self.in_channels = head.in_channels
        self.out_channels = head.out_channels
        self.num_levels = head.num_levels
        self.align_corners = head.align_corners
        self.project = BranchProjection(head.reduction_conv, head.in_channels, head.align_corners)
        self.fpn_convs = head.fpn_convs

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        return self.pyramid(self.project(xs))


# ------------------------------------------------------------------------------------------------ packed oneDNN
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


class PackedConv2d(nn.Conv2d):
    """A frozen ``nn.Conv2d`` (optionally followed by ReLU) that runs as one oneDNN call on a pre-reordered weight.

    The dense ``weight`` / ``bias`` stay the module's parameters (same state dict, same semantics). On CPU in
    float32, outside autograd, tracing, scripting and compiling, ``forward`` calls oneDNN's fused convolution
    with the weight reordered once (on the first call, redone if the weight changes) and the ReLU applied
    inside, and given a ``shortcut``, also the residual addition before it. Everywhere else it computes the same
    thing with ``F.conv2d``. The packed route also serves bfloat16 (input and weight), on CPUs where oneDNN
    has bfloat16 instructions (``PACKED_DTYPES``). Weights and the maps it returns are channels-last (oneDNN's
    packed route produces that layout whatever the input's).
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
        """Whether this call may take the oneDNN route (which neither records gradients nor traces): CPU,
        input and weight of one dtype in ``PACKED_DTYPES``, no autograd, tracing, compiling or autocast."""
        return (
            x.device.type == "cpu"
            and x.dtype == self.weight.dtype
            and x.dtype in PACKED_DTYPES
            and self.weight.device.type == "cpu"
            and not (x.requires_grad or self.weight.requires_grad)
            and not torch.jit.is_tracing()
            and not torch.compiler.is_compiling()
            and not torch.is_autocast_enabled("cpu")
            and ONEDNN_POINTWISE
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


def onednn_bfloat16_available() -> bool:
    """Whether oneDNN runs bfloat16 convolutions natively on this CPU (AVX-512 BF16 / AMX); elsewhere it would
    emulate them, slower than float32, so bfloat16 convolutions stay ordinary ones there."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


ONEDNN_POINTWISE = onednn_pointwise_available()
PACKED_DTYPES = (torch.float32, torch.bfloat16) if onednn_bfloat16_available() else (torch.float32,)


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
        if unit.downsample is not None:
            self.downsample = nn.Sequential(PackedConv2d(unit.downsample[0]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if self.downsample is not None:
            shortcut = self.downsample(x)
        x = self.conv1(x)
        if self.conv3 is None:
            return self.conv2(x, shortcut)
        return self.conv3(self.conv2(x), shortcut)


def pack_convolutions(model: nn.Module) -> None:
    """In place, on a folded model: residual units become :class:`PackedUnit`; every ``conv → Identity → ReLU``
    sequence a ReLU-applying :class:`PackedConv2d`; every other ``nn.Conv2d`` a plain one."""
    replace_modules(model, PACK_REWRITES)
    for parent in list(model.modules()):
        if isinstance(parent, nn.Sequential) and len(parent) == 3:
            conv, norm, relu = list(parent)
            if type(conv) is nn.Conv2d and isinstance(norm, nn.Identity) and isinstance(relu, nn.ReLU):
                parent[0], parent[2] = PackedConv2d(conv, relu=True), nn.Identity()
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if type(child) is nn.Conv2d:  # the stem's convs are followed by ReLU in forward: applying it twice is exact
                stem = parent is model and name in ("conv1", "conv2")
                setattr(parent, name, PackedConv2d(child, relu=stem))


# ------------------------------------------------------------------------------------------------ rewrites
Rewrite = Callable[[nn.Module], Optional[nn.Module]]  # a folded core module → its replacement (None: keep it)

# One table from core module type to its rewrite: only these exact types are rewritten (a subclass may have
# changed what its forward computes), so rewriting a rewritten model changes nothing.
BATCH_REWRITES: Dict[type, Rewrite] = {
    MultiResolutionFusion: lambda fusion: BatchedFusion(fusion) if BatchedFusion.supports(fusion) else None,
    V2Head: CommutedV2Head,
    V2pHead: CommutedV2pHead,
}
PACK_REWRITES: Dict[type, Rewrite] = {BasicUnit: PackedUnit, BottleneckUnit: PackedUnit}


def replace_modules(model: nn.Module, rewrites: Dict[type, Rewrite]) -> None:
    """In place: every submodule whose exact type has a rewrite is replaced by what the rewrite returns."""
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            rewrite = rewrites.get(type(child))
            replacement = rewrite(child) if rewrite is not None else None
            if replacement is not None:
                setattr(parent, name, replacement)


# ------------------------------------------------------------------------------------------------ compute dtype
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


def set_compute_dtype(model: HRNet, dtype: torch.dtype) -> None:
    """In place: weights in ``dtype``. For bfloat16, a cast at the model's input and back to float32 at its
    outputs, so callers keep feeding and receiving float32 (as forward hooks: no module's forward changes);
    for float32 / float64 none (a second call never stacks casts, and removes them for those dtypes)."""
    model.to(dtype)
    for hooks, hook in ((model._forward_pre_hooks, cast_input), (model._forward_hooks, cast_outputs)):
        for key in [key for key, value in hooks.items() if value is hook]:
            del hooks[key]
    if dtype == torch.bfloat16:
        model.register_forward_pre_hook(cast_input)
        model.register_forward_hook(cast_outputs)


# ------------------------------------------------------------------------------------------------ entry point
def optimize_for_inference(
    model: HRNet,
    *,
    dtype: Optional[torch.dtype] = None,
    batch: bool = True,
    channels_last: bool = True,
    pack: Optional[bool] = None,
    inplace: bool = False,
) -> HRNet:
    """The inference fast path of a trained ``model``: BatchNorm folded, fusions batched, V2 / V2p heads
    commuted, channels-last weights, packed oneDNN convolutions (see the module docstring). Outputs equal
    ``model.eval()``'s up to float rounding; the result is in eval mode and its parameters do not require
    gradients.

    ``dtype=torch.bfloat16`` computes in bfloat16 with float32 in and out (see the module docstring); ``None``
    keeps the model's dtype. ``batch=False`` keeps the core's fusion and head modules; ``channels_last=False``
    keeps the contiguous layout; ``pack=False`` keeps ordinary ``nn.Conv2d`` layers (packing needs
    channels-last, the layout oneDNN's packed convolutions produce, and is on by default with it);
    ``inplace=True`` rewrites ``model`` itself instead of a copy.
    """
    if not isinstance(model, HRNet):
        raise ValueError(f"optimize_for_inference expects an hrnet.HRNet, got {type(model).__name__}")
    if dtype is not None and dtype not in COMPUTE_DTYPES:
        raise ValueError(f"dtype must be one of {COMPUTE_DTYPES} or None (the model's), got {dtype}")
    if pack is None:
        pack = channels_last
    if pack and not channels_last:
        raise ValueError("pack=True needs channels_last=True: packed oneDNN convolutions run channels-last")
    optimized = model if inplace else copy.deepcopy(model)
    fold_batch_norms(optimized)
    optimized.eval().requires_grad_(False)
    if batch:
        replace_modules(optimized, BATCH_REWRITES)
    if dtype is not None:
        set_compute_dtype(optimized, dtype)
    if channels_last:
        optimized.to(memory_format=torch.channels_last)
    if pack:
        pack_convolutions(optimized)
    return optimized
