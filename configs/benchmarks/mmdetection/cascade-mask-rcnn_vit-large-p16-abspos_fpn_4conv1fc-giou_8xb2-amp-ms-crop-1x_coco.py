# ViT-L Cascade Mask R-CNN with the position handling of the official dBOT
# `vit_*` detection configs (dbot:evaluation/object_detection/configs/
# cascade_rcnn/vit_large_giou_4conv1f_coco_3x.py; docs/transfer.md,
# section 4): no relative position bias, only the learnable absolute
# embedding laid out on the official 42x68 grid (672x1092 px) and
# interpolated (bicubic) to every input. Unlike the official code, whose
# 14x14 -> 53x53 resize mismatched the model and left the embedding at zero,
# the pre-trained embedding is loaded (resized to 42x68).
_base_ = './cascade-mask-rcnn_vit-large-p16_fpn_4conv1fc-giou_8xb2-amp-ms-crop-1x_coco.py'  # noqa: E501

model = dict(backbone=dict(use_rel_pos_bias=False))
