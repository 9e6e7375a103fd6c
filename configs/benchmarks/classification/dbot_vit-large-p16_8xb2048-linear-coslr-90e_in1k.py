# dBOT ViT-L/16 linear probing on ImageNet-1k with the mmpretrain MAE recipe,
# as the ViT-B/16 config; all 24 blocks, the patch embedding, cls token and
# position embedding are frozen (`frozen_stages=24`).
_base_ = './dbot_vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'
model = dict(
    backbone=dict(arch='large', frozen_stages=24),
    neck=dict(input_features=1024),
    head=dict(in_channels=1024))
