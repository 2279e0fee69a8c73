# Paper §7, HRNetV1-W32 fusing by multiplication instead of sum, from scratch, 256×192: COCO val AP 54.7.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# Each fused output is the product of the transformed inputs, then ReLU (§7, "other possible choices" (ii)).
model = dict(backbone=dict(fusion_op='mul', init_cfg=None))
