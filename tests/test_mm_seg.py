"""configs/seg through mmseg's Runner: every paper row trains one iteration and validates with mmseg's mIoU on
synthetic samples written in its data set's own layout (Cityscapes, PASCAL-Context, LIP); plus the LIP data set."""

from __future__ import annotations

import math
import re
from functools import partial
from pathlib import Path

import pytest
import torch
from helpers import NEEDS_OPENMMLAB, assert_ablation_applied
from torch import nn

pytest.importorskip("mmseg", reason=NEEDS_OPENMMLAB)

import numpy as np  # noqa: E402
from mmengine.config import Config  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402
from mmseg.registry import TRANSFORMS  # noqa: E402
from PIL import Image  # noqa: E402

import hrnet.mm  # noqa: E402, F401  (registers the hrnet scope)
from hrnet.mm.datasets import LIPDataset  # noqa: E402
from hrnet.mm.seg import V2DecodeHead  # noqa: E402
from hrnet.mm.synthetic import write_cityscapes, write_lip, write_pascal_context  # noqa: E402
from hrnet.reproduce import smoke, worker  # noqa: E402
from hrnet.reproduce.worker import submit_into  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "seg"
SAMPLES = 2  # per split

ABLATIONS = sorted((CONFIGS / "ablation").glob("*.py"))  # §7: Table 12, Fig. 10 (a) and the studies of its text
TEST_SET = sorted((CONFIGS / "test-set").glob("*.py"))  # Table 4: Cityscapes test, scored by its server
# Cityscapes' label ids of its 19 evaluated classes (road 7, sidewalk 8, building 11, …), in train-id order: what
# the benchmark's server reads from a submission's pngs.
CITYSCAPES_LABEL_IDS = (7, 8, 11, 12, 13, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 31, 32, 33)

# LIP's 20 labels in id order, as its release documents them (0 is background).
LIP_RELEASE_LABELS = (
    "Background", "Hat", "Hair", "Glove", "Sunglasses", "UpperClothes", "Dress", "Coat", "Socks", "Pants",
    "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm", "Left-leg", "Right-leg", "Left-shoe", "Right-shoe",
)  # fmt: skip


# ------------------------------------------------------------------------------------------ synthetic data
WRITERS = {  # each writes SAMPLES images per split in its data set's layout
    "cityscapes": partial(write_cityscapes, samples=SAMPLES),
    "pascal-context": partial(write_pascal_context, samples=SAMPLES),
    "lip": partial(write_lip, samples=SAMPLES),
}

# Each config with its data set and, where the paper prints it for exactly this network, its #params (Table 3
# W48). Table 3's W40 45.2M fits no W40 network (see hrnet.tables); mmseg's OCR head makes 70.37M, printed 70.3M.
ROWS = [
    ("mmseg_hrnetv2-w40_120k_cityscapes-512x1024.py", "cityscapes", None),
    ("mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py", "cityscapes", 65.9),
    ("mmseg_hrnetv2-w48-ocr_120k_cityscapes-512x1024.py", "cityscapes", None),
    ("mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py", "pascal-context", None),
    ("mmseg_hrnetv2-w48-ocr_60k_pascal-context-59-480x480.py", "pascal-context", None),
    ("mmseg_hrnetv2-w48_60k_pascal-context-480x480.py", "pascal-context", None),
    ("mmseg_hrnetv2-w48-ocr_60k_pascal-context-480x480.py", "pascal-context", None),
    ("mmseg_hrnetv2-w48_110k_lip-473x473.py", "lip", None),
    ("mmseg_hrnetv2-w48-ocr_110k_lip-473x473.py", "lip", None),
]


# ------------------------------------------------------------------------------------------ the cfg changes
def for_cpu(cfg: Config) -> Config:
    """The smoke run's CPU changes (``hrnet.reproduce.smoke``: no pretrained weights, image sizes ÷8, no worker
    processes, a seed) at a training batch of 2; unlike the smoke run, one iteration and no checkpoints or
    visualisation: the data paths, model, optimizer and schedule stay as the config writes them."""
    cfg.work_dir = "work"
    smoke.for_cpu(cfg, batch_size=2, val_batch_size=1)
    smoke.shrink_seg_sizes(cfg)
    cfg.train_cfg.update(max_iters=1, val_begin=2)  # the validation pass is run explicitly
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.pop("visualization", None)  # draws nothing by default; not needed at all here
    return cfg


def train_and_validate(cfg: Config) -> tuple[Runner, float, dict]:
    runner = Runner.from_cfg(cfg)
    runner.train()
    loss = runner.message_hub.get_scalar("train/loss").current()
    return runner, float(loss), runner.val()


# ------------------------------------------------------------------------------------------ tests
@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("config, dataset, paper_params", ROWS, ids=[row[0][6:-3] for row in ROWS])
def test_config_trains_and_validates(config, dataset, paper_params, tmp_path, monkeypatch) -> None:
    cfg = Config.fromfile(CONFIGS / config)
    monkeypatch.chdir(tmp_path)  # the data at the config's own (relative) data_root
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        assert cfg[loader].dataset.data_root == cfg.train_dataloader.dataset.data_root
    WRITERS[dataset](Path(cfg.train_dataloader.dataset.data_root))
    runner, loss, metrics = train_and_validate(for_cpu(cfg))

    assert math.isfinite(loss) and loss > 0
    assert len(runner.val_dataloader.dataset) == SAMPLES
    assert {"aAcc", "mIoU", "mAcc"} <= set(metrics)
    assert all(isinstance(v, float) and 0 <= v <= 100 for v in metrics.values()), metrics
    head = runner.model.decode_head
    heads = list(head) if isinstance(head, nn.ModuleList) else [head]  # OCR rows: a cascade of two
    assert isinstance(heads[0], V2DecodeHead)
    assert heads[-1].num_classes == len(runner.val_dataloader.dataset.metainfo["classes"])
    if paper_params is not None:
        assert round(sum(p.numel() for p in runner.model.parameters()) / 1e6, 1) == paper_params


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", ABLATIONS, ids=[path.stem[6:] for path in ABLATIONS])
def test_ablation_config_trains_and_validates(path: Path, tmp_path, monkeypatch) -> None:
    """Each §7 segmentation study builds with its option in the model, trains a step and is scored by mmseg; the
    representation the head concatenates has the paper's width: C (V1), 15C (V1h, V2), at 1/4 of the input."""
    cfg = Config.fromfile(path)
    options = dict(cfg.model.backbone)
    if "scratch" in path.stem:  # "trained from scratch": no ImageNet start
        assert cfg.model.pretrained is None
    dataset = "cityscapes" if "cityscapes" in path.stem else "pascal-context"
    monkeypatch.chdir(tmp_path)
    WRITERS[dataset](Path(cfg.train_dataloader.dataset.data_root))
    runner, loss, metrics = train_and_validate(for_cpu(cfg))

    assert math.isfinite(loss) and loss > 0
    assert {"aAcc", "mIoU", "mAcc"} <= set(metrics)
    model = runner.model
    assert_ablation_applied(options, model.backbone)
    width = model.backbone.spec.width
    with torch.no_grad():
        maps = model.extract_feat(torch.zeros(1, 3, 64, 128))  # what the decode head concatenates at 1/4
    assert sum(m.shape[1] for m in maps) == (width if options.get("head") == "v1" else 15 * width)
    assert maps[0].shape[-2:] == (16, 32) and model.decode_head.in_channels == [m.shape[1] for m in maps]


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("path", TEST_SET, ids=[path.stem[6:] for path in TEST_SET])
def test_test_set_config_writes_the_servers_label_images(path: Path, tmp_path, monkeypatch) -> None:
    """Each Table 4 row trains as its Table 3 row (the train+val rows on both splits) and tests on Cityscapes' test
    images: mmseg writes one ``<image>_leftImg8bit.png`` of label ids per image, as the server takes them, where
    ``hrnet reproduce``'s worker points it, instead of scoring."""
    pytest.importorskip("cityscapesscripts", reason="mmseg's CityscapesMetric needs cityscapesscripts")
    cfg = Config.fromfile(path)
    trainval = "trainval" in path.stem
    val = Config.fromfile(CONFIGS / re.sub(r"cityscapes-(trainval-)?test", "cityscapes", path.name))  # Table 3's
    for key in ("model", "optim_wrapper", "param_scheduler", "train_cfg"):
        assert cfg[key] == val[key], key  # trained as the val row
    monkeypatch.chdir(tmp_path)
    root = write_cityscapes(Path(cfg.test_dataloader.dataset.data_root), samples=dict(train=1, val=1, test=SAMPLES))
    cfg = for_cpu(cfg)
    submit_into(cfg, cfg.work_dir)
    runner = Runner.from_cfg(cfg)
    assert len(runner.train_dataloader.dataset) == (2 if trainval else 1)  # train (+ val) images
    runner.train()
    assert runner.test() == {}  # nothing to score against: the server does

    written = sorted((tmp_path / "work" / "submission").iterdir())
    expected = sorted(p.name for p in (root / "leftImg8bit" / "test").rglob("*_leftImg8bit.png"))
    assert [p.name for p in written] == expected and len(expected) == SAMPLES
    for png in written:
        labels = np.asarray(Image.open(png))
        assert labels.shape == (128, 256) and labels.dtype == np.uint8  # the image's own size
        assert set(np.unique(labels)) <= set(CITYSCAPES_LABEL_IDS), np.unique(labels)


# The rows whose paper numbers are tested with augmentation, and the scales they are tested at: six scales with
# flipping (Table 5's PASCAL-Context: of the 480×480 resize; Table 4's Cityscapes test: of the image), LIP's
# flip-averaged single scale (Table 6), with its mirrored classes swapped back.
SIX_SCALES = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
TESTED_WITH_TTA = {
    "pascal-context-59": ("mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py", SIX_SCALES),
    "cityscapes-test": ("test-set/mmseg_hrnetv2-w48_120k_cityscapes-test-512x1024.py", SIX_SCALES),
    "lip": ("mmseg_hrnetv2-w48_110k_lip-473x473.py", (1.0,)),
}


@pytest.mark.slow  # trains through the framework's Runner
@pytest.mark.parametrize("case", TESTED_WITH_TTA)
def test_the_worker_tests_the_trained_model_with_the_papers_augmentation(case, tmp_path, monkeypatch) -> None:
    """``hrnet reproduce``'s worker trains the row, then tests the weights it trained through mmseg's test-time
    augmentation: every image at the paper's scales, each also flipped, the class scores averaged."""
    from mmengine.model import BaseTTAModel

    config, paper_scales = TESTED_WITH_TTA[case]
    pytest.importorskip("cityscapesscripts", reason="mmseg's CityscapesMetric needs cityscapesscripts")
    cfg = Config.fromfile(CONFIGS / config)
    assert cfg.get(worker.TEST_TIME_AUG) is True
    scales, flips = cfg.tta_pipeline[1].transforms[:2]
    base = cfg.crop_size[0] if "lip" in config else 480
    assert [step.get("scale_factor") or step.scale[0] / base for step in scales] == list(paper_scales)
    assert [step.prob for step in flips] == [0.0, 1.0]
    monkeypatch.chdir(tmp_path)
    root = Path(cfg.train_dataloader.dataset.data_root)
    if "cityscapes" in config:
        write_cityscapes(root, samples=dict(train=1, val=1, test=SAMPLES))
    else:
        WRITERS["lip" if "lip" in config else "pascal-context"](root)
    cfg = for_cpu(cfg)
    cfg.default_hooks.checkpoint = dict(type="CheckpointHook", interval=1, by_epoch=False)  # what the test loads
    smoke.shrink_seg_pipeline(scales)  # the test-time scales, as the test pipeline's
    cfg.dump(tmp_path / "row.py")

    loaded, views = [], []
    load_checkpoint, test_step = Runner.load_checkpoint, BaseTTAModel.test_step
    monkeypatch.setattr(
        Runner, "load_checkpoint", lambda self, f, *a, **k: loaded.append(f) or load_checkpoint(self, f, *a, **k)
    )
    monkeypatch.setattr(
        BaseTTAModel, "test_step", lambda self, data: views.append(len(data["inputs"])) or test_step(self, data)
    )
    assert worker.main([str(tmp_path / "row.py"), "--work-dir", str(tmp_path / "row")]) == 0

    assert loaded == [str(tmp_path / "row" / "iter_1.pth")]
    assert views == [len(paper_scales) * 2] * SAMPLES  # one batch of one image per test image
    if "cityscapes" in config:
        assert len(list((tmp_path / "row" / "submission").glob("*_leftImg8bit.png"))) == SAMPLES
    else:
        assert worker_metrics(tmp_path / "row")["mIoU"] >= 0


def test_the_lip_flip_test_swaps_a_flipped_views_left_and_right_scores() -> None:
    """A mirrored person's left arm is the network's right arm: averaged as mmseg's SegTTAModel does, the flipped
    view outvotes the unflipped one; swapped back first (the paper's flip test), both agree."""
    from mmengine.structures import PixelData
    from mmseg.models.segmentors.seg_tta import SegTTAModel
    from mmseg.structures import SegDataSample

    from hrnet.mm.seg import FlipSwapTTAModel

    class Segmentor(nn.Module):  # what the wrapper needs of a segmentor here: its classes and a test step
        out_channels = len(LIP_RELEASE_LABELS)

        def test_step(self, data):
            raise AssertionError("merge_preds alone is under test")

    left_arm, right_arm = LIP_RELEASE_LABELS.index("Left-arm"), LIP_RELEASE_LABELS.index("Right-arm")

    def views() -> list:
        scores = torch.zeros(2, len(LIP_RELEASE_LABELS), 1, 1)
        scores[0, left_arm] = 5.0  # the image as it is: a left arm
        scores[1, right_arm] = 6.0  # its mirror image, map unflipped: the same pixel, seen as a right arm
        samples = []
        for view, flip in zip(scores, (False, True)):
            sample = SegDataSample(metainfo=dict(flip=flip, img_path="a.png"))
            sample.seg_logits = PixelData(data=view)
            samples.append(sample)
        return [samples]

    (plain,) = SegTTAModel(module=Segmentor()).merge_preds(views())
    (swapped,) = FlipSwapTTAModel(swap_labels=[(14, 15), (16, 17), (18, 19)], module=Segmentor()).merge_preds(views())
    assert int(plain.pred_sem_seg.data) == right_arm
    assert int(swapped.pred_sem_seg.data) == left_arm
    with pytest.raises(ValueError, match="swap_labels must be pairs"):
        FlipSwapTTAModel(swap_labels=[(14, 15, 16)], module=Segmentor())


def worker_metrics(row_dir: Path) -> dict:
    from hrnet.reproduce.workdir import final_metrics

    metrics = final_metrics(row_dir)
    assert metrics is not None, f"no test results in {row_dir}"
    return metrics


def test_lip_dataset_has_the_release_labels() -> None:
    assert LIPDataset.METAINFO["classes"] == LIP_RELEASE_LABELS
    assert len(LIPDataset.METAINFO["palette"]) == len(LIP_RELEASE_LABELS)


@pytest.mark.parametrize("config", [row[0] for row in ROWS if row[1] == "lip"])
def test_lip_flip_swaps_left_and_right_labels(config) -> None:
    """The LIP configs' flip mirrors the label map and exchanges exactly LIP's left/right part labels."""
    cfg = Config.fromfile(CONFIGS / config)
    (flip,) = [step for step in cfg.train_dataloader.dataset.pipeline if step.type == "RandomFlip"]
    names = [tuple(LIP_RELEASE_LABELS[i] for i in pair) for pair in flip.swap_seg_labels]
    expected = {(f"Left-{part}", f"Right-{part}") for part in ("arm", "leg", "shoe")}
    assert set(names) == expected and len(names) == len(expected)

    labels = np.array([list(range(20))], dtype=np.uint8)  # one row holding every label, left to right
    with DefaultScope.overwrite_default_scope("mmseg"):
        always = TRANSFORMS.build(dict(flip, prob=1.0))
    flipped = always(dict(img=np.zeros((1, 20, 3), np.uint8), gt_seg_map=labels.copy(), seg_fields=["gt_seg_map"]))
    mirrored = [LIP_RELEASE_LABELS[i] for i in flipped["gt_seg_map"][0][::-1]]  # back in the original positions
    swapped = {left: right for pair in expected for left, right in (pair, pair[::-1])}
    assert mirrored == [swapped.get(name, name) for name in LIP_RELEASE_LABELS]


def test_lip_dataset_rejects_reduce_zero_label(tmp_path) -> None:
    with pytest.raises(ValueError, match="reduce_zero_label"):
        LIPDataset(data_root=str(write_lip(tmp_path)), reduce_zero_label=True, lazy_init=True)
