# Paper Table 5, HRNetV2-W48 + OCR, PASCAL-Context, 60 classes: mIoU 50.1 (tested at six scales with flipping).
_base_ = './mmseg_hrnetv2-w48_60k_pascal-context-480x480.py'  # the V2 row's setup; OCR on its representation

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[  # as mmseg's OCRNet, with the V2 head (0.4 loss weight) giving the soft object regions
        dict(
            type='hrnet.V2Head',
            in_channels=[48, 96, 192, 384],
            num_classes=60,
            dropout_ratio=-1,
            norm_cfg=norm_cfg,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
        dict(
            type='OCRHead',
            in_channels=[48, 96, 192, 384],
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=-1,
            num_classes=60,
            norm_cfg=norm_cfg),
    ])
