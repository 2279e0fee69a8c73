# Paper Table 6, HRNetV2-W48, LIP val (flip-averaged): mIoU 55.90.
_base_ = './mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'  # the paper: Cityscapes' augmentation and lr policy

crop_size = (473, 473)
mirrored_labels = [(14, 15), (16, 17), (18, 19)]  # left / right arm, leg and shoe
model = dict(data_preprocessor=dict(size=crop_size), decode_head=dict(num_classes=20))

# The paper's LIP setup (§5): images resized to 473×473, random scale in [0.5, 2], crops and flipping, where the
# left/right arm, leg and shoe labels swap; SGD lr 0.007, momentum 0.9, weight decay 5e-4; 4 GPUs × 10 images,
# 110K iterations, poly down to 0. The paper's numbers are flip-averaged: `hrnet reproduce` tests through
# hrnet.FlipSwapTTAModel (test_time_aug below; with mmseg's tools/test.py, add --tta), which swaps a flipped view's
# left / right class scores back before averaging (mmseg's SegTTAModel does not). Validation stays a single pass.
dataset_type = 'hrnet.LIPDataset'
data_root = 'data/lip/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.5, 2.0), keep_ratio=False),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5, swap_seg_labels=mirrored_labels),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=crop_size, keep_ratio=False),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(
    batch_size=10,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='TrainVal_images/train_id.txt',
        data_prefix=dict(
            img_path='TrainVal_images/train_images', seg_map_path='TrainVal_parsing_annotations/train_segmentations'),
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='TrainVal_images/val_id.txt',
        data_prefix=dict(
            img_path='TrainVal_images/val_images', seg_map_path='TrainVal_parsing_annotations/val_segmentations'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
tta_model = dict(type='hrnet.FlipSwapTTAModel', swap_labels=mirrored_labels)
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale=crop_size, keep_ratio=False)],
            [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
             dict(type='RandomFlip', prob=1.0, direction='horizontal')],
            [dict(type='LoadAnnotations')],
            [dict(type='PackSegInputs')],
        ]),
]
test_time_aug = True
optim_wrapper = dict(optimizer=dict(lr=0.007))
train_cfg = dict(max_iters=110000)
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=110000, by_epoch=False)]
