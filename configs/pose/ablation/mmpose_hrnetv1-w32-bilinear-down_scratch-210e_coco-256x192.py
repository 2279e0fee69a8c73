# Paper §7, HRNetV1-W32 with bilinear downsampling in the fusions, from scratch, 256×192: COCO val AP 72.6.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# Every strided 3×3 conv chain of the fusions becomes a bilinear resize and a 1×1 conv + BN (§7, "other possible
# choices for the fusion design" (i)); transitions keep their strided convs.
model = dict(backbone=dict(fusion_downsample='bilinear', init_cfg=None))
