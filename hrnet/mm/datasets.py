"""LIP (Look Into Person, Gong et al. 2017) for mmseg, which has no LIP dataset: 20 classes, background
included, in the layout the LIP release and the paper's segmentation code use (``TrainVal_images/
{train,val}_images/<id>.jpg``, ``TrainVal_parsing_annotations/{train,val}_segmentations/<id>.png`` holding
class ids, ``TrainVal_images/{train,val}_id.txt`` listing the ids)."""

from __future__ import annotations

from mmseg.datasets import BaseSegDataset

from .registry import DATASETS

LIP_CLASSES: tuple[str, ...] = (
    "Background", "Hat", "Hair", "Glove", "Sunglasses", "UpperClothes", "Dress", "Coat", "Socks", "Pants",
    "Jumpsuits", "Scarf", "Skirt", "Face", "Left-arm", "Right-arm", "Left-leg", "Right-leg", "Left-shoe", "Right-shoe",
)  # fmt: skip


@DATASETS.register_module(name="LIPDataset")
class LIPDataset(BaseSegDataset):
    """Human parsing on LIP: RGB ``.jpg`` images, ``.png`` label maps of class ids 0 … 19 (0 = background, a
    class of its own, so nothing is reduced), 255 ignored."""

    METAINFO = dict(
        classes=LIP_CLASSES,
        palette=[[37 * i % 256, 91 * i % 256, 157 * i % 256] for i in range(len(LIP_CLASSES))],
    )

    def __init__(self, img_suffix: str = ".jpg", seg_map_suffix: str = ".png", **kwargs) -> None:
        if kwargs.get("reduce_zero_label"):
            raise ValueError("reduce_zero_label must be False for LIP: label 0 is background, one of its 20 classes")
        super().__init__(img_suffix=img_suffix, seg_map_suffix=seg_map_suffix, **kwargs)
