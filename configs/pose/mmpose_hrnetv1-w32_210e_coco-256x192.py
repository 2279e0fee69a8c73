# Paper Table 1, HRNetV1-W32 (ImageNet-pretrained), 256×192: COCO val AP 74.4.
_base_ = 'mmpose::body_2d_keypoint/topdown_heatmap/coco/td-hm_hrnet-w32_8xb64-210e_coco-256x192.py'

custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
# mmengine's checkpoints hold numpy arrays and logging buffers: this hook lets the Runner's resume and load_from
# read them under torch's safe loader (weights_only=True), without widening it for any other load.
custom_hooks = [*_base_.custom_hooks, dict(type='hrnet.SafeLoadHook')]  # after mmpose's SyncBuffersHook
# mmpose's stage dicts and its HRNet's defaults: one output, fused only into it (V1)
model = dict(backbone=dict(type='hrnet.HRNet', framework='mmpose'))

# The paper's schedule: Adam, lr 1e-3 for 4 GPUs × 32 images, ×0.1 at epochs 170 and 200, 210 epochs, no warm-up
# (mmpose: lr 5e-4 for 8 × 64 images after a 500-iteration warm-up). The flip test is the paper's; the augmentation
# stays mmpose's, whose box jitter is wider than the paper's rotation in ±45° and scale in [0.65, 1.35].
optim_wrapper = dict(optimizer=dict(lr=1e-3))
param_scheduler = [dict(type='MultiStepLR', begin=0, end=210, milestones=[170, 200], gamma=0.1, by_epoch=True)]
train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=128)
