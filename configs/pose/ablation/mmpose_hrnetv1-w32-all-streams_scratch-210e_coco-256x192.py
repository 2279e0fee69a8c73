# Paper §7, HRNetV1-W32 with all four streams from the start and equal depths, from scratch, 256×192: COCO val AP 72.5.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# "Resolution maintenance": the four streams start together after stage 1 and every stage runs all of them, with
# the same fusions (`hrnet tables` prints its #params and GFLOPs beside HRNetV1-W32's; the paper calls them similar).
model = dict(backbone=dict(streams='parallel', init_cfg=None))
