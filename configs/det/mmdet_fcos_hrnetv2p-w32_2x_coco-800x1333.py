# Paper Table 9, FCOS HRNetV2p-W32 2x: COCO val box AP 41.9.
# As the FCOS authors' 2x: multi-scale training (shorter side 640-800); levels at strides 8-128.
_base_ = 'mmdet::hrnet/fcos_hrnetv2p-w32-gn-head_ms-640-800-4xb4-2x_coco.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
# mmengine's checkpoints hold numpy arrays and logging buffers: this hook lets the Runner's resume and load_from
# read them under torch's safe loader (weights_only=True), without widening it for any other load.
custom_hooks = [dict(type='hrnet.SafeLoadHook')]
model = dict(backbone=dict(type='hrnet.HRNet', framework='mmdet'), neck=dict(type='hrnet.V2pNeck'))
