"""Smoke runs: a paper config of each framework, shrunk to learn a synthetic data set in minutes on a CPU, with a
score it must reach. They prove that a config trains through its framework's Runner, data pipeline, losses and
metric end to end: an untrained model scores near zero on the same data.

A smoke config keeps the paper config's model types, losses, evaluator and pipeline types; it changes only sizes
(network W18-small, input, images), data (synthetic, in the data set's own format, at absolute paths),
schedule, batch and what a CPU needs (no workers, no downloads). ``SMOKE_TASKS[name].build(configs_dir,
data_root)`` returns the config; the caller sets ``work_dir`` (and a launcher) and runs it:

    cfg = SMOKE_TASKS['pose'].build(Path('configs'), Path('/tmp/smoke-data'))
    cfg.work_dir = '/tmp/smoke-pose'
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = runner.test()   # metrics['coco/AP'] >= SMOKE_TASKS['pose'].threshold

The pieces of the shrinking that also serve a run of a paper config as written (the framework tests: the paper's
network, the config's own data paths and schedule) are public: :func:`for_cpu` (no downloads, batches, no worker
processes, a seed), :func:`shrink_seg_sizes` and :func:`shrink_seg_pipeline` (segmentation's image sizes),
:func:`shrink_det_scales` and :func:`point_det_data_at` (detection's resize targets and COCO folder). Their
defaults are the smoke run's values.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..specs import ARCHS

if TYPE_CHECKING:
    from mmengine.config import Config, ConfigDict

SMOKE_ARCH = "w18_small"  # the smallest HRNet: branches of 16, 32, 64, 128 channels
SEED = 0


def _small_backbone(backbone: ConfigDict) -> list[int]:
    """The config's own backbone (type and every other argument kept) with W18-small's stage dicts; returns the
    branch channels for the heads and necks that read them."""
    spec = ARCHS[SMOKE_ARCH]
    for key, stage in spec.as_mm_extra().items():
        backbone.extra[key].update(stage)  # mmpose's stage4 also holds multiscale_output=False: kept
    return list(spec.branch_channels)


def _map_pipeline(pipeline: list, change: Callable[[ConfigDict], None]) -> None:
    """Apply ``change`` to every transform of a pipeline, including those nested in wrappers."""
    for transform in pipeline:
        change(transform)
        _map_pipeline(transform.get("transforms", []), change)


def _share_batch(cfg: Config, processes: int) -> None:
    """Split the training batch over ``processes`` (DDP), so every launch trains with the same global batch,
    learning rate (``auto_scale_lr`` sees the global batch equal to its base) and number of iterations."""
    batch = cfg.train_dataloader.batch_size
    if processes < 1 or batch % processes:
        divisors = [n for n in range(1, batch + 1) if batch % n == 0]
        raise ValueError(f"a smoke batch of {batch} images splits over {divisors} processes, not {processes}")
    cfg.train_dataloader.batch_size = batch // processes


def _loaders(cfg: Config) -> list[ConfigDict]:
    return [cfg[name] for name in ("train_dataloader", "val_dataloader", "test_dataloader")]


def for_cpu(cfg: Config, batch_size: int, val_batch_size: int) -> None:
    """What a CPU run of any paper config changes, in place: no pretrained weights (nothing to download), the
    training batch and the validation and test batch, no worker processes, a seed. The learning rate stays the
    config's however the run is launched: ``auto_scale_lr`` scales it by real batch / base batch, here this batch."""
    model = cfg.model
    model.backbone.init_cfg = None
    model.backbone.pop("pretrained", None)
    if "pretrained" in model:
        model.pretrained = None  # mmseg's segmentors hand it to the backbone
    for loader, batch in zip(_loaders(cfg), (batch_size, val_batch_size, val_batch_size)):
        loader.update(batch_size=batch, num_workers=0, persistent_workers=False)
    cfg.auto_scale_lr = dict(enable=False, base_batch_size=batch_size)
    cfg.randomness = dict(seed=SEED)


# ------------------------------------------------------------------------------------------ pose (mmpose)
POSE_IMAGE_SIZE = (128, 96)  # height, width of the synthetic photos
POSE_INPUT_SIZE = (96, 128)  # the codec's (width, height): 1/2 of the paper's 192×256, heatmaps 24×32
POSE_IMAGES = dict(train=64, val=24)
POSE_BATCH = 16
POSE_EPOCHS = 40


def _pose_data(root: Path) -> None:
    from ..mm.synthetic import write_coco_keypoints

    for first_id, split in ((1, "train"), (100_001, "val")):
        write_coco_keypoints(
            root / "annotations" / f"person_keypoints_{split}2017.json",
            root / f"{split}2017",
            POSE_IMAGES[split],
            first_id=first_id,
            image_size=POSE_IMAGE_SIZE,
            learnable=True,
        )


def _shrink_pose(cfg: Config, root: Path) -> None:
    channels = _small_backbone(cfg.model.backbone)
    cfg.model.head.in_channels = channels[0]  # V1: the high-resolution branch only

    # The codec (input and heatmap sizes) appears in the head's decoder and in the pipelines' affine transform
    # and target encoder: all change together.
    heatmap = tuple(s // 4 for s in POSE_INPUT_SIZE)
    codec = dict(cfg.codec, input_size=POSE_INPUT_SIZE, heatmap_size=heatmap)
    cfg.codec = codec
    cfg.model.head.decoder = dict(codec)

    def resize(transform: ConfigDict) -> None:
        if transform.get("type") == "TopdownAffine":
            transform.input_size = POSE_INPUT_SIZE
        if transform.get("type") == "GenerateTarget":
            transform.encoder = dict(codec)

    for loader in _loaders(cfg):
        _map_pipeline(loader.dataset.pipeline, resize)
        loader.dataset.data_root = str(root)
    for split, loader in (("train", cfg.train_dataloader), ("val", cfg.val_dataloader), ("val", cfg.test_dataloader)):
        loader.dataset.ann_file = f"annotations/person_keypoints_{split}2017.json"
        loader.dataset.data_prefix = dict(img=f"{split}2017/")
        loader.dataset.pop("bbox_file", None)  # test on the ground-truth boxes: no person detector to imitate
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        evaluator.ann_file = str(root / "annotations" / "person_keypoints_val2017.json")

    for_cpu(cfg, POSE_BATCH, val_batch_size=POSE_IMAGES["val"])
    # The paper's schedule (Adam, lr 1e-3, ×0.1 at 170 and 200 of 210 epochs) compressed to POSE_EPOCHS.
    cfg.train_cfg.update(max_epochs=POSE_EPOCHS, val_interval=POSE_EPOCHS)
    cfg.param_scheduler = [
        dict(type="MultiStepLR", begin=0, end=POSE_EPOCHS, by_epoch=True, gamma=0.1,
             milestones=[round(POSE_EPOCHS * 170 / 210), round(POSE_EPOCHS * 200 / 210)]),
    ]  # fmt: skip
    cfg.default_hooks.checkpoint.update(interval=POSE_EPOCHS // 4, max_keep_ckpts=2)
    cfg.default_hooks.logger.interval = 4  # one line per epoch (64 images / 16)


# ------------------------------------------------------------------------------------------ seg (mmseg)
SEG_IMAGE_SIZE = (128, 256)  # height, width: 1/8 of Cityscapes' 1024×2048
SEG_SHRINK = 8  # every size of the config's pipelines (scale, crop) is divided by this
SEG_IMAGES = dict(train=64, val=16)
SEG_BATCH = 8
SEG_ITERS = 1000


def _seg_data(root: Path) -> None:
    from ..mm.synthetic import write_cityscapes

    write_cityscapes(root, samples=SEG_IMAGES, size=SEG_IMAGE_SIZE, learnable=True)


def shrink_seg_pipeline(pipeline: list, divisor: int = SEG_SHRINK) -> None:
    """Divide every image size of a segmentation pipeline (``scale``, ``crop_size``; nested transforms too) by
    ``divisor``, in place."""

    def shrink(transform: ConfigDict) -> None:
        for key in ("scale", "crop_size"):
            if key in transform:
                transform[key] = tuple(s // divisor for s in transform[key])

    _map_pipeline(pipeline, shrink)


def shrink_seg_sizes(cfg: Config, divisor: int = SEG_SHRINK) -> None:
    """Divide every image size of a segmentation config by ``divisor``, in place: the data preprocessor's crop and
    the pipelines of its three loaders (of each concatenated data set of a train+val loader)."""
    cfg.model.data_preprocessor.size = tuple(s // divisor for s in cfg.model.data_preprocessor.size)
    for loader in _loaders(cfg):
        for dataset in loader.dataset.get("datasets", [loader.dataset]):
            shrink_seg_pipeline(dataset.pipeline, divisor)


def _shrink_seg(cfg: Config, root: Path) -> None:
    channels = _small_backbone(cfg.model.backbone)
    cfg.model.decode_head.in_channels = channels  # V2 head: all four branches, concatenated
    shrink_seg_sizes(cfg)
    for loader in _loaders(cfg):
        loader.dataset.data_root = str(root)
    for_cpu(cfg, SEG_BATCH, val_batch_size=1)
    # The paper's schedule (SGD, lr 0.01, poly to 0) over SEG_ITERS iterations.
    cfg.train_cfg.update(max_iters=SEG_ITERS, val_interval=SEG_ITERS)
    cfg.param_scheduler = [dict(type="PolyLR", eta_min=0.0, power=0.9, begin=0, end=SEG_ITERS, by_epoch=False)]
    cfg.default_hooks.checkpoint.update(interval=SEG_ITERS // 4, max_keep_ckpts=2)
    cfg.default_hooks.logger.interval = 50


# ------------------------------------------------------------------------------------------ det (mmdet)
DET_IMAGE_SIZE = (120, 200)  # height, width on disk: 3:5, the aspect of the config's 800×1333 scale
DET_SCALE_DIVISOR = 800 / 120  # every resize target of the pipelines: (1333, 800) becomes (200, 120)
DET_IMAGES = dict(train=64, val=16)
DET_BATCH = 8
DET_EPOCHS = 24
DET_PYRAMID_CHANNELS = 64  # neck, RPN and RoI features (the config: 256)
DET_FC_CHANNELS = 256  # the box head's two fcs (1024)
DET_RPN_SAMPLES = 256  # anchors sampled per image for the RPN loss (256)
DET_ROI_SAMPLES = 64  # RoIs sampled per image for the box head (512)
DET_PROPOSALS_PRE_NMS, DET_PROPOSALS = 500, 100  # per image (train 2000 / 1000, test 1000 / 1000)


def _det_data(root: Path) -> None:
    from ..mm.synthetic import write_coco_instances

    splits = dict(train=range(1, 1 + DET_IMAGES["train"]), val=range(100_001, 100_001 + DET_IMAGES["val"]))
    write_coco_instances(root, splits, size=DET_IMAGE_SIZE, learnable=True)


def shrink_det_scales(cfg: Config, divisor: float = DET_SCALE_DIVISOR) -> None:
    """Divide every resize target of a detection config's three loaders (``scale``, ``scales``; nested transforms
    too) by ``divisor``, in place, keeping the config's aspect and multi-scale choices."""

    def shrink(transform: ConfigDict) -> None:
        for key in ("scale", "scales"):
            if key in transform:
                value = transform[key]
                pairs = [value] if isinstance(value[0], (int, float)) else value
                small = [tuple(round(v / divisor) for v in pair) for pair in pairs]
                transform[key] = small[0] if isinstance(value[0], (int, float)) else small

    for loader in _loaders(cfg):
        _map_pipeline(loader.dataset.pipeline, shrink)


def point_det_data_at(cfg: Config, root: Path) -> None:
    """A detection config's own COCO data (annotation files, image and stuffthingmaps folders, as its loaders name
    them) under the folder ``root``, in place: the three loaders' ``data_root`` and each evaluator's annotation file
    (the one its loader reads)."""
    for loader in _loaders(cfg):
        if loader.dataset.type != "CocoDataset":
            raise ValueError(f"expected the config's data to be a CocoDataset, got {loader.dataset.type!r}")
        loader.dataset.data_root = str(root)
    for loader, evaluator in ((cfg.val_dataloader, cfg.val_evaluator), (cfg.test_dataloader, cfg.test_evaluator)):
        evaluator.ann_file = str(Path(root) / loader.dataset.ann_file)


def _shrink_det(cfg: Config, root: Path) -> None:
    from ..mm.synthetic import COCO_SMOKE_CATEGORIES

    model = cfg.model
    model.neck.in_channels = _small_backbone(model.backbone)
    classes = tuple(name for _, name in COCO_SMOKE_CATEGORIES)
    model.roi_head.bbox_head.num_classes = len(classes)
    # On a CPU the detector's time goes to RoIAlign (forward and backward) and the box head's two fcs, both
    # proportional to sampled RoIs × pyramid channels, and to the 3×3 convs of neck and RPN on 256 channels.
    # Narrower pyramid and fcs, and fewer proposals and sampled RoIs per image, for images holding 1-3 objects.
    width = DET_PYRAMID_CHANNELS
    model.neck.out_channels = width
    model.rpn_head.update(in_channels=width, feat_channels=width)
    model.roi_head.bbox_roi_extractor.out_channels = width
    model.roi_head.bbox_head.update(in_channels=width, fc_out_channels=DET_FC_CHANNELS)
    model.train_cfg.rpn.sampler.num = DET_RPN_SAMPLES
    model.train_cfg.rpn_proposal.update(nms_pre=DET_PROPOSALS_PRE_NMS, max_per_img=DET_PROPOSALS)
    model.train_cfg.rcnn.sampler.num = DET_ROI_SAMPLES
    model.test_cfg.rpn.update(nms_pre=DET_PROPOSALS_PRE_NMS, max_per_img=DET_PROPOSALS)

    shrink_det_scales(cfg)
    point_det_data_at(cfg, root)
    for loader in _loaders(cfg):
        loader.dataset.metainfo = dict(classes=classes)
    for_cpu(cfg, DET_BATCH, val_batch_size=DET_BATCH)
    # lr 0.02 is mmdet's for 16 images: scaled linearly to the batch (as mmdet's auto_scale_lr does). Without an
    # ImageNet start the first steps are rough (lr 0.02 diverged here): the gradient is clipped as in mmdet's FCOS.
    cfg.optim_wrapper.optimizer.lr = 0.02 * DET_BATCH / 16
    cfg.optim_wrapper.clip_grad = dict(max_norm=35, norm_type=2)
    # mmdet's 1x schedule (SGD lr 0.02 for 16 images, warm-up over 500 iterations, ×0.1 at epochs 8 and 11 of
    # 12) over DET_EPOCHS epochs of DET_IMAGES['train'] / DET_BATCH iterations: the warm-up shrinks with it.
    cfg.train_cfg.update(max_epochs=DET_EPOCHS, val_interval=DET_EPOCHS)
    cfg.param_scheduler = [
        dict(type="LinearLR", start_factor=0.001, by_epoch=False, begin=0, end=50),
        dict(type="MultiStepLR", begin=0, end=DET_EPOCHS, by_epoch=True, gamma=0.1,
             milestones=[round(DET_EPOCHS * 8 / 12), round(DET_EPOCHS * 11 / 12)]),
    ]  # fmt: skip
    cfg.default_hooks.checkpoint.update(interval=DET_EPOCHS // 4, max_keep_ckpts=2)
    cfg.default_hooks.logger.interval = 8  # one line per epoch


# ------------------------------------------------------------------------------------------ the tasks
_DATA: dict[str, Callable[[Path], None]] = dict(pose=_pose_data, seg=_seg_data, det=_det_data)
_SHRINK: dict[str, Callable[[Config, Path], None]] = dict(pose=_shrink_pose, seg=_shrink_seg, det=_shrink_det)
_DATA_SPEC: dict[str, Callable[[], str]] = dict(
    pose=lambda: f"coco keypoints, learnable, {POSE_IMAGES}, image size {POSE_IMAGE_SIZE}\n",
    seg=lambda: f"cityscapes, learnable, {SEG_IMAGES}, image size {SEG_IMAGE_SIZE}\n",
    det=lambda: f"coco instances, learnable, {DET_IMAGES}, image size {DET_IMAGE_SIZE}\n",
)


@dataclass(frozen=True)
class SmokeTask:
    """A paper config shrunk to learn synthetic data on a CPU, and the score it must then reach."""

    name: str  # 'pose' | 'seg' | 'det'
    paper_config: str  # relative to the repository's configs/ folder
    metric: str  # the key of the framework's own evaluator
    threshold: float  # in the evaluator's units

    def write_data(self, data_root: Path) -> Path:
        """The synthetic data set of this task under ``data_root / name``, written once and reused. A marker
        file names what was written: data of other sizes (an older marker) are replaced, and an interrupted
        write (no marker) is redone. Returns the folder."""
        root = Path(data_root).resolve() / self.name
        marker, spec = root / ".synthetic", _DATA_SPEC[self.name]()
        if marker.is_file() and marker.read_text() == spec:
            return root
        if marker.is_file():
            shutil.rmtree(root)  # written here before, for other sizes
        _DATA[self.name](root)
        marker.write_text(spec)
        return root

    def build(self, configs_dir: Path, data_root: Path, processes: int = 1) -> Config:
        """The paper config loaded by ``mmengine.Config.fromfile`` and shrunk (see the module's docstring), its
        data written under ``data_root``. ``work_dir`` and ``launcher`` are left to the caller."""
        from mmengine.config import Config

        root = self.write_data(data_root)
        cfg = Config.fromfile(str(Path(configs_dir) / self.paper_config))
        _SHRINK[self.name](cfg, root)
        _share_batch(cfg, processes)
        return cfg


SMOKE_TASKS: dict[str, SmokeTask] = {
    task.name: task
    for task in (
        SmokeTask("pose", "pose/mmpose_hrnetv1-w32_210e_coco-256x192.py", "coco/AP", 0.9),
        SmokeTask("seg", "seg/mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py", "mIoU", 80.0),
        SmokeTask("det", "det/mmdet_faster-rcnn_hrnetv2p-w18_1x_coco-800x1333.py", "coco/bbox_mAP", 0.5),
    )
}
