# Paper Fig. 9, HRNetV1-W32 heatmaps from the low-resolution map (4x, 1/16), 256×192: COCO val AP plotted.
_base_ = '../mmpose_hrnetv1-w32_210e_coco-256x192.py'

# §7 "Representations of different resolutions": the network (ImageNet-pretrained) ends in four fused maps and the
# heatmaps are predicted from map 2 of them (1/16 of the input, 2^2 × 32 channels), at that map's resolution.
# mmpose's FeatureMapProcessor neck selects the map. The paper trained one network with a heatmap output per map;
# here each map is its own run (the three runs share everything else). The Gaussian keeps sigma 2 heatmap pixels.
__branch = 2
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48 >> __branch, 64 >> __branch), sigma=2)
model = dict(
    backbone=dict(head=None, multiscale_output=True),  # the four maps of the last fusion
    neck=dict(type='FeatureMapProcessor', select_index=__branch),
    head=dict(in_channels=32 << __branch, decoder=codec))
train_dataloader = dict(
    dataset=dict(pipeline=[
        dict(step, encoder=codec) if step['type'] == 'GenerateTarget' else step for step in _base_.train_pipeline]))
# The last fusion's outputs into the other maps take no part in the loss.
find_unused_parameters = True
