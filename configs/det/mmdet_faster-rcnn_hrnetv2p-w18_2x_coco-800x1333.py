# Paper Table 8, Faster R-CNN HRNetV2p-W18 2x: COCO val box AP 38.0.
_base_ = 'mmdet::hrnet/faster-rcnn_hrnetv2p-w18-2x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
