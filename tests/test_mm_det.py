"""Every config in configs/det inside mmdet's Runner: one training iteration and one validation pass with
mmdet's CocoMetric (bbox, and segm for instance models) on a few synthetic images written in COCO's own
layout (``train2017/``, ``val2017/``, ``annotations/instances_*.json``, ``stuffthingmaps/`` for HTC); the
built detectors have the paper's parameter counts (Table 7); the configs' own ``open-mmlab://`` checkpoint
names load into the backbone; and the neck equals mmdet's HRFPN in FCOS's strided form."""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path

import pytest
import torch
from helpers import NEEDS_OPENMMLAB, NEEDS_TIMM, assert_ablation_applied, max_rel_diff

pytest.importorskip("mmdet", reason=NEEDS_OPENMMLAB)
timm = pytest.importorskip("timm", reason=NEEDS_TIMM)

import numpy as np  # noqa: E402
from mmdet.models.necks import HRFPN  # noqa: E402
from mmdet.registry import MODELS as MMDET_MODELS  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmengine.runner.checkpoint import get_external_models  # noqa: E402

import hrnet.mm  # noqa: E402, F401  (registers the hrnet scope)
from hrnet.mm.backbone import MMHRNet  # noqa: E402
from hrnet.mm.det import V2pNeck  # noqa: E402
from hrnet.mm.synthetic import COCO_CATEGORY_IDS, write_coco_image_info, write_coco_instances  # noqa: E402
from hrnet.reproduce import smoke  # noqa: E402
from hrnet.reproduce.worker import submit_into  # noqa: E402

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "det"
CONFIGS = sorted(CONFIG_DIR.glob("*.py"))
ABLATIONS = sorted((CONFIG_DIR / "ablation").glob("*.py"))  # §7: Fig. 10 (b)
TEST_SET = sorted((CONFIG_DIR / "test-set").glob("*.py"))  # Table 11: COCO test-dev, scored by COCO's server
# The test-set rows run through the Runner here: one of each kind of test output (two-stage boxes, one-stage boxes,
# boxes and masks); every row's test settings and training are checked against its val row without a run.
TEST_SET_RUN = ("faster-rcnn_hrnetv2p-w32_1x", "fcos_hrnetv2p-w18_2x", "cascade-mask-rcnn_hrnetv2p-w32_20e")
TEST_SET_RUNS = [p for p in TEST_SET if p.stem[6:].startswith(TEST_SET_RUN)]
NAME = re.compile(r"^mmdet_(?P<model>[a-z-]+)_hrnetv2p-w(?P<width>\d+)_(?P<schedule>\w+)_coco-800x1333$")

# Table 7 of the paper, #param. (M) of the whole detector (H-x = HRNetV2p-Wx). Its Faster R-CNN column is left
# out: mmdet's own Faster R-CNN with HRNet + HRFPN has 27.5 / 47.3 / 83.4 M for W18 / W32 / W48 against the
# printed 26.2 / 45.0 / 79.4 (and mmdet's R-50-FPN 41.7 M against 39.8), while the Cascade R-CNN column, the same
# detector with two more box heads, matches mmdet's models to 0.05 M.
TABLE7_PARAMS_M = {
    ("cascade-rcnn", 18): 55.1, ("cascade-rcnn", 32): 74.9, ("cascade-rcnn", 48): 111.0,
    ("fcos", 18): 17.5, ("fcos", 32): 37.3,
    ("mask-rcnn", 18): 30.1, ("mask-rcnn", 32): 49.9,
    ("cascade-mask-rcnn", 18): 63.1, ("cascade-mask-rcnn", 32): 82.9, ("cascade-mask-rcnn", 48): 118.9,
    ("htc", 18): 66.1, ("htc", 32): 85.9, ("htc", 48): 121.9,
}  # fmt: skip
PARAMS_TOLERANCE_M = 0.15  # printed to 0.1 M; HTC W18 / W32 build 0.11 / 0.12 M below their entries

IMAGE_WIDTH, IMAGE_HEIGHT = 240, 180  # on disk; the pipelines then resize as the config says
SCALE_DIVISOR = 800 / 128  # the configs' (1333, 800)-style scales become (213, 128), a little over the smoke run's
# Image ids per split. One training image, so one iteration of batch 1: on CPU a cascade's step is mostly
# RoIAlign over the 512 sampled RoIs of each image.
SPLITS = {"train": (1,), "val": (2, 3)}
TEST_DEV_IDS = (4, 5)  # test-dev: images and their list, no annotations


# ------------------------------------------------------------------------------------------ synthetic COCO
@pytest.fixture(scope="module")
def coco_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("coco")
    test_dev = root / "annotations" / "image_info_test-dev2017.json"
    write_coco_image_info(test_dev, root / "test2017", TEST_DEV_IDS, (IMAGE_HEIGHT, IMAGE_WIDTH))
    return write_coco_instances(root, SPLITS, size=(IMAGE_HEIGHT, IMAGE_WIDTH))


# ------------------------------------------------------------------------------------------ runner config
def keep_every_detection(test_cfg: dict) -> None:
    """Score threshold 0 wherever the test settings have one: an untrained model's class scores sit near
    their initial prior (about 1/81 for softmax heads, 0.01 for FCOS), below the configs' 0.05, and
    CocoMetric reports no AP at all for an empty result."""
    for key, value in test_cfg.items():
        if key == "score_thr":
            test_cfg[key] = 0.0
        elif isinstance(value, dict):
            keep_every_detection(value)


def runner_config(config: Config, data_root: Path, work_dir: Path) -> Config:
    """The config as written, with the smoke run's CPU changes (``hrnet.reproduce.smoke``: its own COCO data under
    ``data_root``, resize targets divided by ``SCALE_DIVISOR``, no pretrained weights, no worker processes, a seed)
    at batches of 1. Unlike the smoke run: the paper's network and schedule, one training iteration, every detection
    kept, averaged BN statistics, no checkpoint or visualisation, a quiet log."""
    cfg = copy.deepcopy(config)
    cfg.work_dir = str(work_dir)
    smoke.point_det_data_at(cfg, data_root)
    smoke.shrink_det_scales(cfg, SCALE_DIVISOR)
    smoke.for_cpu(cfg, batch_size=len(SPLITS["train"]), val_batch_size=1)
    # BN running statistics as the plain average of what training saw (here: the one batch), so the network
    # validated is the one trained, not one whose statistics are still 90% at their initial (0, 1).
    cfg.model.backbone.norm_cfg = dict(cfg.model.backbone.get("norm_cfg") or dict(type="BN"), momentum=None)
    keep_every_detection(cfg.model.test_cfg)
    cfg.train_cfg.update(max_epochs=1, val_begin=2)  # one batch = one iteration; the test validates after it
    cfg.default_hooks.checkpoint = None  # mmengine's way to drop one of its own default hooks
    cfg.default_hooks.pop("visualization")
    cfg.log_level = "WARNING"
    return cfg


def count_params_m(model: torch.nn.Module) -> float:
    return sum(p.numel() for p in model.parameters()) / 1e6


# ------------------------------------------------------------------------------------------ tests
def test_every_paper_row_has_a_config() -> None:
    """Tables 8-10 (and the W40 row of Table 11): the rows the configs reproduce, by name."""
    rows = {(m["model"], int(m["width"]), m["schedule"]) for m in (NAME.match(p.stem) for p in CONFIGS) if m}
    assert len(rows) == len(CONFIGS), "every config name has the form mmdet_<model>_hrnetv2p-w<C>_<LS>_coco-800x1333"
    expected = (
        {("faster-rcnn", w, ls) for w in (18, 32, 48) for ls in ("1x", "2x")}
        | {("faster-rcnn", 40, "2x")}
        | {(m, w, "20e") for m in ("cascade-rcnn", "cascade-mask-rcnn", "htc") for w in (18, 32, 48)}
        | {("fcos", w, "2x") for w in (18, 32)}
        | {("mask-rcnn", w, ls) for w in (18, 32) for ls in ("1x", "2x")}
        | {("htc", 48, "28e")}
    )
    assert rows == expected


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_trains_and_validates_with_coco_metric(path: Path, coco_root: Path, tmp_path: Path) -> None:
    name = NAME.match(path.stem)
    assert name is not None, path.name
    model, width = name["model"], int(name["width"])
    config = Config.fromfile(str(path))
    # The ImageNet start of the config's own width, by a name of the model zoo shipped with mmengine.
    zoo_name = f"msra/hrnetv2_w{width}"
    assert config.model.backbone.init_cfg == dict(type="Pretrained", checkpoint=f"open-mmlab://{zoo_name}")
    assert zoo_name in get_external_models()

    cfg = runner_config(config, coco_root, tmp_path)
    runner = Runner.from_cfg(cfg)

    detector = runner.model
    assert isinstance(detector.backbone, MMHRNet) and isinstance(detector.neck, V2pNeck)
    assert detector.backbone.spec.width == width
    if (model, width) in TABLE7_PARAMS_M:
        assert abs(count_params_m(detector) - TABLE7_PARAMS_M[model, width]) <= PARAMS_TOLERANCE_M

    runner.train()
    assert runner.iter == 1
    losses = {k: v.current() for k, v in runner.message_hub.log_scalars.items() if k.startswith("train/loss")}
    assert "train/loss" in losses and all(math.isfinite(v) for v in losses.values()), losses
    roi_head = cfg.model.get("roi_head", {})
    with_masks = "mask_head" in roi_head
    if "semantic_head" in roi_head:  # HTC's semantic branch learns from the stuffthingmaps
        assert math.isfinite(losses["train/loss_semantic_seg"]) and losses["train/loss_semantic_seg"] > 0

    metrics = runner.val()
    kinds = ["bbox", "segm"] if with_masks else ["bbox"]
    assert list(np.atleast_1d(cfg.val_evaluator.metric)) == kinds  # instance models are scored on masks too
    for kind in kinds:  # ground truth exists at every IoU threshold, so COCOeval gives an AP in [0, 1]
        for key in (f"coco/{kind}_mAP", f"coco/{kind}_mAP_50", f"coco/{kind}_mAP_75"):
            assert isinstance(metrics[key], float) and 0.0 <= metrics[key] <= 1.0, (key, metrics)


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", ABLATIONS, ids=[p.stem[6:] for p in ABLATIONS])
def test_ablation_config_trains_and_validates(path: Path, coco_root: Path, tmp_path: Path) -> None:
    """Fig. 10 (b): Faster R-CNN on HRNetV1 / V1h / V2p builds with that representation under the V2p pyramid, trains
    a step and is scored by mmdet's CocoMetric; the pyramid reads C (V1) or 15C (V1h, V2p) channels at 1/4."""
    config = Config.fromfile(str(path))
    options = dict(config.model.backbone)
    runner = Runner.from_cfg(runner_config(config, coco_root, tmp_path))
    detector = runner.model
    assert_ablation_applied(options, detector.backbone)
    runner.train()
    assert math.isfinite(runner.message_hub.get_scalar("train/loss").current())
    metrics = runner.val()
    assert isinstance(metrics["coco/bbox_mAP"], float) and 0.0 <= metrics["coco/bbox_mAP"] <= 1.0, metrics

    width = detector.backbone.spec.width
    with torch.no_grad():
        maps = detector.backbone.eval()(torch.zeros(1, 3, 64, 96))
    assert sum(m.shape[1] for m in maps) == sum(detector.neck.in_channels)
    assert sum(detector.neck.in_channels) == (width if options.get("head") == "v1" else 15 * width)
    assert maps[0].shape[-2:] == (16, 24)


@pytest.mark.parametrize("path", TEST_SET, ids=[p.stem[6:] for p in TEST_SET])
def test_test_set_config_trains_as_its_val_row_and_tests_on_test_dev(path: Path) -> None:
    """Table 11's rows: the detector, data and schedule of the val row, tested on test-dev's image list (no
    annotations to load) by a CocoMetric that writes the results instead of scoring."""
    config = Config.fromfile(str(path))
    val = Config.fromfile(str(CONFIG_DIR / path.name.replace("coco-test-dev", "coco")))
    for key in ("model", "train_dataloader", "optim_wrapper", "param_scheduler", "train_cfg", "val_dataloader"):
        assert config[key] == val[key], key
    dataset = config.test_dataloader.dataset
    assert (dataset.ann_file, dataset.data_prefix) == ("annotations/image_info_test-dev2017.json", {"img": "test2017/"})
    assert [step.type for step in dataset.pipeline] == [
        step.type for step in val.test_dataloader.dataset.pipeline if step.type != "LoadAnnotations"
    ]
    evaluator = config.test_evaluator
    assert evaluator.format_only and evaluator.ann_file.endswith("annotations/image_info_test-dev2017.json")
    assert evaluator.metric == val.test_evaluator.metric  # boxes, and masks for the instance models


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", TEST_SET_RUNS, ids=[p.stem[6:] for p in TEST_SET_RUNS])
def test_test_set_config_writes_the_servers_results_files(path: Path, coco_root: Path, tmp_path: Path) -> None:
    """A Table 11 row trains a step and tests on test-dev: mmdet writes the COCO results jsons the detection server
    takes (boxes; masks as RLE for instance models) where ``hrnet reproduce``'s worker points it."""
    config = Config.fromfile(str(path))
    cfg = runner_config(config, coco_root, tmp_path)  # tests on the config's test-dev, under coco_root
    submit_into(cfg, cfg.work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.test() == {}  # nothing to score against: the server does

    kinds = list(np.atleast_1d(cfg.test_evaluator.metric))
    written = sorted(p.name for p in (tmp_path / "submission").iterdir())
    assert written == sorted(f"detections_test-dev2017_hrnet.{kind}.json" for kind in kinds)
    for kind in kinds:
        results = json.loads((tmp_path / "submission" / f"detections_test-dev2017_hrnet.{kind}.json").read_text())
        assert isinstance(results, list) and results and {r["image_id"] for r in results} <= set(TEST_DEV_IDS)
        for result in results:
            assert {"image_id", "category_id", "bbox", "score"} <= set(result), result
            assert result["category_id"] in COCO_CATEGORY_IDS and len(result["bbox"]) == 4
            if kind == "segm":
                assert set(result["segmentation"]) == {"size", "counts"}  # RLE of the image's size
                assert result["segmentation"]["size"] == [IMAGE_HEIGHT, IMAGE_WIDTH]


def test_open_mmlab_checkpoint_loads_into_the_backbone(tmp_path: Path, monkeypatch) -> None:
    """mmengine resolves ``open-mmlab://msra/hrnetv2_w18`` through ``$MMENGINE_HOME/open_mmlab.json``; a file
    in the official ImageNet layout (timm's ``hrnet_w18``, classification head included) fills every
    backbone weight of the detector."""
    cfg = Config.fromfile(str(CONFIG_DIR / "mmdet_faster-rcnn_hrnetv2p-w18_1x_coco-800x1333.py"))
    assert cfg.model.backbone.init_cfg.checkpoint == "open-mmlab://msra/hrnetv2_w18"
    imagenet = timm.create_model("hrnet_w18", pretrained=False).state_dict()
    torch.save(imagenet, tmp_path / "hrnetv2_w18.pth")
    (tmp_path / "open_mmlab.json").write_text(json.dumps({"msra/hrnetv2_w18": "hrnetv2_w18.pth"}))
    monkeypatch.setenv("MMENGINE_HOME", str(tmp_path))

    with DefaultScope.overwrite_default_scope("mmdet"):
        detector = MMDET_MODELS.build(cfg.model)
    detector.init_weights()
    backbone = detector.backbone.state_dict()
    assert detector.backbone.load_report.missing == []
    for key, value in backbone.items():
        assert torch.equal(value, imagenet[key]), key


def test_neck_equals_hrfpn_with_fcos_stride() -> None:
    """FCOS's configs give HRFPN ``stride=2`` (levels at strides 8 … 128); the neck does the same."""
    channels = [18, 36, 72, 144]
    theirs = HRFPN(in_channels=channels, out_channels=32, stride=2).eval()
    ours = MMDET_MODELS.build(dict(type="hrnet.V2pNeck", in_channels=channels, out_channels=32, stride=2)).eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    generator = torch.Generator().manual_seed(0)
    maps = [torch.randn(1, c, 40 >> i, 56 >> i, generator=generator) for i, c in enumerate(channels)]
    with torch.no_grad():
        expected, actual = theirs(maps), ours(maps)
    assert [a.shape for a in actual] == [e.shape for e in expected]
    assert all(max_rel_diff(a, e) <= 1e-5 for a, e in zip(actual, expected))
    with pytest.raises(ValueError, match="stride"):
        V2pNeck(channels, stride=0)
