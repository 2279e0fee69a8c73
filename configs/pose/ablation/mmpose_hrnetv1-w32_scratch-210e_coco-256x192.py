# Paper Table 12 (c), HRNetV1-W32 with every fusion (the network of Table 1), from scratch, 256×192: COCO val AP 73.4.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# Table 1's network and schedule, from random weights: the reference of every §7 pose study.
model = dict(backbone=dict(init_cfg=None))
