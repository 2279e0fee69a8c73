# Paper Table 5, HRNetV2-W48, PASCAL-Context, 60 classes: mIoU 48.3 (tested at six scales with flipping).
_base_ = './mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py'  # the same setup; background is a class here

dataset_type = 'PascalContextDataset'
model = dict(decode_head=dict(num_classes=60))
train_dataloader = dict(dataset=dict(type=dataset_type))
val_dataloader = dict(dataset=dict(type=dataset_type))
test_dataloader = val_dataloader
