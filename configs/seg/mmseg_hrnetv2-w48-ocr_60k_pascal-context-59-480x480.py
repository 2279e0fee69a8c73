# Paper Table 5, HRNetV2-W48 + OCR, PASCAL-Context, 59 classes: mIoU 56.2 (tested at six scales with flipping).
_base_ = [  # the V2 row's setup; OCR on its representation
    './mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py',
    './_base_/hrnetv2-w48-ocr.py',
]

model = dict(  # PASCAL-Context's 59 classes, in both stages of the cascade
    _base_.ocr_model, decode_head=[dict(head, num_classes=59) for head in _base_.ocr_model.decode_head])
del _base_.ocr_model  # the base's variable, not a key of this config
