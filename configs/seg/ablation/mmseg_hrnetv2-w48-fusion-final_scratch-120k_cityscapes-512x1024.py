# Paper Table 12 (a), HRNetV2-W48 with the final fusion only, from scratch: Cityscapes val mIoU 74.8.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# No fusion between the streams except the one that ends the network: 1 fusion instead of 8 (Table 12 (c)).
# The transitions that start new streams stay. All of Table 12 trains from scratch (no ImageNet weights).
model = dict(pretrained=None, backbone=dict(fusion='final'))
