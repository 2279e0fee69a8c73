# Paper Table 9, FCOS HRNetV2p-W32 2x: COCO val box AP 41.9.
# As the FCOS authors' 2x: multi-scale training (shorter side 640-800); levels at strides 8-128.
_base_ = 'mmdet::hrnet/fcos_hrnetv2p-w32-gn-head_ms-640-800-4xb4-2x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
