# Paper Table 10, Hybrid Task Cascade HRNetV2p-W48 20e: COCO val mask AP 40.7, box AP 46.8.
_base_ = ['mmdet::hrnet/htc_hrnetv2p-w40_20e_coco.py', './_base_/hrnetv2p-w48.py']

model = _base_.hrnetv2p_w48  # no mmdet config has W48: its W40 one, with our W48 backbone and neck
del _base_.hrnetv2p_w48  # the base's variable, not a key of this config
