# Paper §7, HRNetV2-W48 with bilinear downsampling in the fusions, from scratch: Cityscapes val mIoU 74.2.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# Every strided 3×3 conv chain of the fusions becomes a bilinear resize and a 1×1 conv + BN (§7, "other possible
# choices for the fusion design" (i)); transitions keep their strided convs.
model = dict(pretrained=None, backbone=dict(fusion_downsample='bilinear'))
