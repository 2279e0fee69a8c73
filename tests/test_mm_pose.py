"""configs/pose through mmpose's Runner: every paper row (Table 1) trains one iteration and validates with
mmpose's COCO keypoint AP on synthetic COCO data: keypoint annotations, images and a person-detection file in
the formats and at the paths the config names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from helpers import NEEDS_OPENMMLAB, assert_ablation_applied

pytest.importorskip("mmpose", reason=NEEDS_OPENMMLAB)

from mmengine.config import Config  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import hrnet.mm  # noqa: E402, F401  (registers the hrnet scope)
from hrnet.mm.synthetic import (  # noqa: E402
    COCO_KEYPOINTS,
    coco_person_category,
    write_coco_image_info,
    write_coco_keypoints,
    write_person_detections,
)
from hrnet.reproduce import smoke  # noqa: E402
from hrnet.reproduce.smoke import POSE_IMAGE_SIZE  # noqa: E402  (height, width of the synthetic photos)
from hrnet.reproduce.worker import submit_into  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "pose"
SAMPLES = 2  # images per split, one person each

COCO_METRICS = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")

ABLATIONS = sorted((CONFIGS / "ablation").glob("*.py"))  # §7: Table 12, Fig. 9 and the studies of its text
TEST_SET = sorted((CONFIGS / "test-set").glob("*.py"))  # Table 2: COCO test-dev, scored by COCO's server

# Each config with the paper's #params for its network (Table 1).
ROWS = [
    ("mmpose_hrnetv1-w32_210e_coco-256x192.py", 28.5),
    ("mmpose_hrnetv1-w32_210e_coco-384x288.py", 28.5),
    ("mmpose_hrnetv1-w48_210e_coco-256x192.py", 63.6),
    ("mmpose_hrnetv1-w48_210e_coco-384x288.py", 63.6),
]


# ------------------------------------------------------------------------------------------ synthetic data
def write_coco(cfg: Config) -> None:
    """The data where the config looks for it (relative to the working directory): noise photos with one
    annotated person each, and a person detector's boxes where the config reads them."""
    for loader, first_id in (("train_dataloader", 1), ("val_dataloader", 100)):
        dataset = cfg[loader].dataset
        root = Path(dataset.data_root)
        annotations = write_coco_keypoints(
            root / dataset.ann_file,
            root / dataset.data_prefix.img,
            SAMPLES,
            first_id=first_id,
            image_size=POSE_IMAGE_SIZE,
        )
        if dataset.get("bbox_file"):
            write_person_detections(Path(dataset.bbox_file), annotations)


def write_coco_test_dev(cfg: Config) -> list[int]:
    """test-dev as released: images and their list without people, and the person detector's boxes on them (the
    middle of each image); returns the image ids."""
    dataset = cfg.test_dataloader.dataset
    root, (height, width) = Path(dataset.data_root), POSE_IMAGE_SIZE
    images = write_coco_image_info(
        root / dataset.ann_file, root / dataset.data_prefix.img, range(200, 200 + SAMPLES), POSE_IMAGE_SIZE,
        [coco_person_category()],
    )  # fmt: skip
    boxes = [dict(image_id=image["id"], bbox=[16.0, 12.0, width - 32.0, height - 24.0]) for image in images]
    write_person_detections(Path(dataset.bbox_file), boxes)
    return [image["id"] for image in images]


# ------------------------------------------------------------------------------------------ the cfg changes
def for_cpu(cfg: Config) -> Config:
    """The smoke run's CPU changes (``hrnet.reproduce.smoke.for_cpu``: no pretrained weights, no worker processes,
    a seed) at batches of 2; unlike the smoke run, one epoch (of one batch) and no checkpoints: the data paths,
    input size, model, optimizer and schedule stay as the config writes them."""
    cfg.work_dir = "work"
    smoke.for_cpu(cfg, batch_size=2, val_batch_size=2)
    cfg.train_cfg.update(max_epochs=1, val_begin=2)  # the validation pass is run explicitly
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    return cfg


def train_and_validate(cfg: Config) -> tuple[Runner, float, dict]:
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar("train/loss").current()
    return runner, float(loss), runner.val()


# ------------------------------------------------------------------------------------------ tests
@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("config, paper_params", ROWS, ids=[row[0][7:-3] for row in ROWS])
def test_config_trains_and_validates(config, paper_params, tmp_path, monkeypatch) -> None:
    cfg = Config.fromfile(CONFIGS / config)
    monkeypatch.chdir(tmp_path)
    write_coco(cfg)
    runner, loss, metrics = train_and_validate(for_cpu(cfg))

    assert math.isfinite(loss) and loss > 0
    assert len(runner.val_dataloader.dataset) == SAMPLES  # one detected person per image
    assert set(metrics) == {f"coco/{name}" for name in COCO_METRICS}
    assert all(isinstance(v, float) and -1 <= v <= 1 for v in metrics.values()), metrics  # -1: no GT of that size
    assert runner.model.head.out_channels == len(COCO_KEYPOINTS)
    assert round(sum(p.numel() for p in runner.model.parameters()) / 1e6, 1) == paper_params


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", ABLATIONS, ids=[path.stem[7:] for path in ABLATIONS])
def test_ablation_config_trains_and_validates(path: Path, tmp_path, monkeypatch) -> None:
    """Each §7 pose study builds with its option in the model, trains a step and is scored by mmpose; its heatmaps
    come at the resolution of the map they are predicted from (1/4 of the input for map 0, 1/8 for map 1, …)."""
    cfg = Config.fromfile(path)
    options = dict(cfg.model.backbone)
    if "scratch" in path.stem:  # "trained from scratch": no ImageNet start
        assert options.get("init_cfg") is None
    monkeypatch.chdir(tmp_path)
    write_coco(cfg)
    runner, loss, metrics = train_and_validate(for_cpu(cfg))

    assert math.isfinite(loss) and loss > 0
    assert set(metrics) == {f"coco/{name}" for name in COCO_METRICS}
    model = runner.model
    assert_ablation_applied(options, model.backbone)
    branch = cfg.model.neck.select_index if "neck" in cfg.model else 0
    with torch.no_grad():
        heatmaps = model.head.forward(model.extract_feat(torch.zeros(1, 3, 256, 192)))
    assert heatmaps.shape == (1, len(COCO_KEYPOINTS), 64 >> branch, 48 >> branch)


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", TEST_SET, ids=[path.stem[7:] for path in TEST_SET])
def test_test_set_config_writes_the_servers_results_file(path: Path, tmp_path, monkeypatch) -> None:
    """Each Table 2 row trains as its Table 1 row and tests on test-dev's image list with the detector's people:
    mmpose writes the results json COCO's keypoint server takes (where ``hrnet reproduce``'s worker points it)
    instead of scoring."""
    cfg = Config.fromfile(path)
    val = Config.fromfile(CONFIGS / path.name.replace("coco-test-dev", "coco"))  # its Table 1 row
    for key in ("model", "train_dataloader", "optim_wrapper", "param_scheduler", "train_cfg", "auto_scale_lr"):
        assert cfg[key] == val[key], key  # trained as the val row
    monkeypatch.chdir(tmp_path)
    write_coco(cfg)
    image_ids = write_coco_test_dev(cfg)
    cfg = for_cpu(cfg)
    submit_into(cfg, cfg.work_dir)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.test() == {}  # nothing to score against: the server does

    (results_file,) = (tmp_path / "work" / "submission").glob("*.keypoints.json")
    assert results_file.name == "person_keypoints_test-dev2017_hrnet.keypoints.json"
    results = json.loads(results_file.read_text())
    assert isinstance(results, list) and {r["image_id"] for r in results} == set(image_ids)
    for result in results:
        assert {"image_id", "category_id", "keypoints", "score"} <= set(result), result
        assert result["category_id"] == 1 and len(result["keypoints"]) == 3 * len(COCO_KEYPOINTS)
        assert all(isinstance(v, float) for v in result["keypoints"]) and isinstance(result["score"], float)
