"""benchmarks/bench_layers.py: the convolution groups read from our modules and from OpenVINO's runtime model
describe the same network, so that the per-layer comparison pairs like with like."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest
import torch

openvino = pytest.importorskip("openvino", reason="needs OpenVINO: pip install -e '.[openvino]'")

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import bench_layers  # noqa: E402

import hrnet  # noqa: E402


def test_our_convolutions_and_openvinos_layers_group_alike(tmp_path) -> None:
    torch.manual_seed(0)
    model = hrnet.HRNet("w18_small", head=None).eval()
    # batch=False keeps one convolution per core conv, as OpenVINO runs them; the layer table compares the
    # default fast path, whose stacked convolutions show as groups of one engine only.
    unstacked = hrnet.optimize_for_inference(model, batch=False)
    x = torch.randn(1, 3, 96, 64)
    ours: bench_layers.LayerTimes = collections.defaultdict(list)
    bench_layers.time_convolutions(unstacked, ours)
    with torch.no_grad():
        unstacked(x)
    path = tmp_path / "model.xml"
    hrnet.export_openvino(model, str(path))
    compiled = openvino.Core().compile_model(str(path), "CPU", bench_layers.openvino_config("f32", 2, perf_count=True))
    compiled.create_infer_request().infer([x.numpy()])
    theirs: bench_layers.LayerTimes = collections.defaultdict(list)
    bench_layers.openvino_convolutions(compiled, theirs)

    convolutions = sum(isinstance(m, torch.nn.Conv2d) for m in unstacked.modules())
    assert sum(len(calls) for calls in ours.values()) == convolutions
    assert {key: len(calls) for key, calls in theirs.items()} == {key: len(calls) for key, calls in ours.items()}
    assert all(seconds > 0 for calls in ours.values() for seconds in calls)
    # OpenVINO counts whole microseconds: a tiny layer may read 0, the network may not.
    assert all(seconds >= 0 for calls in theirs.values() for seconds in calls)
    assert sum(seconds for calls in theirs.values() for seconds in calls) > 0


def test_the_default_fast_path_stacks_convolutions() -> None:
    model = hrnet.HRNet("w18_small", head=None).eval()
    fast = hrnet.optimize_for_inference(model)
    ours: bench_layers.LayerTimes = collections.defaultdict(list)
    bench_layers.time_convolutions(fast, ours)
    with torch.no_grad():
        fast(torch.randn(1, 3, 96, 64))
    unstacked = hrnet.optimize_for_inference(model, batch=False)
    assert sum(map(len, ours.values())) < sum(isinstance(m, torch.nn.Conv2d) for m in unstacked.modules())
