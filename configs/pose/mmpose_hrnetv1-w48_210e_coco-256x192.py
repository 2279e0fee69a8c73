# Paper Table 1, HRNetV1-W48 (ImageNet-pretrained), 256×192: COCO val AP 75.1.
_base_ = './mmpose_hrnetv1-w32_210e_coco-256x192.py'  # the paper's schedule; only the width changes

__width = 48  # names starting with '__' are left out of the config by mmengine
model = dict(
    backbone=dict(
        _delete_=True,
        type='hrnet.HRNet',
        framework='mmpose',
        arch=f'w{__width}',
        head='v1',
        init_cfg=dict(type='Pretrained', checkpoint='https://download.openmmlab.com/mmpose/pretrain_models/'
                      'hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=__width))  # V1: the high-resolution branch alone
