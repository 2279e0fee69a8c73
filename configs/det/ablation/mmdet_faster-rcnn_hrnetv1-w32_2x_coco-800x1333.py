# Paper Fig. 10 (b), Faster R-CNN HRNetV1-W32 (pyramid from the high-resolution map) 2x: COCO val box AP plotted.
_base_ = '../mmdet_faster-rcnn_hrnetv2p-w32_2x_coco-800x1333.py'

# §7 "V1 vs. V2": the pyramid of HRNetV2p (1×1 conv to 256 channels, average pooling by 2^i, a 3×3 conv per level)
# built on the 32-channel high-resolution map of the last fusion (fused only into it) instead of the concatenation.
model = dict(backbone=dict(head='v1'), neck=dict(in_channels=[32]))
