# Paper Fig. 10 (a), HRNetV2-W48: Cityscapes val (single scale, no flipping): mIoU plotted.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# §7 "V1 vs. V2": the HRNetV2 bar of the figure, the network and schedule of the paper's table row it inherits.
