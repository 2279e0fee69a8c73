# Paper Table 8, Faster R-CNN HRNetV2p-W48 1x: COCO val box AP 41.3.
_base_ = ['mmdet::hrnet/faster-rcnn_hrnetv2p-w40-1x_coco.py', './_base_/hrnetv2p-w48.py']

model = _base_.hrnetv2p_w48  # no mmdet config has W48: its W40 one, with our W48 backbone and neck
del _base_.hrnetv2p_w48  # the base's variable, not a key of this config
