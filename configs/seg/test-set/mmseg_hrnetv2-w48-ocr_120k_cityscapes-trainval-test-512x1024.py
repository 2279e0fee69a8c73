# Paper Table 4, HRNetV2-W48 + OCR, learned on the train+val set, Cityscapes test (six scales and flipping): mIoU 82.5.
_base_ = [  # the V2 train+val row's setup; OCR on its representation, as Table 3's OCR row on the V2 row
    './mmseg_hrnetv2-w48_120k_cityscapes-trainval-test-512x1024.py',
    '../_base_/hrnetv2-w48-ocr.py',
]

model = dict(  # Cityscapes' 19 classes, in both stages of the cascade
    _base_.ocr_model, decode_head=[dict(head, num_classes=19) for head in _base_.ocr_model.decode_head])
del _base_.ocr_model  # the base's variable, not a key of this config
test_evaluator = dict(output_dir='work_dirs/hrnetv2-w48-ocr_120k_cityscapes-trainval-test-512x1024/submission')
