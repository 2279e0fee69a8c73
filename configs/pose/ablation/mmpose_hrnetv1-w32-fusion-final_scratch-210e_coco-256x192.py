# Paper Table 12 (a), HRNetV1-W32 with the final fusion only, from scratch, 256×192: COCO val AP 70.8.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# No fusion between the streams except the one that ends the network: 1 fusion instead of 8 (Table 12 (c)).
# The transitions that start new streams stay. All of Table 12 trains from scratch (no ImageNet weights).
model = dict(backbone=dict(fusion='final', init_cfg=None))
