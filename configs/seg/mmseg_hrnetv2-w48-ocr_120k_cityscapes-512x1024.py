# Paper Table 3, HRNetV2-W48 + OCR, Cityscapes val (single scale, no flipping): mIoU 81.6.
_base_ = [  # the V2 row's setup; OCR on its representation
    './mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py',
    './_base_/hrnetv2-w48-ocr.py',
]

model = dict(  # Cityscapes' 19 classes, in both stages of the cascade
    _base_.ocr_model, decode_head=[dict(head, num_classes=19) for head in _base_.ocr_model.decode_head])
del _base_.ocr_model  # the base's variable, not a key of this config
