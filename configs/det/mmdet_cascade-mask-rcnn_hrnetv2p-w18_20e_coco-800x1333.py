# Paper Table 10, Cascade Mask R-CNN HRNetV2p-W18 20e: COCO val mask AP 36.4, box AP 41.9.
_base_ = 'mmdet::hrnet/cascade-mask-rcnn_hrnetv2p-w18_20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
