# Paper Fig. 10 (a), HRNetV2-W48: PASCAL-Context, 59 classes (single scale, no flipping): mIoU plotted.
_base_ = '../mmseg_hrnetv2-w48_60k_pascal-context-59-480x480.py'

# §7 "V1 vs. V2": the HRNetV2 bar of the figure, the network and schedule of the paper's table row it inherits.
# Fig. 10 is single scale without flipping (the row it inherits tests at six scales with flipping).
test_time_aug = False
