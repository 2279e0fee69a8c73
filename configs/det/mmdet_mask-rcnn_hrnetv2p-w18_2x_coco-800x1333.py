# Paper Table 10, Mask R-CNN HRNetV2p-W18 2x: COCO val mask AP 35.3, box AP 39.2.
_base_ = 'mmdet::hrnet/mask-rcnn_hrnetv2p-w18-2x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
