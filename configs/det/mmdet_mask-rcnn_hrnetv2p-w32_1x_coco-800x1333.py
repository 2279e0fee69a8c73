# Paper Table 10, Mask R-CNN HRNetV2p-W32 1x: COCO val mask AP 36.7, box AP 40.9.
_base_ = 'mmdet::hrnet/mask-rcnn_hrnetv2p-w32-1x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
