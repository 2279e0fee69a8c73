# Paper §7, HRNetV2-W48 fusing by multiplication instead of sum, from scratch: Cityscapes val mIoU 66.0.
_base_ = '../mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'

# Each fused output is the product of the transformed inputs, then ReLU (§7, "other possible choices" (ii)).
model = dict(pretrained=None, backbone=dict(fusion_op='mul'))
