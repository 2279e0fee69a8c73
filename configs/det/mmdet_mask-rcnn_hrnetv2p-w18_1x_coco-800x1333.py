# Paper Table 10, Mask R-CNN HRNetV2p-W18 1x: COCO val mask AP 33.8, box AP 37.1.
_base_ = 'mmdet::hrnet/mask-rcnn_hrnetv2p-w18-1x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
