# Paper Table 10, Cascade Mask R-CNN HRNetV2p-W32 20e: COCO val mask AP 38.5, box AP 44.5.
_base_ = 'mmdet::hrnet/cascade-mask-rcnn_hrnetv2p-w32_20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
