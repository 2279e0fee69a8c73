# Paper Table 12 (c), HRNetV2-W48 with every fusion (the network of Table 3), from scratch: Cityscapes val mIoU 76.4.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# Table 3's network and schedule, from random weights: the reference of every §7 segmentation study.
model = dict(pretrained=None)
