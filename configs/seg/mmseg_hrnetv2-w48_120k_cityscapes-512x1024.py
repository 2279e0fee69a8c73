# Paper Table 3, HRNetV2-W48, Cityscapes val (single scale, no flipping): mIoU 81.1.
_base_ = 'mmseg::hrnet/fcn_hr48_4xb2-80k_cityscapes-512x1024.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
# mmengine's checkpoints hold numpy arrays and logging buffers: this hook lets the Runner's resume and load_from
# read them under torch's safe loader (weights_only=True), without widening it for any other load.
custom_hooks = [dict(type='hrnet.SafeLoadHook')]
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(type='hrnet.HRNet', framework='mmseg'),  # mmseg's W48 stage dicts and defaults: bilinear fusion
    decode_head=dict(  # the paper's head: concat at 1/4, 1×1 conv + BN + ReLU (15C), 1×1 classifier
        _delete_=True,
        type='hrnet.V2Head',
        in_channels=list(_base_.model.backbone.extra.stage4.num_channels),  # the four branches' widths
        num_classes=19,
        dropout_ratio=-1,
        norm_cfg=norm_cfg))

# The paper's training (§5): random scale in [0.5, 2], 512×1024 crops and flipping (mmseg adds photometric
# distortion: left out); SGD lr 0.01, momentum 0.9, weight decay 5e-4 and SyncBN as mmseg; 4 GPUs × 3 images,
# 120K iterations, poly (power 0.9) down to 0 (mmseg: 4 × 2 images, 80K iterations, poly down to 1e-4).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(512, 1024), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(batch_size=3, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(max_iters=120000)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=120000, by_epoch=False)]
