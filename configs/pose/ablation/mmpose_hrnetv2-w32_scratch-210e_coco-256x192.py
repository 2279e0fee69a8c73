# Paper §7, HRNetV2-W32 (no ImageNet pretraining), 256×192: COCO val AP 73.6.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# "V1 vs. V2": the heatmaps from the HRNetV2 representation (the four maps upsampled to 1/4, concatenated and mixed
# by a 1×1 conv + BN + ReLU: 15C = 480 channels) instead of the high-resolution map alone.
model = dict(backbone=dict(head='v2', init_cfg=None), head=dict(in_channels=15 * 32))
