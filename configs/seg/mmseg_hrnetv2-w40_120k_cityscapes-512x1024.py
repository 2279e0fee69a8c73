# Paper Table 3, HRNetV2-W40, Cityscapes val (single scale, no flipping): mIoU 80.2.
_base_ = './mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'  # the paper's setup; only the width changes

norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained='open-mmlab://msra/hrnetv2_w40',
    backbone=dict(_delete_=True, type='hrnet.HRNet', arch='w40', norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[40, 80, 160, 320]))
