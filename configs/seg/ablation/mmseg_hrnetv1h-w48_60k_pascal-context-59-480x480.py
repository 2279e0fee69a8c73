# Paper Fig. 10 (a), HRNetV1h-W48: PASCAL-Context, 59 classes (single scale, no flipping): mIoU plotted.
_base_ = '../mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py'

# §7 "V1 vs. V2": HRNetV1's 48-channel map through a 1×1 conv + BN + ReLU to HRNetV2's width (15C = 720), then the
# paper's head as for HRNetV2: the same width and head, without the lower-resolution maps.
model = dict(backbone=dict(head='v1h'), decode_head=dict(in_channels=[15 * 48]))
# Fig. 10 is single scale without flipping (the row it inherits tests at six scales with flipping).
test_time_aug = False
