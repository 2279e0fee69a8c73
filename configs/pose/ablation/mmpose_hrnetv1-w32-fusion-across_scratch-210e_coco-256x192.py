# Paper Table 12 (b), HRNetV1-W32 with the final and across-stage fusions, from scratch, 256×192: COCO val AP 71.9.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# A fusion only where a stage ends: 3 fusions instead of 8 (none between the modules inside a stage).
model = dict(backbone=dict(fusion='across', init_cfg=None))
