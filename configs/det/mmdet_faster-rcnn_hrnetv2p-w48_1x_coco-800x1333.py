# Paper Table 8, Faster R-CNN HRNetV2p-W48 1x: COCO val box AP 41.3.
_base_ = 'mmdet::hrnet/faster-rcnn_hrnetv2p-w40-1x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(
    backbone=dict(  # no mmdet config has W48: the arch replaces the W40 stage dicts
        _delete_=True,
        type='hrnet.HRNet',
        arch='w48',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://msra/hrnetv2_w48')),
    neck=dict(type='hrnet.V2pNeck', in_channels=[48, 96, 192, 384]))
