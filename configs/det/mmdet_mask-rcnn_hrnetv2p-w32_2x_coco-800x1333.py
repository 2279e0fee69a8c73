# Paper Table 10, Mask R-CNN HRNetV2p-W32 2x: COCO val mask AP 37.6, box AP 42.3.
_base_ = 'mmdet::hrnet/mask-rcnn_hrnetv2p-w32-2x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
