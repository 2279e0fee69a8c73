# Paper Table 5, HRNetV2-W48, PASCAL-Context, 59 classes: mIoU 54.0 (tested at six scales with flipping).
_base_ = 'mmseg::hrnet/fcn_hr48_4xb4-80k_pascal-context-59-480x480.py'

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
        num_classes=59,
        dropout_ratio=-1,
        norm_cfg=norm_cfg),
    test_cfg=dict(_delete_=True, mode='whole'))

# The paper's setup (§5): Cityscapes' augmentation (random scale in [0.5, 2] of mmseg's 520 base size, 480×480
# crops, flipping; no photometric distortion); SGD lr 0.004 and weight decay 1e-4 for 4 GPUs × 4 images as mmseg;
# 60K iterations, poly down to 0 (mmseg: 80K, down to 1e-4). Testing: the image resized to 480×480 and the
# prediction resized back to the image (mmseg: shorter side 520, sliding 480×480 windows).
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),  # the dataset's reduce_zero_label decides whether background is ignored
    dict(type='RandomResize', scale=(520, 520), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(480, 480), cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(480, 480), keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
# The paper's numbers are tested at six scales with flipping: `hrnet reproduce` tests through mmseg's test-time
# augmentation (test_time_aug below; with mmseg's tools/test.py, add --tta): the 480×480 resize at 0.5 … 1.75, each
# also flipped, the class scores averaged. Validation during training stays single scale.
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=(round(480 * r), round(480 * r)), keep_ratio=False)
             for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)],
            [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
             dict(type='RandomFlip', prob=1.0, direction='horizontal')],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ]),
]
test_time_aug = True
train_cfg = dict(max_iters=60000)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=60000, by_epoch=False)]
