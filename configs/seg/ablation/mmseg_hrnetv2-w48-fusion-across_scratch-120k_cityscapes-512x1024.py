# Paper Table 12 (b), HRNetV2-W48 with the final and across-stage fusions, from scratch: Cityscapes val mIoU 75.4.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# A fusion only where a stage ends: 3 fusions instead of 8 (none between the modules inside a stage).
model = dict(pretrained=None, backbone=dict(fusion='across'))
