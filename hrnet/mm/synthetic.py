"""Synthetic data sets in the real on-disk formats of COCO (keypoints, instances, stuffthingmaps, test-dev's image
list), Cityscapes (test split included), PASCAL-Context and LIP, so that a config runs through its framework's own
dataset, pipeline and metric without the real data.

Each generator has two flavours. The default draws noise (random pixels, random keypoints, bands of labels): it
exercises the formats and the code paths in a few samples and nothing can be learnt from it. ``learnable=True``
draws images whose labels follow from what is visible (coloured discs at the keypoints, coloured shapes for the
classes), so a short training run that works scores high and an untrained model scores near zero.

All writers are deterministic for a given seed / image id.
"""

from __future__ import annotations

import colorsys
import json
from pathlib import Path
from typing import Sequence

import cv2
import numpy as np

__all__ = [
    "COCO_KEYPOINTS",
    "COCO_SKELETON",
    "COCO_CATEGORY_IDS",
    "CITYSCAPES_SMOKE_CLASSES",
    "COCO_SMOKE_CATEGORIES",
    "write_coco_keypoints",
    "write_person_detections",
    "write_coco_image_info",
    "write_seg_sample",
    "write_cityscapes",
    "write_pascal_context",
    "write_lip",
    "draw_coco_instances",
    "write_coco_instances",
    "coco_person_category",
    "coco_categories",
]

# ------------------------------------------------------------------------------------------ COCO keypoints
# COCO's person category as its keypoint annotation format documents it.
COCO_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
    "right_ankle",
)  # fmt: skip
COCO_SKELETON: list[list[int]] = [
    [16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13], [6, 7], [6, 8], [7, 9], [8, 10], [9, 11],
    [2, 3], [1, 2], [1, 3], [2, 4], [3, 5], [4, 6], [5, 7],
]  # fmt: skip

# A person facing the camera, in units of its height: (x, y) with x from the body's axis towards the image's
# right (the person's left side) and y from the top of the head. Left and right parts mirror each other.
_POSE_LAYOUT = np.array([
    (0.00, 0.10),                    # nose
    (0.05, 0.04), (-0.05, 0.04),     # eyes
    (0.10, 0.08), (-0.10, 0.08),     # ears
    (0.15, 0.22), (-0.15, 0.22),     # shoulders
    (0.24, 0.38), (-0.24, 0.38),     # elbows
    (0.28, 0.54), (-0.28, 0.54),     # wrists
    (0.09, 0.55), (-0.09, 0.55),     # hips
    (0.11, 0.76), (-0.11, 0.76),     # knees
    (0.12, 0.97), (-0.12, 0.97),     # ankles
])  # fmt: skip
# How far each keypoint may move from the layout (units of height): limbs more than the head.
_POSE_JITTER = np.array([0.015] * 5 + [0.02] * 2 + [0.05] * 4 + [0.02] * 2 + [0.04] * 4)


def _keypoint_colours() -> list[tuple[int, int, int]]:
    """One saturated BGR colour per left/right pair (and the nose). A pair shares its colour because mmpose's
    flip augmentation and flip test mirror the image *and* exchange left and right labels: a colour per
    keypoint would name the wrong side on every flipped sample. The side follows from the body's layout."""
    groups = 1 + (len(COCO_KEYPOINTS) - 1) // 2
    hues = [colorsys.hsv_to_rgb(i / groups, 1.0, 1.0) for i in range(groups)]
    pairs = [tuple(int(255 * c) for c in reversed(rgb)) for rgb in hues]
    return [pairs[0]] + [pairs[1 + (k - 1) // 2] for k in range(1, len(COCO_KEYPOINTS))]


def _noise_background(rng: np.random.Generator, size: tuple[int, int], sigma: float = 8.0) -> np.ndarray:
    """A plain, slightly tinted grey image of random brightness with pixel noise."""
    level = rng.uniform(40, 200) + rng.normal(0.0, 6.0, 3)
    image = level + rng.normal(0.0, sigma, (*size, 1))
    return np.clip(image, 0, 255).astype(np.uint8)


def _random_person(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """Noise image and 17 keypoints spread uniformly over a fixed box: only the annotation format counts."""
    height, width = size
    box = [16.0, 12.0, width - 32.0, height - 24.0]
    x, y, w, h = box
    image = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
    points = np.stack([rng.uniform(x, x + w, 17), rng.uniform(y, y + h, 17)], axis=1)
    return image, points, box


def _drawn_person(rng: np.random.Generator, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, list[float]]:
    """A person of random height and place drawn as 17 coloured discs on a noisy background; the box holds the
    discs with a margin."""
    height, width = size
    radius = max(2, round(min(size) / 40))
    body = rng.uniform(0.6, 0.85) * height
    points = (_POSE_LAYOUT + rng.uniform(-1, 1, _POSE_LAYOUT.shape) * _POSE_JITTER[:, None]) * body
    margin = 3.0 * radius
    low, high = points.min(0) - margin, points.max(0) + margin
    points += rng.uniform(-low, np.array([width, height]) - high)
    image = _noise_background(rng, size)
    for (px, py), colour in zip(points, _keypoint_colours()):
        cv2.circle(image, (int(round(px)), int(round(py))), radius, colour, -1, lineType=cv2.LINE_AA)
    x0, y0 = np.maximum(points.min(0) - margin, 0)
    x1, y1 = np.minimum(points.max(0) + margin, (width - 1, height - 1))
    return image, points, [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]


def write_coco_keypoints(
    ann_file: Path,
    image_dir: Path,
    num_images: int,
    first_id: int = 1,
    image_size: tuple[int, int] = (128, 96),
    learnable: bool = False,
    seed: int | None = None,
) -> list[dict]:
    """COCO keypoint data: ``num_images`` photos (``<id:012d>.jpg``, one person each) in ``image_dir`` and their
    ``person_keypoints_*.json``-style annotation file; returns the annotations.

    ``image_size`` is (height, width). ``learnable`` draws each person as discs of one colour per keypoint pair
    in a body layout; otherwise images and keypoints are noise. ``seed`` defaults to ``first_id``.
    """
    rng = np.random.default_rng(first_id if seed is None else seed)
    image_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for image_id in range(first_id, first_id + num_images):
        image, points, box = (_drawn_person if learnable else _random_person)(rng, image_size)
        name = f"{image_id:012d}.jpg"
        if not cv2.imwrite(str(image_dir / name), image):
            raise OSError(f"could not write {image_dir / name}")
        images.append(dict(id=image_id, file_name=name, height=image_size[0], width=image_size[1]))
        keypoints = np.concatenate([points, np.full((len(points), 1), 2.0)], axis=1)  # all labelled, visible
        box = [round(v, 2) for v in box]
        annotations.append(
            dict(
                id=image_id,
                image_id=image_id,
                category_id=1,
                iscrowd=0,
                bbox=box,
                area=round(box[2] * box[3], 2),
                num_keypoints=len(points),
                keypoints=[round(float(v), 2) for v in keypoints.ravel()],
            )
        )
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(dict(images=images, annotations=annotations, categories=[coco_person_category()])))
    return annotations


def coco_person_category() -> dict:
    """COCO's person category as its keypoint files hold it: keypoint names and skeleton."""
    return dict(id=1, name="person", supercategory="person", keypoints=list(COCO_KEYPOINTS), skeleton=COCO_SKELETON)


def write_person_detections(bbox_file: Path, annotations: Sequence[dict], shift: float = 2.0) -> None:
    """A person detector's output in COCO's results format (``image_id``, ``category_id``, ``bbox``, ``score``):
    the annotated boxes moved by ``shift`` pixels."""
    bbox_file.parent.mkdir(parents=True, exist_ok=True)
    boxes = [
        dict(image_id=a["image_id"], category_id=1, bbox=[v + shift for v in a["bbox"]], score=0.9) for a in annotations
    ]
    bbox_file.write_text(json.dumps(boxes))


def write_noise_photo(path: Path, size: tuple[int, int], seed: int) -> None:
    """An image of a test split, whose labels the benchmark's server keeps: noise of ``size`` (height, width)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)):
        raise OSError(f"could not write {path}")


def write_coco_image_info(
    ann_file: Path,
    image_dir: Path,
    image_ids: Sequence[int],
    size: tuple[int, int] = (128, 96),
    categories: Sequence[dict] | None = None,
) -> list[dict]:
    """A COCO test split as its release holds it (``test2017/<id:012d>.jpg`` and an
    ``image_info_test-dev2017.json``): noise photos of ``size`` (height, width) and the image list with the
    categories, but no annotations (the evaluation server keeps them). ``categories`` defaults to COCO's 80 with
    mmdet's names. Returns the image records."""
    if categories is None:
        categories = coco_categories()
    image_dir.mkdir(parents=True, exist_ok=True)
    images = []
    for image_id in image_ids:
        name = f"{image_id:012d}.jpg"
        write_noise_photo(image_dir / name, size, seed=image_id)
        images.append(dict(id=image_id, file_name=name, height=size[0], width=size[1]))
    ann_file.parent.mkdir(parents=True, exist_ok=True)
    ann_file.write_text(json.dumps(dict(images=images, categories=list(categories))))
    return images


# ------------------------------------------------------------------------------------------ segmentation
# The classes of the learnable Cityscapes data (train ids): road as the background, then building, vegetation,
# person and car as shapes.
CITYSCAPES_SMOKE_CLASSES: tuple[int, ...] = (0, 2, 8, 11, 13)
# Well separated BGR colours for the classes of a learnable sample, in the order of its ``labels``.
_CLASS_COLOURS: tuple[tuple[int, int, int], ...] = (
    (128, 128, 128), (40, 40, 220), (40, 200, 40), (220, 60, 40), (30, 210, 230), (200, 40, 200), (220, 220, 40),
    (20, 20, 20),
)  # fmt: skip


def _band_sample(rng: np.random.Generator, size: tuple[int, int], labels: Sequence[int]) -> tuple[np.ndarray, ...]:
    """Noise image; label map of eight horizontal bands drawn from ``labels`` (so crops see several classes)
    and an ignored (255) corner."""
    height, width = size
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    bands = rng.choice(labels, size=8)
    label = np.repeat(bands, -(-height // 8))[:height, None].repeat(width, axis=1).astype(np.uint8)
    label[: height // 10, : width // 10] = 255
    return image, label


def _shape_sample(rng: np.random.Generator, size: tuple[int, int], labels: Sequence[int]) -> tuple[np.ndarray, ...]:
    """Background of class ``labels[0]``; two to five rectangles and ellipses of the other classes, each class
    in its own colour, with pixel noise. Shapes span 1/6 to 1/2 of the image height, large enough that a
    prediction at 1/4 resolution, upsampled, covers them well."""
    if len(labels) > len(_CLASS_COLOURS):
        raise ValueError(f"at most {len(_CLASS_COLOURS)} classes in a learnable sample, got {len(labels)}")
    height, width = size
    classes = np.zeros(size, np.uint8)  # index into labels
    for _ in range(rng.integers(2, 6)):
        index = int(rng.integers(1, len(labels)))
        h, w = (rng.uniform(1 / 6, 1 / 2) * height, rng.uniform(1 / 6, 1 / 2) * height * rng.uniform(0.7, 1.8))
        cx, cy = rng.uniform(w / 2, width - w / 2), rng.uniform(h / 2, height - h / 2)
        if rng.random() < 0.5:
            cv2.rectangle(classes, (int(cx - w / 2), int(cy - h / 2)), (int(cx + w / 2), int(cy + h / 2)), index, -1)
        else:
            cv2.ellipse(classes, (int(cx), int(cy)), (int(w / 2), int(h / 2)), 0, 0, 360, index, -1)
    palette = np.array(_CLASS_COLOURS[: len(labels)], np.float32)
    image = palette[classes] + rng.normal(0.0, 12.0, (*size, 3))
    label = np.asarray(labels, np.uint8)[classes]
    return np.clip(image, 0, 255).astype(np.uint8), label


def write_seg_sample(
    image_path: Path,
    label_path: Path,
    size: tuple[int, int],
    labels: Sequence[int],
    seed: int,
    learnable: bool = False,
) -> None:
    """One image and its label map (class ids from ``labels``) of ``size`` (height, width). ``learnable``
    draws coloured shapes on a background of ``labels[0]``; otherwise a noise image with bands of labels."""
    rng = np.random.default_rng(seed)
    image, label = (_shape_sample if learnable else _band_sample)(rng, size, labels)
    for path in (image_path, label_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    if not (cv2.imwrite(str(image_path), image) and cv2.imwrite(str(label_path), label)):
        raise OSError(f"could not write {image_path} / {label_path}")


def write_cityscapes(
    root: Path,
    samples: int | dict[str, int] = 2,
    size: tuple[int, int] = (128, 256),
    labels: Sequence[int] | None = None,
    learnable: bool = False,
) -> Path:
    """Cityscapes' layout: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/*_gtFine_labelTrainIds.png`` (train ids; all 19 by default, or
    ``CITYSCAPES_SMOKE_CLASSES`` when learnable). ``samples`` per split, or a dict ``{'train': n, 'val': m}``;
    a ``'test'`` split holds images only, as the release (the benchmark's server keeps its labels). The default
    size is 1/8 of Cityscapes' 1024×2048."""
    counts = samples if isinstance(samples, dict) else dict(train=samples, val=samples)
    labels = list(labels if labels is not None else CITYSCAPES_SMOKE_CLASSES if learnable else range(19))
    for split, count in counts.items():
        offset = 0 if split == "train" else 100_000  # learnable: other images for val (noise: the same)
        for i in range(count):
            stem = f"synth_{i:06d}_000019"
            if split == "test":
                write_noise_photo(root / "leftImg8bit" / split / "synth" / f"{stem}_leftImg8bit.png", size, seed=i)
                continue
            write_seg_sample(
                root / "leftImg8bit" / split / "synth" / f"{stem}_leftImg8bit.png",
                root / "gtFine" / split / "synth" / f"{stem}_gtFine_labelTrainIds.png",
                size,
                labels,
                seed=i + (offset if learnable else 0),
                learnable=learnable,
            )
    return root


def write_pascal_context(voc: Path, samples: int = 2, size: tuple[int, int] = (48, 64)) -> Path:
    """VOC2010 with ``JPEGImages/*.jpg``, ``SegmentationClassContext/*.png`` (0 background, 1 … 59) and the
    ``ImageSets/SegmentationContext`` id lists."""
    for split in ("train", "val"):
        ids = [f"2008_{split}{i:02d}" for i in range(samples)]
        for i, name in enumerate(ids):
            image, label = voc / "JPEGImages" / f"{name}.jpg", voc / "SegmentationClassContext" / f"{name}.png"
            write_seg_sample(image, label, size, list(range(60)), seed=i)
        (voc / "ImageSets" / "SegmentationContext").mkdir(parents=True, exist_ok=True)
        (voc / "ImageSets" / "SegmentationContext" / f"{split}.txt").write_text("\n".join(ids) + "\n")
    return voc


def write_lip(root: Path, samples: int = 2, size: tuple[int, int] = (64, 48)) -> Path:
    """LIP's release layout: ``TrainVal_images/<split>_images/<id>.jpg``,
    ``TrainVal_parsing_annotations/<split>_segmentations/<id>.png`` (class ids 0 … 19) and
    ``TrainVal_images/<split>_id.txt``."""
    for split in ("train", "val"):
        ids = [f"{100000 + i}_{split}" for i in range(samples)]
        for i, name in enumerate(ids):
            write_seg_sample(
                root / "TrainVal_images" / f"{split}_images" / f"{name}.jpg",
                root / "TrainVal_parsing_annotations" / f"{split}_segmentations" / f"{name}.png",
                size,
                list(range(20)),
                seed=i,
            )
        (root / "TrainVal_images" / f"{split}_id.txt").write_text("\n".join(ids) + "\n")
    return root


# ------------------------------------------------------------------------------------------ COCO instances
# COCO's 80 category ids (1 … 90 with gaps), in the order of mmdet's class names.
COCO_CATEGORY_IDS: tuple[int, ...] = tuple(i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83))
# The learnable detection data's three COCO categories (id, name), each drawn as its own shape and colour.
COCO_SMOKE_CATEGORIES: tuple[tuple[int, str], ...] = ((1, "person"), (3, "car"), (18, "dog"))
_PERSON, _DOG = 1, 18
_STUFF_BACKGROUND, _UNLABELED = 155, 255  # stuffthingmaps: pixel value = category id - 1, 255 = unlabeled
_SMOKE_SHAPES = {1: ("rectangle", (40, 40, 230)), 3: ("triangle", (40, 210, 40)), 18: ("ellipse", (230, 90, 30))}


def _polygon_annotation(category_id: int, polygon: np.ndarray) -> dict:
    """An instance given by one polygon (COCO's ``[[x0, y0, x1, y1, ...]]``)."""
    xs, ys = polygon[:, 0], polygon[:, 1]
    return dict(
        category_id=category_id,
        segmentation=[polygon.flatten().astype(float).tolist()],
        area=float(cv2.contourArea(polygon.astype(np.float32))),
        bbox=[float(xs.min()), float(ys.min()), float(np.ptp(xs)), float(np.ptp(ys))],
    )


def _rle_annotation(category_id: int, mask: np.ndarray) -> dict:
    """An instance given by a binary mask, stored as compressed RLE."""
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    return dict(
        category_id=category_id,
        segmentation=dict(size=list(rle["size"]), counts=rle["counts"].decode("ascii")),
        area=float(mask_utils.area(rle)),
        bbox=[float(v) for v in mask_utils.toBbox(rle)],
    )


def _format_instances(image_id: int, size: tuple[int, int]) -> tuple[np.ndarray, list[dict], np.ndarray]:
    """A person (polygon annotation) and a dog (RLE annotation) that move with the image id, on noise."""
    height, width = size
    rng = np.random.default_rng(image_id)
    image = rng.integers(0, 60, (height, width, 3), dtype=np.uint8)
    labels = np.full(size, _STUFF_BACKGROUND, np.uint8)
    labels[:4] = _UNLABELED
    shift = 12 * image_id
    quad = np.array([[20 + shift, 30], [90 + shift, 24], [96 + shift, 150], [26 + shift, 160]], np.int32)
    cv2.fillPoly(image, [quad], (40, 200, 90))
    cv2.fillPoly(labels, [quad], _PERSON - 1)
    dog = np.zeros(size, np.uint8)
    cv2.ellipse(dog, (170, 100 - shift // 2), (45, 28), 15, 0, 360, 1, -1)
    image[dog > 0] = (220, 60, 30)
    labels[dog > 0] = _DOG - 1
    return image, [_polygon_annotation(_PERSON, quad), _rle_annotation(_DOG, dog)], labels


def _shape_instances(image_id: int, size: tuple[int, int]) -> tuple[np.ndarray, list[dict], np.ndarray]:
    """One to three non-overlapping shapes, the category telling shape and colour (``_SMOKE_SHAPES``), on a
    noisy background. Rectangles and triangles are polygon annotations, ellipses RLE."""
    height, width = size
    rng = np.random.default_rng(image_id)
    image = _noise_background(rng, size, sigma=6.0)
    labels = np.full(size, _STUFF_BACKGROUND, np.uint8)
    occupied = np.zeros(size, bool)
    instances: list[dict] = []
    wanted = int(rng.integers(1, 4))
    for _ in range(50):  # rejection sampling of free places
        if len(instances) == wanted:
            break
        category_id = COCO_SMOKE_CATEGORIES[int(rng.integers(len(COCO_SMOKE_CATEGORIES)))][0]
        kind, colour = _SMOKE_SHAPES[category_id]
        w, h = rng.uniform(0.2, 0.5) * min(size), rng.uniform(0.2, 0.5) * min(size)
        x0, y0 = rng.uniform(2, width - w - 2), rng.uniform(2, height - h - 2)
        if occupied[int(y0) - 2 : int(y0 + h) + 3, int(x0) - 2 : int(x0 + w) + 3].any():
            continue
        mask = np.zeros(size, np.uint8)
        if kind == "ellipse":
            cv2.ellipse(mask, (round(x0 + w / 2), round(y0 + h / 2)), (round(w / 2), round(h / 2)), 0, 0, 360, 1, -1)
            annotation = _rle_annotation(category_id, mask)
        else:
            corners = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h]]
            if kind == "triangle":
                corners = [[x0 + w / 2, y0], [x0 + w, y0 + h], [x0, y0 + h]]
            polygon = np.round(np.array(corners)).astype(np.int32)
            cv2.fillPoly(mask, [polygon], 1)
            annotation = _polygon_annotation(category_id, polygon)
        occupied[int(y0) : int(y0 + h) + 1, int(x0) : int(x0 + w) + 1] = True
        noise = rng.normal(0.0, 10.0, (int(mask.sum()), 3))
        image[mask > 0] = np.clip(np.array(colour) + noise, 0, 255).astype(np.uint8)
        labels[mask > 0] = category_id - 1
        instances.append(annotation)
    return image, instances, labels


def draw_coco_instances(
    image_id: int, size: tuple[int, int] = (180, 240), learnable: bool = False
) -> tuple[np.ndarray, list[dict], np.ndarray]:
    """One image (BGR, ``size`` = (height, width)), its instance annotations (without ids) and its
    stuffthingmaps label map (category id - 1, 255 unlabeled). The format flavour holds a person as a polygon
    and a dog as RLE, placed by the image id; the learnable one 1 to 3 shapes of ``COCO_SMOKE_CATEGORIES``."""
    return (_shape_instances if learnable else _format_instances)(image_id, size)


def coco_categories() -> list[dict]:
    """COCO's 80 categories with their COCO ids and mmdet's names, as the annotation files list them."""
    from mmdet.datasets import CocoDataset

    return [
        dict(id=i, name=name, supercategory="object")
        for i, name in zip(COCO_CATEGORY_IDS, CocoDataset.METAINFO["classes"])
    ]


def write_coco_instances(
    root: Path,
    splits: dict[str, Sequence[int]],
    size: tuple[int, int] = (180, 240),
    learnable: bool = False,
) -> Path:
    """COCO 2017's layout under ``root``: ``{split}2017/<id:012d>.jpg``, ``annotations/instances_{split}2017.json``
    (all 80 categories with their COCO ids and mmdet's names) and ``stuffthingmaps/{split}2017/<id:012d>.png``
    (for HTC's semantic branch). ``splits`` maps a split name to its image ids."""
    categories = coco_categories()
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    annotation_id = 0
    for split, image_ids in splits.items():
        images, annotations = [], []
        for folder in (root / f"{split}2017", root / "stuffthingmaps" / f"{split}2017"):
            folder.mkdir(parents=True, exist_ok=True)
        for image_id in image_ids:
            file_name = f"{image_id:012d}.jpg"
            image, instances, labels = draw_coco_instances(image_id, size, learnable)
            if not cv2.imwrite(str(root / f"{split}2017" / file_name), image):
                raise OSError(f"could not write {root / f'{split}2017' / file_name}")
            cv2.imwrite(str(root / "stuffthingmaps" / f"{split}2017" / f"{image_id:012d}.png"), labels)
            images.append(dict(id=image_id, file_name=file_name, width=size[1], height=size[0]))
            for instance in instances:
                annotation_id += 1
                annotations.append(dict(instance, id=annotation_id, image_id=image_id, iscrowd=0))
        content = dict(images=images, annotations=annotations, categories=categories)
        (root / "annotations" / f"instances_{split}2017.json").write_text(json.dumps(content))
    return root
