# UperNet with a plain ViT-L/16 backbone on ADE20K (docs/transfer.md,
# section 5): as the ViT-B config, with taps after blocks (7, 11, 15, 23),
# 1024 channels, lr 3e-5,
# layer decay 0.95 over 24 blocks and drop path 0.2 (dbot:DOWNSTREAM.md; the
# official config file says lr 2e-5).
# Reference (3-stage dBOT ViT-L, Tab. 4): mIoU 54.5, mAcc 66.0.
_base_ = './upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py'

embed_dims = 1024
num_layers = 24
model = dict(
    backbone=dict(arch='large', out_indices=(7, 11, 15, 23)),
    neck=dict(embed_dim=embed_dims),
    decode_head=dict(in_channels=[embed_dims] * 4, channels=embed_dims),
    auxiliary_head=dict(in_channels=embed_dims))
optim_wrapper = dict(
    optimizer=dict(lr=3e-5),
    paramwise_cfg=dict(num_layers=num_layers, layer_decay_rate=0.95))
