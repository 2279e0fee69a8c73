# Paper Fig. 10 (b), Faster R-CNN HRNetV1h-W32 (V1 widened by a 1×1 conv) 2x: COCO val box AP plotted.
_base_ = '../mmdet_faster-rcnn_hrnetv2p-w32_2x_coco-800x1333.py'

# §7 "V1 vs. V2": HRNetV1's 32-channel map through a 1×1 conv + BN + ReLU to HRNetV2's width (15C = 480), then the
# pyramid of HRNetV2p: the same widths, without the lower-resolution maps.
model = dict(backbone=dict(head='v1h'), neck=dict(in_channels=[15 * 32]))
