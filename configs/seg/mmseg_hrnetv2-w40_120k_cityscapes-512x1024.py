# Paper Table 3, HRNetV2-W40, Cityscapes val (single scale, no flipping): mIoU 80.2.
_base_ = './mmseg_hrnetv2-w48_120k_cityscapes-512x1024.py'  # the paper's setup; only the width changes

__width = 40  # names starting with '__' are left out of the config by mmengine
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    pretrained=f'open-mmlab://msra/hrnetv2_w{__width}',
    backbone=dict(_delete_=True, type='hrnet.HRNet', framework='mmseg', arch=f'w{__width}', norm_cfg=norm_cfg),
    decode_head=dict(in_channels=[__width, 2 * __width, 4 * __width, 8 * __width]))
