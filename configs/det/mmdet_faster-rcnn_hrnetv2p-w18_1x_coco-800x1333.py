# Paper Table 8, Faster R-CNN HRNetV2p-W18 1x: COCO val box AP 36.2.
_base_ = 'mmdet::hrnet/faster-rcnn_hrnetv2p-w18-1x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
