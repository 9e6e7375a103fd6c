# Cascade Mask R-CNN with a plain ViT-L/16 backbone on COCO
# (dbot:DOWNSTREAM.md; docs/transfer.md, section 4): as the ViT-B config,
# with taps after blocks (7, 11, 15, 23), 1024 channels and layer decay over
# 24 blocks (lr 1e-4, ld 0.75, drop path 0.2).
# Reference (3-stage dBOT ViT-L, Tab. 3): AP box 56.0, AP mask 48.2.
_base_ = './cascade-mask-rcnn_vit-base-p16_fpn_4conv1fc-giou_8xb2-amp-ms-crop-1x_coco.py'  # noqa: E501

embed_dims = 1024
num_layers = 24
model = dict(
    backbone=dict(arch='large', out_indices=(7, 11, 15, 23)),
    neck=[
        dict(
            type='Feature2Pyramid',
            embed_dim=embed_dims,
            rescales=[4, 2, 1, 0.5],
            norm_cfg={{_base_.neck_norm_cfg}}),
        dict(
            type='FPN',
            in_channels=[embed_dims] * 4,
            out_channels=256,
            num_outs=5)
    ])
optim_wrapper = dict(paramwise_cfg=dict(num_layers=num_layers))
