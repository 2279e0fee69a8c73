# Paper Table 6, HRNetV2-W48 + OCR, LIP val (flip-averaged): mIoU 56.48.
_base_ = [  # the V2 row's setup; OCR on its representation
    './mmseg_hrnetv2-w48_110k_lip-473x473.py',
    './_base_/hrnetv2-w48-ocr.py',
]

model = dict(  # LIP's 20 classes, in both stages of the cascade
    _base_.ocr_model, decode_head=[dict(head, num_classes=20) for head in _base_.ocr_model.decode_head])
del _base_.ocr_model  # the base's variable, not a key of this config
