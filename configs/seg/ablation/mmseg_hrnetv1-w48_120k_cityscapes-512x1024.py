# Paper Fig. 10 (a), HRNetV1-W48: Cityscapes val (single scale, no flipping): mIoU plotted.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# §7 "V1 vs. V2": the representation is the 48-channel high-resolution map of the last fusion (fused only into it);
# the head stays the paper's (1×1 conv + BN + ReLU at the representation's width, 1×1 classifier).
model = dict(backbone=dict(head='v1'), decode_head=dict(in_channels=[48]))
