"""Export with dynamic batch, height and width: ``torch.export`` programs and ONNX files.

``export_program(model)`` traces ``model`` (an :class:`~hrnet.HRNet`, optimized for inference or not) with
``torch.export`` and symbolic batch / height / width; ``export_onnx(model, path)`` converts that program with
PyTorch's ONNX exporter (which needs the ``onnxscript`` package). Both then run at any size in the declared range.

Two limits come from the tracer, not from the network:

* ``torch.export`` specializes sizes equal to 1 unless it reasons "size-obliviously"; where PyTorch has that
  switch it is turned on here, so feature maps of one pixel are fine, otherwise every map must keep at least
  two pixels (sides ≥ 33 for the four branches).
* The V2p head pools level ``i`` with a ``2^i`` window, averaging the whole map when it is smaller than the
  window. An exported graph has one fixed window per level, so the 1/4 map must reach the largest window:
  sides ≥ ``2^(levels + 1) − 3`` (61 for five levels).

Memory layout is not part of an exported graph, and channels-last tensors of one pixel or one image are
ambiguous layouts that tracing would specialize on: a channels-last model (the default of
``hrnet.optimize_for_inference``) is exported from a contiguous copy. ``min_export_side(model)`` gives the
smallest side for a model; the exported program rejects smaller inputs with an error, an ONNX runtime does
not check, so keep to that range there.

``export_onnx`` traces the fusions in the order of :class:`BlockedOrderFusion`, which ONNX Runtime's CPU
layout optimizer keeps in its blocked (NCHWc) layout (fusions batched by ``hrnet.optimize_for_inference`` are
traced as they are), and names the input axes ``batch``, ``height`` and ``width``. Pinning them when the size
is known (ONNX Runtime: ``SessionOptions.add_free_dimension_override_by_name("height", 256)``) makes the graph
static for that session, which lets the runtime also upsample by constant factors and update sums in place.

``export_openvino(model, path)`` converts the ``torch.export`` program (plain fusion order: OpenVINO runs the
eager and blocked orders, and a model optimized for inference or not, equally fast) to an OpenVINO IR with
dynamic batch, height and width and fp32 weights. On CPUs with bf16 OpenVINO computes in bf16 unless compiled
with ``{"INFERENCE_PRECISION_HINT": "f32"}``.
"""

import contextlib
import copy
import os
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn
from torch.export import Dim, ExportedProgram

from .fast.rewrite import Rewrites, replace_modules
from .fusion import MultiResolutionFusion
from .heads import V2pHead
from .model import HRNet

if TYPE_CHECKING:
    import openvino

DEFAULT_MAX_SIDE = 8192
MAX_BATCH = 1024


def size_oblivious_patch() -> Optional[contextlib.AbstractContextManager]:
    """A context that makes ``torch.export`` reason size-obliviously about sizes of 1, or ``None`` where this
    PyTorch has no such switch."""
    try:
        from torch.fx.experimental import _config as fx_config

        return fx_config.patch(backed_size_oblivious=True)
    except (ImportError, AttributeError, KeyError):
        return None


def is_channels_last(model: HRNet) -> bool:
    """Whether the model's 3×3 stem weight is stored channels-last (the default of ``optimize_for_inference``)."""
    stem = model.conv1.weight
    return stem.is_contiguous(memory_format=torch.channels_last) and not stem.is_contiguous()


def map_sides(model: HRNet, side: int) -> list[int]:
    """Sides of the branch maps (each stride-2 step rounds up) and, for V2p, of the pooled levels."""
    sides, current = [], side
    for _ in range(2):  # stem
        current = (current + 1) // 2
    for i, stride in enumerate(model.branch_strides):
        if i > 0 and stride > model.branch_strides[i - 1]:
            current = (current + 1) // 2
        sides.append(current)
    if isinstance(model.head, V2pHead):
        sides += [sides[0] // (1 << level) for level in range(1, model.head.num_levels)]
    return sides


def min_export_side(model: HRNet, oblivious: Optional[bool] = None) -> int:
    """The smallest input height / width an export of ``model`` covers (see the module docstring)."""
    if oblivious is None:
        oblivious = size_oblivious_patch() is not None
    smallest_map = 1 if oblivious else 2
    side = 1
    while min(map_sides(model, side)) < smallest_map:
        side += 1
    if isinstance(model.head, V2pHead):  # one fixed pooling window per level: the 1/4 map must cover the largest
        side = max(side, 4 * ((1 << (model.head.num_levels - 1)) - 1) + 1)
    return side


def dynamic_shapes(model: HRNet, max_side: int = DEFAULT_MAX_SIDE, oblivious: Optional[bool] = None) -> Dict[str, Any]:
    """``dynamic_shapes`` for ``torch.export`` / ``torch.onnx.export``: symbolic batch, height and width."""
    low = min_export_side(model, oblivious)
    if max_side < low:
        raise ValueError(f"max_side must be >= {low} (the smallest side this model exports at), got {max_side}")
    return {
        "x": {
            0: Dim("batch", min=1, max=MAX_BATCH),
            2: Dim("height", min=low, max=max_side),
            3: Dim("width", min=low, max=max_side),
        }
    }


def example_input(model: HRNet, example: Optional[torch.Tensor]) -> torch.Tensor:
    """The tracing input: ``example`` if given, else zeros of batch 2 (batch 1 would be specialized) and side
    64 (or twice the smallest side), on the model's device and dtype."""
    if example is not None:
        model.check_input(example)
        return example
    reference = next(model.parameters())
    side = max(64, 2 * min_export_side(model))
    return torch.zeros(2, model.in_chans, side, side, device=reference.device, dtype=reference.dtype)


def identity_conv(x: torch.Tensor) -> torch.Tensor:
    """``x`` through a depthwise 1×1 convolution of weight 1: exactly ``x``, but a convolution, which a layout
    optimizer may feed from a plain tensor and fuse with the sum after it (see below)."""
    channels = x.shape[1]
    return F.conv2d(x, torch.ones(channels, 1, 1, 1, dtype=x.dtype, device=x.device), groups=channels)


class BlockedOrderFusion(nn.ModuleList):
    """A sum fusion (the same transforms, the same keys) summed for ONNX Runtime's CPU layout optimizer, which runs
    convolutions, sums and ReLUs in a blocked channel layout (NCHWc) and folds ``conv + sum (+ ReLU)`` into one
    convolution.

    Upsampling to the exact size of the target branch needs sizes computed at run time, which that optimizer
    leaves in the plain layout; summed source by source (the eager order), the plain upsampled terms pull
    the whole sum, its ReLU and the inputs of the next convolutions out of the blocked layout, with a layout
    copy at each boundary. Here output ``dst`` is ``relu(xs[dst] + Σ down + id(Σ up))``, summed over the
    sources: each down chain's last convolution accumulates the running sum; the upsampled terms are summed on
    their own, then go through :func:`identity_conv`, which takes them back into the blocked layout (one layout
    copy per output) and absorbs the running sum and the ReLU. The same terms as the eager forward, added in
    another order (equal up to float rounding).
    """

    def __init__(self, fusion: MultiResolutionFusion) -> None:
        super().__init__(list(fusion))

    def forward(self, xs: List[torch.Tensor]) -> List[torch.Tensor]:
        outputs: List[torch.Tensor] = []
        for dst, row in enumerate(self):
            size = [xs[dst].shape[-2], xs[dst].shape[-1]]
            total = row[dst](xs[dst], size)
            for src in range(dst):
                total = total + row[src](xs[src], size)
            upsampled: Optional[torch.Tensor] = None
            for src in range(dst + 1, len(row)):
                term = row[src](xs[src], size)
                upsampled = term if upsampled is None else upsampled + term
            if upsampled is not None:
                total = total + identity_conv(upsampled)
            outputs.append(F.relu(total))
        return outputs


# The rewrite ``blocked=True`` applies (through the same mechanism as ``optimize_for_inference``): product fusions
# (the §7 ablation) keep their own forward.
BLOCKED_REWRITES: Rewrites = {
    MultiResolutionFusion: lambda fusion: None if fusion.multiply else BlockedOrderFusion(fusion),
}


def export_program(
    model: HRNet,
    example: Optional[torch.Tensor] = None,
    max_side: int = DEFAULT_MAX_SIDE,
    blocked: bool = False,
) -> ExportedProgram:
    """``torch.export.export`` of ``model`` in eval mode with dynamic batch, height and width; ``blocked``
    traces a copy whose fusions are :class:`BlockedOrderFusion` (what :func:`export_onnx` does)."""
    if not isinstance(model, HRNet):
        raise ValueError(f"export_program expects an hrnet.HRNet, got {type(model).__name__}")
    if is_channels_last(model) or blocked:
        model = copy.deepcopy(model).to(memory_format=torch.contiguous_format)
    if blocked:
        replace_modules(model, BLOCKED_REWRITES)
    was_training = model.training
    model.eval()
    try:
        patch = size_oblivious_patch()
        with patch if patch is not None else contextlib.nullcontext():
            shapes = dynamic_shapes(model, max_side, oblivious=patch is not None)
            return torch.export.export(model, (example_input(model, example),), dynamic_shapes=shapes)
    finally:
        model.train(was_training)


def name_input_axes(onnx_program: "torch.onnx.ONNXProgram") -> None:
    """Rename the symbolic axes of input ``x`` (and the shape expressions that use them) to ``batch``,
    ``height`` and ``width``: the names a runtime is told to pin a size by."""
    if not hasattr(onnx_program, "rename_axes"):  # older PyTorch: the tracer's symbol names stay
        return
    shape = onnx_program.model.graph.inputs[0].shape
    names = {0: "batch", 2: "height", 3: "width"}
    symbols = {i: getattr(dim, "value", None) for i, dim in enumerate(shape)}  # static axes are plain ints
    mapping = {symbol: names[i] for i, symbol in symbols.items() if i in names and isinstance(symbol, str)}
    onnx_program.rename_axes(mapping)


def export_onnx(
    model: Union[HRNet, ExportedProgram],
    path: Union[str, "os.PathLike[str]"],
    example: Optional[torch.Tensor] = None,
    max_side: int = DEFAULT_MAX_SIDE,
    blocked: bool = True,
) -> "torch.onnx.ONNXProgram":
    """Write ``model`` (or a program from :func:`export_program`) to ``path`` as ONNX with dynamic batch,
    height and width (axes named ``batch``, ``height``, ``width``): input ``x``, outputs in the order of
    ``model(x)``. A model is traced with ``blocked`` fusions (see :class:`BlockedOrderFusion`; a program
    is converted as it is). Returns the ``ONNXProgram``. Needs the ``onnxscript`` package (PyTorch's
    exporter)."""
    if isinstance(model, ExportedProgram):
        program = model
    else:
        program = export_program(model, example, max_side, blocked=blocked)
    onnx_program = torch.onnx.export(program, dynamo=True, verbose=False)
    if onnx_program is None:
        raise RuntimeError("torch.onnx.export returned no program")
    name_input_axes(onnx_program)
    onnx_program.save(os.fspath(path))
    return onnx_program


def export_openvino(
    model: HRNet,
    path: Union[str, "os.PathLike[str]"],
    example: Optional[torch.Tensor] = None,
    max_side: int = DEFAULT_MAX_SIDE,
) -> "openvino.Model":
    """Write ``model`` (an :class:`~hrnet.HRNet`, optimized for inference or not) to ``path`` (``.xml``, weights
    in the ``.bin`` beside it, both overwritten) as an OpenVINO IR with dynamic batch, height and width: input
    ``x``, outputs in the order of ``model(x)``. Returns the ``openvino.Model``. Needs the ``openvino`` package.

    Weights stay fp32 (``openvino.save_model`` would compress them to fp16). The runtime picks its own precision:
    on CPUs with bf16 it computes in bf16 by default (``INFERENCE_PRECISION_HINT``); compile with
    ``{"INFERENCE_PRECISION_HINT": "f32"}`` to get PyTorch's numbers. Sides must be at least
    :func:`min_export_side` (61 for the V2p head), which OpenVINO does not check.
    """
    if not isinstance(model, HRNet):
        raise ValueError(f"export_openvino expects an hrnet.HRNet, got {type(model).__name__}")
    path = os.fspath(path)
    if not path.endswith(".xml"):
        raise ValueError(f"export_openvino writes an OpenVINO IR: path must end in .xml, got {path!r}")
    try:
        import openvino
    except ImportError as error:
        raise ImportError("export_openvino needs OpenVINO: pip install 'hrnet[openvino]'") from error
    ov_model = openvino.convert_model(export_program(model, example, max_side))
    x = ov_model.inputs[0]
    if "x" not in x.get_names():
        x.get_tensor().set_names({"x"} | x.get_names())
    shape = x.get_partial_shape()
    if not all(shape[axis].is_dynamic for axis in (0, 2, 3)):
        raise RuntimeError(f"OpenVINO made batch, height or width static: input shape {shape}")
    openvino.save_model(ov_model, path, compress_to_fp16=False)
    return ov_model
