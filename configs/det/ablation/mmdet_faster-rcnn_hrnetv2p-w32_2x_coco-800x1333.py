# Paper Fig. 10 (b), Faster R-CNN HRNetV2p-W32 2x: COCO val box AP plotted.
_base_ = '../mmdet_faster-rcnn_hrnetv2p-w32_2x_coco-800x1333.py'

# §7 "V1 vs. V2": the HRNetV2p bar of the figure, the network and schedule of the Table 8 row it inherits.
