# Paper §7, HRNetV2-W48 with all four streams from the start and equal depths, from scratch: Cityscapes val mIoU 75.7.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# "Resolution maintenance": the four streams start together after stage 1 and every stage runs all of them, with
# the same fusions (`hrnet tables` prints its #params and GFLOPs beside HRNetV2-W48's; the paper calls them similar).
model = dict(pretrained=None, backbone=dict(streams='parallel'))
