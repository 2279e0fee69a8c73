# Paper Table 11, Cascade Mask R-CNN HRNetV2p-W32 20e (~1.6×): COCO test-dev box AP 44.7.
_base_ = '../mmdet_cascade-mask-rcnn_hrnetv2p-w32_20e_coco-800x1333.py'  # Table 10's model, trained on train2017

# test-dev's annotations are withheld: the test writes what the COCO detection server scores (<prefix>.bbox.json and
# <prefix>.segm.json) instead of scoring, at the single scale of the paper's Table 11 (no multi-scale testing). Table
# 11 prints the box AP; the masks are written for the server as well. The images come without annotations, so the test
# pipeline loads none. `hrnet reproduce` writes the files into the row's work dir (submission/); the prefix below
# serves mmdet's tools/test.py.
__data_root = 'data/coco/'  # names starting with '__' are left out of the config by mmengine
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',  # the image list: ids, names and sizes
        data_prefix=dict(img='test2017/'),
        pipeline=[step for step in _base_.test_dataloader.dataset.pipeline if step['type'] != 'LoadAnnotations']))
test_evaluator = dict(
    ann_file=f'{__data_root}annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/cascade-mask-rcnn_hrnetv2p-w32_20e_coco-test-dev-800x1333/detections_test-dev2017_hrnet')
