# Paper Table 10, Cascade Mask R-CNN HRNetV2p-W18 20e: COCO val mask AP 36.4, box AP 41.9.
_base_ = 'mmdet::hrnet/cascade-mask-rcnn_hrnetv2p-w18_20e_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
# mmengine's checkpoints hold numpy arrays and logging buffers: this hook lets the Runner's resume and load_from
# read them under torch's safe loader (weights_only=True), without widening it for any other load.
custom_hooks = [dict(type='hrnet.SafeLoadHook')]
model = dict(backbone=dict(type='hrnet.HRNet', framework='mmdet'), neck=dict(type='hrnet.V2pNeck'))
