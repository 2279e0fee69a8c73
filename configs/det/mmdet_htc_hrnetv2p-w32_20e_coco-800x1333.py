# Paper Table 10, Hybrid Task Cascade HRNetV2p-W32 20e: COCO val mask AP 39.6, box AP 45.3.
_base_ = 'mmdet::hrnet/htc_hrnetv2p-w32_20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
