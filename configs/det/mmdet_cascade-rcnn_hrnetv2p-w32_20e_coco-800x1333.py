# Paper Table 8, Cascade R-CNN HRNetV2p-W32 20e: COCO val box AP 43.7.
_base_ = 'mmdet::hrnet/cascade-rcnn_hrnetv2p-w32-20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
