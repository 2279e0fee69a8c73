# Paper Fig. 10 (a), HRNetV1-W48: PASCAL-Context, 59 classes (single scale, no flipping): mIoU plotted.
_base_ = '../mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py'

# §7 "V1 vs. V2": the representation is the 48-channel high-resolution map of the last fusion (fused only into it);
# the head stays the paper's (1×1 conv + BN + ReLU at the representation's width, 1×1 classifier).
model = dict(backbone=dict(head='v1'), decode_head=dict(in_channels=[48]))
# Fig. 10 is single scale without flipping (the row it inherits tests at six scales with flipping).
test_time_aug = False
