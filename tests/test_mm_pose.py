"""configs/pose through mmpose's Runner: every paper row (Table 1) trains one iteration and validates with
mmpose's COCO keypoint AP on synthetic COCO data: keypoint annotations, images and a person-detection file in
the formats and at the paths the config names."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import hrnet.mm  # noqa: F401  (registers the hrnet scope)

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "pose"
IMAGE_SIZE = (128, 96)  # height, width of the synthetic photos
SAMPLES = 2  # images per split, one person each

# COCO's person category as its keypoint annotation format documents it.
COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
COCO_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9],
                 [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7]]  # fmt: skip
COCO_METRICS = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)", "AR (L)")

# Each config with the paper's #params for its network (Table 1).
ROWS = [
    ("mmpose_hrnetv1-w32_210e_coco-256x192.py", 28.5),
    ("mmpose_hrnetv1-w32_210e_coco-384x288.py", 28.5),
    ("mmpose_hrnetv1-w48_210e_coco-256x192.py", 63.6),
    ("mmpose_hrnetv1-w48_210e_coco-384x288.py", 63.6),
]


# ------------------------------------------------------------------------------------------ synthetic data
def person(image_id: int, rng: np.random.Generator) -> dict:
    """One annotated person: a box inside the photo, all 17 keypoints labelled and visible (v = 2)."""
    height, width = IMAGE_SIZE
    x, y, w, h = 16.0, 12.0, width - 32.0, height - 24.0
    points = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17), np.full(17, 2.0)], axis=1)
    return dict(
        id=image_id,
        image_id=image_id,
        category_id=1,
        iscrowd=0,
        bbox=[x, y, w, h],
        area=w * h,
        num_keypoints=17,
        keypoints=[round(float(v), 2) for v in points.ravel()],
    )


def write_coco_split(ann_file: Path, image_dir: Path, first_id: int) -> list[dict]:
    """Photos in ``image_dir`` and their COCO keypoint annotation file; returns the annotations."""
    rng = np.random.default_rng(first_id)
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(first_id, first_id + SAMPLES):
        name = f"{image_id:012d}.jpg"
        assert cv2.imwrite(str(image_dir / name), rng.integers(0, 256, (*IMAGE_SIZE, 3), dtype=np.uint8))
        images.append(dict(id=image_id, file_name=name, height=IMAGE_SIZE[0], width=IMAGE_SIZE[1]))
        annotations.append(person(image_id, rng))
    category = dict(id=1, name="person", supercategory="person", keypoints=list(COCO_KEYPOINTS), skeleton=COCO_SKELETON)
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(dict(images=images, annotations=annotations, categories=[category])))
    return annotations


def write_detections(bbox_file: Path, annotations: list[dict]) -> None:
    """A person detector's output in COCO's results format (``image_id``, ``category_id``, ``bbox``, ``score``)."""
    bbox_file.parent.mkdir(parents=True, exist_ok=True)
    boxes = [dict(image_id=a["image_id"], category_id=1, bbox=[v + 2.0 for v in a["bbox"]], score=0.9)
             for a in annotations]  # fmt: skip
    bbox_file.write_text(json.dumps(boxes))


def write_coco(cfg: Config) -> None:
    """The data where the config looks for it (relative to the working directory)."""
    for loader, first_id in (("train_dataloader", 1), ("val_dataloader", 100)):
        dataset = cfg[loader].dataset
        root = Path(dataset.data_root)
        annotations = write_coco_split(root / dataset.ann_file, root / dataset.data_prefix.img, first_id)
        if dataset.get("bbox_file"):
            write_detections(Path(dataset.bbox_file), annotations)


# ------------------------------------------------------------------------------------------ the cfg changes
def for_cpu(cfg: Config) -> Config:
    """Everything a CPU run changes: batches, one iteration, no checkpoints or pretrained weights. The data
    paths, input size, model, optimizer and schedule stay as the config writes them."""
    cfg.work_dir = "work"
    cfg.model.backbone.init_cfg = None  # no downloads
    for name, batch in (("train_dataloader", 2), ("val_dataloader", 2), ("test_dataloader", 2)):
        cfg[name].update(batch_size=batch, num_workers=0, persistent_workers=False)
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
