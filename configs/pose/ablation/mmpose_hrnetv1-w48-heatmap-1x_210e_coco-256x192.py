# Paper Fig. 9, HRNetV1-W48 heatmaps from the high-resolution map (1x, 1/4), 256×192: COCO val AP plotted.
_base_ = './mmpose_hrnetv1-w32-heatmap-1x_210e_coco-256x192.py'  # the same study; only the width changes

__width = 48  # names starting with '__' are left out of the config by mmengine
model = dict(
    backbone=dict(
        _delete_=True,
        type='hrnet.HRNet',
        framework='mmpose',
        arch=f'w{__width}',
        multiscale_output=True,
        init_cfg=dict(type='Pretrained', checkpoint='https://download.openmmlab.com/mmpose/pretrain_models/'
                      'hrnet_w48-8ef0771d.pth')),
    head=dict(in_channels=__width << 0))  # map 0: 2^0 × 48 channels
