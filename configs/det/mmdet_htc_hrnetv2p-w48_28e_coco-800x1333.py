# Paper Table 10, Hybrid Task Cascade HRNetV2p-W48 28e: COCO val mask AP 41.0, box AP 47.0.
_base_ = ['mmdet::hrnet/htc_hrnetv2p-w40_28e_coco.py', './_base_/hrnetv2p-w48.py']

model = _base_.hrnetv2p_w48  # no mmdet config has W48: its W40 one, with our W48 backbone and neck
del _base_.hrnetv2p_w48  # the base's variable, not a key of this config
