"""Export round trips with dynamic sizes for every head: torch.export, ONNX (run in ONNX Runtime), TorchScript."""

from __future__ import annotations

import pytest
import torch
from helpers import HAS_ONNX, as_list, max_rel_diff, needs_onnx, randomize_norm_stats

import hrnet
from hrnet.fusion import MultiResolutionFusion

if HAS_ONNX:  # else the ONNX tests (marked needs_onnx) skip; torch.export and TorchScript tests run on the core
    import numpy as np
    import onnx
    import onnxruntime

HEADS = [None, "v1", "v1h", "v2", "v2p", "cls"]
# Sizes other than the traced one (batch 2, side 64, or 122 for V2p), odd ones included. 61 is the smallest side
# of a five-level V2p export: its 1/4 map, ceil(ceil(61 / 2) / 2) = 16, still holds the 16-wide window of level 4.
RUN_SIZES = [(1, 97, 131), (3, 61, 64)]
TOLERANCE = 1e-4


@pytest.fixture(scope="module")
def exported() -> dict:
    """(head, blocked) → (model, its exported program), each exported once for the whole module."""
    cache: dict = {}
    models: dict = {}

    def get(head: str | None, blocked: bool = False) -> tuple[hrnet.HRNet, torch.export.ExportedProgram]:
        if head not in models:
            torch.manual_seed(0)
            models[head] = randomize_norm_stats(hrnet.HRNet("w18_small", head=head)).eval()
        if (head, blocked) not in cache:
            cache[head, blocked] = (models[head], hrnet.export_program(models[head], blocked=blocked))
        return cache[head, blocked]

    return get


def reference(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return as_list(model(x))


@pytest.mark.parametrize("head", HEADS)
def test_torch_export_runs_at_other_sizes(exported, head: str | None) -> None:
    model, program = exported(head)
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        with torch.no_grad():
            ours = as_list(program.module()(x))
        for out, ref in zip(ours, reference(model, x), strict=True):
            assert out.shape == ref.shape and max_rel_diff(out, ref) <= TOLERANCE


def test_exported_v2p_refuses_maps_smaller_than_its_pooling_window(exported) -> None:
    """At side 60 the 1/4 map is 15 < 16: eager V2p averages it whole, which a fixed exported window cannot."""
    _, program = exported("v2p")
    with pytest.raises(AssertionError, match="Guard failed"):
        program.module()(torch.randn(1, 3, 60, 64))


def test_export_without_size_oblivious_tracing_keeps_maps_of_two_pixels(monkeypatch) -> None:
    """Where PyTorch has no size-oblivious switch (a private fx setting, probed by what exists), export still
    works, over the range that tracing then covers: every map at least two pixels, sides >= 33 for four branches."""
    import hrnet.export as export

    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small")).eval()
    assert export.min_export_side(model, oblivious=True) == 1
    monkeypatch.setattr(export, "size_oblivious_patch", lambda: None)
    assert export.min_export_side(model) == 33
    program = hrnet.export_program(model)
    for b, h, w in [(1, 33, 47), (2, 97, 64)]:
        x = torch.randn(b, 3, h, w)
        with torch.no_grad():
            for out, ref in zip(as_list(program.module()(x)), reference(model, x), strict=True):
                assert out.shape == ref.shape and max_rel_diff(out, ref) <= TOLERANCE
    with pytest.raises(Exception, match="33"):  # below the covered range the program refuses, naming it
        program.module()(torch.randn(1, 3, 32, 47))


def onnx_round_trip(path, x: torch.Tensor) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    return session.run(None, {"x": x.numpy()})


@needs_onnx
@pytest.mark.parametrize("head", HEADS)
def test_onnx_runs_at_other_sizes(exported, head: str | None, tmp_path) -> None:
    """The program export_onnx makes from a model: fusions traced blocked (see the next tests)."""
    model, program = exported(head, blocked=True)
    path = tmp_path / "model.onnx"
    hrnet.export_onnx(program, path)
    # The ONNX file declares batch, height and width symbolic and named (dim_param), channels fixed (dim_value).
    (graph_input,) = onnx.load(str(path)).graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert [d.dim_param for d in dims] == ["batch", "", "height", "width"] and dims[1].dim_value == 3
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        outputs = onnx_round_trip(path, x)
        for out, ref in zip(outputs, reference(model, x), strict=True):
            assert out.shape == tuple(ref.shape) and max_rel_diff(torch.from_numpy(out), ref) <= TOLERANCE


def upsampled_sums(graph: onnx.GraphProto) -> tuple[list[str], list[str]]:
    """Where the upsampled fusion terms go: (the op types consuming a sum of upsampled terms, the Add nodes
    that mix an upsampled term with anything else). A sum of upsampled terms is a nearest Resize output or an
    Add of such sums only."""
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    upsampled: set[str] = set()
    for node in graph.node:  # topological order
        mode = next((a.s for a in node.attribute if a.name == "mode"), b"nearest")
        nearest = node.op_type == "Resize" and mode == b"nearest"
        if nearest or (node.op_type == "Add" and all(name in upsampled for name in node.input)):
            upsampled.add(node.output[0])
    mixed = [n.name for n in graph.node if n.op_type == "Add" and 0 < sum(i in upsampled for i in n.input) < 2]
    ends = [n.op_type for name in upsampled for n in consumers.get(name, []) if n.output[0] not in upsampled]
    return ends, mixed


@needs_onnx
def test_onnx_sums_upsampled_terms_through_one_identity_conv(exported, tmp_path) -> None:
    """ONNX Runtime's CPU layout optimizer leaves a resize to run-time sizes in the plain layout; a blocked
    export sums the upsampled terms of each fusion output on their own and passes them through one identity
    depthwise convolution, so no sum mixes them with blocked terms. The eager order (plain export) does."""
    model, plain = exported(None)
    _, blocked = exported(None, blocked=True)
    assert all("forward" not in vars(m) for m in model.modules()), "the model's forwards are restored"
    graphs = {}
    for name, program in (("plain", plain), ("blocked", blocked)):
        hrnet.export_onnx(program, tmp_path / f"{name}.onnx")
        graphs[name] = onnx.load(str(tmp_path / f"{name}.onnx")).graph
    ends, mixed = upsampled_sums(graphs["blocked"])
    fusions = [m for m in model.modules() if isinstance(m, MultiResolutionFusion)]
    rows_with_ups = sum(r < len(row) - 1 for fusion in fusions for r, row in enumerate(fusion))
    assert not mixed and ends == ["Conv"] * rows_with_ups
    weights = {t.name: t for t in graphs["blocked"].initializer}
    convs = [n for n in graphs["blocked"].node if n.op_type == "Conv"]
    identities = [n for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    assert len(identities) == rows_with_ups
    for conv in identities:
        assert np.all(onnx.numpy_helper.to_array(weights[conv.input[1]]) == 1)
    assert upsampled_sums(graphs["plain"])[1], "the eager order mixes them"


@needs_onnx
@pytest.mark.parametrize("options", [{"head": "cls"}, {"head": "v2", "upsample": "bilinear"}])
def test_blocked_onnx_export_equals_eager(options: dict, tmp_path) -> None:
    """export_onnx straight from a model, bilinear fusions included, at odd sizes."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", **options)).eval()
    path = tmp_path / "model.onnx"
    hrnet.export_onnx(model, path)
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        for out, ref in zip(onnx_round_trip(path, x), reference(model, x), strict=True):
            assert out.shape == tuple(ref.shape) and max_rel_diff(torch.from_numpy(out), ref) <= TOLERANCE


@needs_onnx
def test_fused_model_exports_to_onnx(tmp_path) -> None:
    """The fused (channels-last) network exports too, through a contiguous copy."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2")).eval()
    fused = hrnet.optimize_for_inference(model)
    path = tmp_path / "fused.onnx"
    hrnet.export_onnx(fused, path)
    assert fused.conv1.weight.is_contiguous(memory_format=torch.channels_last), "the fused model stays as it was"
    x = torch.randn(1, 3, 97, 131)
    (out,) = onnx_round_trip(path, x)
    assert max_rel_diff(torch.from_numpy(out), reference(model, x)[0]) <= TOLERANCE


@pytest.mark.parametrize("head", HEADS)
def test_fused_model_scripts(exported, head: str | None) -> None:
    model, _ = exported(head)
    scripted = torch.jit.script(hrnet.optimize_for_inference(model))
    x = torch.randn(2, 3, 97, 131)
    with torch.no_grad():
        ours = as_list(scripted(x))
    for out, ref in zip(ours, reference(model, x), strict=True):
        assert out.shape == ref.shape and max_rel_diff(out, ref) <= TOLERANCE


def test_export_rejects_bad_input() -> None:
    model = hrnet.HRNet("w18_small", head="v2p")
    with pytest.raises(ValueError, match="hrnet.HRNet"):
        hrnet.export_program(torch.nn.Conv2d(3, 3, 1))
    with pytest.raises(ValueError, match="max_side must be >= 61"):
        hrnet.export_program(model, max_side=32)
    with pytest.raises(ValueError, match="4-D"):
        hrnet.export_program(model, example=torch.zeros(3, 64, 64))


@pytest.mark.parametrize("output_stride", [16, 8])
def test_output_stride_exports_at_other_sizes(output_stride: int) -> None:
    """Dilated lowest branches (output stride 16 / 8), optimized for inference, export with dynamic sizes."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2", output_stride=output_stride)).eval()
    program = hrnet.export_program(hrnet.optimize_for_inference(model))
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        with torch.no_grad():
            (ours,), (ref,) = as_list(program.module()(x)), reference(model, x)
        assert ours.shape == ref.shape and max_rel_diff(ours, ref) <= TOLERANCE
