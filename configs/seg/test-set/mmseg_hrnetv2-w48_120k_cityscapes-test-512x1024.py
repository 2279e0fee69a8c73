# Paper Table 4, HRNetV2-W48, learned on the train set, Cityscapes test (six scales and flipping): mIoU 80.4.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'  # Table 3's model and training (train set, §5)

# Cityscapes test's labels are withheld: the test writes what the benchmark's server scores, one
# <image>_leftImg8bit.png per test image holding Cityscapes label ids (7 road, 8 sidewalk, 11 building, …; mmseg's
# CityscapesMetric turns the model's train ids into them), instead of scoring; it needs cityscapesscripts. The
# images come without labels, so neither test pipeline loads any. The paper tests at six scales with flipping:
# `hrnet reproduce` tests through mmseg's test-time augmentation (test_time_aug below; with mmseg's tools/test.py, add
# --tta), the image at 0.5 … 1.75 of its size, each also flipped, the class scores averaged. `hrnet reproduce` writes
# the pngs into the row's work dir (submission/); the folder below serves mmseg's tools/test.py.
test_dataloader = dict(
    dataset=dict(
        data_prefix=dict(img_path='leftImg8bit/test', seg_map_path='gtFine/test'),
        pipeline=[step for step in _base_.test_dataloader.dataset.pipeline if step['type'] != 'LoadAnnotations']))
test_evaluator = dict(
    _delete_=True,
    type='CityscapesMetric',
    format_only=True,
    keep_results=True,  # mmseg deletes the folder at exit otherwise
    output_dir='work_dirs/hrnetv2-w48_120k_cityscapes-test-512x1024/submission')
tta_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='TestTimeAug',
        transforms=[
            [dict(type='Resize', scale_factor=r, keep_ratio=True) for r in (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)],
            [dict(type='RandomFlip', prob=0.0, direction='horizontal'),
             dict(type='RandomFlip', prob=1.0, direction='horizontal')],
            [dict(type='PackSegInputs')],
        ]),
]
test_time_aug = True
