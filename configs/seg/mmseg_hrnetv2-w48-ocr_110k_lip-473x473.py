# Paper Table 6, HRNetV2-W48 + OCR, LIP val (flip-averaged): mIoU 56.48.
_base_ = './mmseg_hrnetv2-w48_110k_lip-473x473.py'  # the V2 row's setup; OCR on its representation

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[  # as mmseg's OCRNet, with the V2 head (0.4 loss weight) giving the soft object regions
        dict(
            type='hrnet.V2Head',
            in_channels=[48, 96, 192, 384],
            num_classes=20,
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
            num_classes=20,
            norm_cfg=norm_cfg),
    ])
