# Paper Table 2, HRNetV1-W32 (ImageNet-pretrained), 384×288: COCO test-dev AP 74.9.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-384x288.py'  # Table 1's model, trained alike on train2017 (§4)

# test-dev's keypoints are withheld: the test writes the results json the COCO keypoint server scores, instead of
# scoring. The people are SimpleBaseline's detections on test-dev, as for val (§4); the flip test stays the paper's.
# `hrnet reproduce` writes the file into the row's work dir (submission/); the prefix below serves tools/test.py.
__data_root = 'data/coco/'  # names starting with '__' are left out of the config by mmengine
test_dataloader = dict(
    dataset=dict(
        ann_file='annotations/image_info_test-dev2017.json',  # the image list: ids, names and sizes, no people
        bbox_file=f'{__data_root}person_detection_results/COCO_test-dev2017_detections_AP_H_609_person.json',
        data_prefix=dict(img='test2017/')))
test_evaluator = dict(
    type='CocoMetric',
    ann_file=f'{__data_root}annotations/image_info_test-dev2017.json',
    format_only=True,
    outfile_prefix='work_dirs/hrnetv1-w32_210e_coco-test-dev-384x288/person_keypoints_test-dev2017_hrnet')
