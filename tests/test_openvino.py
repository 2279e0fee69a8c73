"""OpenVINO export: the IR ``hrnet.export_openvino`` writes, read back from disk and compiled for the CPU with f32
precision, runs every head at sizes other than the traced one and gives PyTorch's outputs; its input is dynamic in
batch, height and width, its weights stay fp32, a model optimized for inference exports too, bad input is refused,
and OpenVINO's default precision (bf16 where the CPU has it) stays close to PyTorch."""

from __future__ import annotations

import sys

import pytest
import torch
from helpers import as_list, max_rel_diff, randomize_norm_stats, relative_l2

import hrnet

ov = pytest.importorskip("openvino", reason="needs OpenVINO: pip install -e '.[openvino]'")

HEADS = [None, "v1", "v1h", "v2", "v2p", "cls"]
# Sizes other than the traced one (batch 2, side 64, or 122 for V2p), odd ones included; 61 is the smallest side of
# a five-level V2p export (see test_export.py).
RUN_SIZES = [(1, 97, 131), (3, 61, 64)]
TOLERANCE = 1e-4
F32 = {"INFERENCE_PRECISION_HINT": "f32"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict:
    """head → (model, path of its IR), each exported once for the whole module."""
    cache: dict = {}
    directory = tmp_path_factory.mktemp("openvino")

    def get(head: str | None) -> tuple[hrnet.HRNet, object]:
        if head not in cache:
            torch.manual_seed(0)
            model = randomize_norm_stats(hrnet.HRNet("w18_small", head=head)).eval()
            path = directory / f"{head}.xml"
            hrnet.export_openvino(model, path)
            cache[head] = (model, path)
        return cache[head]

    return get


def reference(model: torch.nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    with torch.no_grad():
        return as_list(model(x))


def run(compiled, x: torch.Tensor) -> list[torch.Tensor]:
    result = compiled({"x": x.numpy()})
    return [torch.from_numpy(result[output]) for output in compiled.outputs]


def compile_from_disk(path, config: dict | None = None):
    core = ov.Core()
    return core.compile_model(core.read_model(str(path)), "CPU", F32 if config is None else config)


def assert_equals_eager(compiled, model: torch.nn.Module) -> None:
    for b, h, w in RUN_SIZES:
        x = torch.randn(b, 3, h, w)
        ours, refs = run(compiled, x), reference(model, x)
        assert len(ours) == len(refs)
        for out, ref in zip(ours, refs, strict=True):
            assert out.shape == ref.shape and max_rel_diff(out, ref) <= TOLERANCE


@pytest.mark.parametrize("head", HEADS)
def test_openvino_runs_at_other_sizes(exported, head: str | None) -> None:
    model, path = exported(head)
    assert path.with_suffix(".bin").is_file()
    (graph_input,) = ov.Core().read_model(str(path)).inputs
    shape = graph_input.get_partial_shape()
    assert "x" in graph_input.get_names()
    assert [shape[axis].is_dynamic for axis in range(4)] == [True, False, True, True]
    assert shape[1].get_length() == 3
    assert_equals_eager(compile_from_disk(path), model)


def test_openvino_keeps_fp32_weights(exported) -> None:
    """openvino.save_model compresses weights to fp16 unless told not to; 1e-4 equality needs fp32."""
    model, path = exported("v2")
    constants = [op for op in ov.Core().read_model(str(path)).get_ops() if op.get_type_name() == "Constant"]
    types = {op.get_element_type() for op in constants}
    assert ov.Type.f32 in types and ov.Type.f16 not in types, types
    weights = sum(m.weight.numel() for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))
    assert path.with_suffix(".bin").stat().st_size >= 4 * weights


def test_optimized_model_exports_to_openvino(tmp_path) -> None:
    """The model optimize_for_inference makes (BN folded, fusions batched, channels-last, packed), bilinear
    fusions included, exports through a contiguous copy and stays as it was."""
    torch.manual_seed(0)
    model = randomize_norm_stats(hrnet.HRNet("w18_small", head="v2", upsample="bilinear")).eval()
    fused = hrnet.optimize_for_inference(model)
    path = tmp_path / "fused.xml"
    hrnet.export_openvino(fused, path)
    assert fused.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    assert_equals_eager(compile_from_disk(path), model)


def test_openvino_default_precision_is_close(exported) -> None:
    """Without the f32 hint OpenVINO computes in bf16 on CPUs that have it: close to PyTorch, not equal."""
    model, path = exported("v2")
    compiled = compile_from_disk(path, {})
    x = torch.randn(1, 3, 97, 131)
    for out, ref in zip(run(compiled, x), reference(model, x), strict=True):
        assert out.shape == ref.shape
        assert relative_l2(out, ref) <= 0.02


def test_export_openvino_rejects_bad_input(tmp_path, monkeypatch) -> None:
    model = hrnet.HRNet("w18_small", head="v2")
    with pytest.raises(ValueError, match="expects an hrnet.HRNet, got Conv2d"):
        hrnet.export_openvino(torch.nn.Conv2d(3, 3, 1), tmp_path / "model.xml")
    with pytest.raises(ValueError, match=r"must end in \.xml"):
        hrnet.export_openvino(model, tmp_path / "model.onnx")
    monkeypatch.setitem(sys.modules, "openvino", None)  # import openvino now raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'hrnet\[openvino\]'"):
        hrnet.export_openvino(model, tmp_path / "model.xml")
    assert not list(tmp_path.iterdir()), "nothing written"
