# Not a paper row (the rows are the configs directly in configs/det/): HRNetV2p-W48 in mmdet's HRNet detectors. No mmdet
# config has W48, so a W48 row starts from mmdet's W40 one: the arch replaces the W40 stage dicts, and the neck takes
# the W48 widths. A row lists this file after mmdet's config in `_base_` and takes the block as its model:
#
#     model = _base_.hrnetv2p_w48
#     del _base_.hrnetv2p_w48
#
# mmengine refuses two bases that both set `model`, hence a variable of our own; the row deletes it, so that it is no
# key of the row's config. Names starting with '__' are left out of the config by mmengine.
custom_imports = dict(imports=['hrnet.mm'], allow_failed_imports=False)
# mmengine's checkpoints hold numpy arrays and logging buffers: this hook lets the Runner's resume and load_from
# read them under torch's safe loader (weights_only=True), without widening it for any other load.
custom_hooks = [dict(type='hrnet.SafeLoadHook')]

__width = 48
hrnetv2p_w48 = dict(
    backbone=dict(
        _delete_=True,
        type='hrnet.HRNet',
        framework='mmdet',
        arch=f'w{__width}',
        init_cfg=dict(type='Pretrained', checkpoint=f'open-mmlab://msra/hrnetv2_w{__width}')),
    neck=dict(type='hrnet.V2pNeck', in_channels=[__width, 2 * __width, 4 * __width, 8 * __width]))
