# Paper Table 10, Hybrid Task Cascade HRNetV2p-W18 20e: COCO val mask AP 37.9, box AP 43.1.
_base_ = 'mmdet::hrnet/htc_hrnetv2p-w18_20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
model = dict(backbone=dict(type='hrnet.HRNet'), neck=dict(type='hrnet.V2pNeck'))
