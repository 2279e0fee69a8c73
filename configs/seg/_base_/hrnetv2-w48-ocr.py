# Not a paper row (the rows are the configs directly in configs/seg/): the model block of the HRNetV2-W48 + OCR rows.
# As mmseg's OCRNet, with the V2 head (0.4 loss weight) giving the soft object regions to mmseg's OCRHead, both on the
# four W48 branches. A row lists this file after its V2 row in `_base_` and sets its data set's classes:
#
#     model = dict(_base_.ocr_model, decode_head=[dict(head, num_classes=N) for head in _base_.ocr_model.decode_head])
#     del _base_.ocr_model
#
# mmengine refuses two bases that both set `model`, hence a variable of our own; the row deletes it, so that it is no
# key of the row's config. Names starting with '__' are left out of the config by mmengine.
__width = 48
__in_channels = [__width, 2 * __width, 4 * __width, 8 * __width]
__norm_cfg = dict(type='SyncBN', requires_grad=True)
ocr_model = dict(
    type='CascadeEncoderDecoder',
    num_stages=2,
    decode_head=[
        dict(
            type='hrnet.V2Head',
            in_channels=__in_channels,
            num_classes=None,  # the row's data set
            dropout_ratio=-1,
            norm_cfg=__norm_cfg,
            loss_decode=dict(type='CrossEntropyLoss', loss_weight=0.4)),
        dict(
            type='OCRHead',
            in_channels=__in_channels,
            in_index=(0, 1, 2, 3),
            input_transform='resize_concat',
            channels=512,
            ocr_channels=256,
            dropout_ratio=-1,
            num_classes=None,  # the row's data set
            norm_cfg=__norm_cfg),
    ])
