# Paper Table 4, HRNetV2-W48, learned on the train+val set, Cityscapes test (six scales and flipping): mIoU 81.6.
_base_ = './mmseg_hrnetv2-w48_120k_cityscapes-test-512x1024.py'  # the train-set row's model, schedule and test

# "the model learned on the train+val set" (§5, Table 4): the 2,975 train and 500 val images as one training set,
# with the same augmentation and the same 120K iterations (the paper names no other schedule for it).
__train = _base_.train_dataloader.dataset  # names starting with '__' are left out of the config by mmengine
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ConcatDataset',
        datasets=[__train, dict(__train, data_prefix=dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val'))]))
test_evaluator = dict(output_dir='work_dirs/hrnetv2-w48_120k_cityscapes-trainval-test-512x1024/submission')
