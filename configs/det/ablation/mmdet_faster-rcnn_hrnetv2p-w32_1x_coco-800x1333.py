# Paper Fig. 10 (b), Faster R-CNN HRNetV2p-W32 1x: COCO val box AP plotted.
_base_ = '../mmdet_faster-rcnn_hrnetv2p-w32_1x_coco-800x1333.py'

# §7 "V1 vs. V2": the HRNetV2p bar of the figure, the network and schedule of the Table 8 row it inherits.
