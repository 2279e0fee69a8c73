"""benchmarks/bench_table13.py --quick: every network of one pair per task is built by its framework, trained and
run for one step in its own process, and the outputs carry every figure and the paper's ratios."""

from __future__ import annotations

import csv
import math
import sys
from pathlib import Path

import pytest
from helpers import NEEDS_OPENMMLAB

for _package in ("mmpose", "mmseg", "mmdet"):
    pytest.importorskip(_package, reason=NEEDS_OPENMMLAB)
pytest.importorskip("matplotlib", reason="needs matplotlib for the chart: pip install -e '.[dev]'")
pytestmark = pytest.mark.slow  # measures the Table 13 networks through the frameworks (minutes)

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # before the forkserver starts: its children import the module from here

import bench_table13  # noqa: E402


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> tuple[dict, Path]:
    folder = tmp_path_factory.mktemp("table13")
    return bench_table13.main(["--quick"], results_dir=folder), folder


def test_every_quick_network_and_phase_is_measured(quick) -> None:
    results, _ = quick
    expected = {(name, phase) for name in bench_table13.MODES["quick"].networks for phase in ("training", "inference")}
    assert set(results) == expected
    tasks = {bench_table13.BY_NAME[name].task for name, _ in results}
    assert tasks == {"pose", "segmentation", "detection"}
    for name, _ in results:
        values = bench_table13.figures(results, name)
        assert all(math.isfinite(value) and value > 0 for value in values), (name, values)


def test_models_are_the_frameworks_own(quick) -> None:
    results, _ = quick
    backbone = {name: result["backbone_class"] for (name, _), result in results.items()}
    model = {name: result["model_class"] for (name, _), result in results.items()}
    assert backbone["HRNetV1-W48"] == backbone["HRNetV2-W48"] == backbone["HRNetV2p-W32"] == "hrnet.mm.backbone.MMHRNet"
    assert backbone["SB-ResNet-152"] == "mmpose.models.backbones.resnet.ResNet"
    assert backbone["PSPNet"] == "mmseg.models.backbones.resnet.ResNetV1c"
    assert backbone["ResNet-101"] == "mmdet.models.backbones.resnet.ResNet"
    pose_estimator = "mmpose.models.pose_estimators.topdown.TopdownPoseEstimator"
    assert model["HRNetV1-W48"] == model["SB-ResNet-152"] == pose_estimator
    assert model["HRNetV2-W48"] == model["PSPNet"] == "mmseg.models.segmentors.encoder_decoder.EncoderDecoder"
    assert model["HRNetV2p-W32"] == model["ResNet-101"] == "mmdet.models.detectors.faster_rcnn.FasterRCNN"


def test_outputs_carry_the_papers_ratios(quick) -> None:
    results, folder = quick
    stem = folder / "table13_quick_2t"
    text = stem.with_suffix(".md").read_text()
    assert "CPU resident memory" in text and "mode='predict'" in text
    # Paper, training s/iter: HRNetV1-W48 1.231 / SB-ResNet-152 1.085; inference memory: HRNetV2-W48 1.79 / PSPNet 1.60.
    assert "| HRNetV1-W48 / SB-ResNet-152 | 0.49 |" in text
    assert f"{1.231 / 1.085:.2f}" in text and f"{1.79 / 1.60:.2f}" in text
    with open(stem.with_suffix(".csv"), newline="") as handle:
        rows = list(csv.DictReader(handle))
    ratios = {(r["network"], r["baseline"], r["quantity"]): r for r in rows if r["kind"] == "ratio"}
    assert len(ratios) == 3 * 4  # one pair per task, four quantities
    pose_time = ratios[("HRNetV1-W48", "SB-ResNet-152", "training s/iter")]
    assert float(pose_time["paper"]) == pytest.approx(1.231 / 1.085, abs=1e-4)
    measured = bench_table13.figures(results, "HRNetV1-W48")[2] / bench_table13.figures(results, "SB-ResNet-152")[2]
    assert float(pose_time["measured"]) == pytest.approx(measured, rel=1e-3)
    assert all(math.isfinite(float(r["measured"])) and float(r["measured"]) > 0 for r in rows)
    assert stem.with_suffix(".png").stat().st_size > 10_000
