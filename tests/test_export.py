"""Export round trips with dynamic sizes for every head: torch.export, ONNX (run in ONNX Runtime), TorchScript."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from conftest import max_rel_diff, randomize_norm_stats

import hrnet

HEADS = [None, "v1", "v1h", "v2", "v2p", "cls"]
# Sizes other than the traced one (batch 2, side 64, or 122 for V2p), odd ones included. 61 is the smallest side
# of a five-level V2p export: its 1/4 map, ceil(ceil(61 / 2) / 2) = 16, still holds the 16-wide window of level 4.
RUN_SIZES = [(1, 97, 131), (3, 61, 64)]
TOLERANCE = 1e-4


def as_list(out: torch.Tensor | list[torch.Tensor]) -> list[torch.Tensor]:
    return out if isinstance(out, list) else [out]


@pytest.fixture(scope="module")
def exported() -> dict:
    """head → (model, its exported program), each exported once for the whole module."""
    cache: dict = {}

    def get(head: str | None) -> tuple[hrnet.HRNet, torch.export.ExportedProgram]:
        if head not in cache:
            torch.manual_seed(0)
            model = randomize_norm_stats(hrnet.HRNet("w18_small", head=head)).eval()
            cache[head] = (model, hrnet.export_program(model))
        return cache[head]

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


def onnx_round_trip(path, x: torch.Tensor) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["x"]
    return session.run(None, {"x": x.numpy()})


@pytest.mark.parametrize("head", HEADS)
def test_onnx_runs_at_other_sizes(exported, head: str | None, tmp_path) -> None:
    model, program = exported(head)
    path = tmp_path / "model.onnx"
    hrnet.export_onnx(program, path)
    # The ONNX file declares batch, height and width symbolic (dim_param), channels fixed (dim_value).
    (graph_input,) = onnx.load(str(path)).graph.input
    dims = graph_input.type.tensor_type.shape.dim
    assert [bool(d.dim_param) for d in dims] == [True, False, True, True] and dims[1].dim_value == 3
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        outputs = onnx_round_trip(path, x)
        for out, ref in zip(outputs, reference(model, x), strict=True):
            assert out.shape == tuple(ref.shape) and max_rel_diff(torch.from_numpy(out), ref) <= TOLERANCE


def test_fused_model_exports_to_onnx(tmp_path) -> None:
    """The fused (channels-last) network exports too, through a contiguous copy."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2")).eval()
    fused = hrnet.fuse(model)
    path = tmp_path / "fused.onnx"
    hrnet.export_onnx(fused, path)
    assert fused.conv1.weight.is_contiguous(memory_format=torch.channels_last), "the fused model stays as it was"
    x = torch.randn(1, 3, 97, 131)
    (out,) = onnx_round_trip(path, x)
    assert max_rel_diff(torch.from_numpy(out), reference(model, x)[0]) <= TOLERANCE


@pytest.mark.parametrize("head", HEADS)
def test_fused_model_scripts(exported, head: str | None) -> None:
    model, _ = exported(head)
    scripted = torch.jit.script(hrnet.fuse(model))
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
