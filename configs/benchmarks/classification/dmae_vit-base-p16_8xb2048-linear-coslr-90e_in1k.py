# DMAE ViT-B/16 linear probing on ImageNet-1k: the same mmpretrain MAE recipe
# as `dbot_vit-base-p16_8xb2048-linear-coslr-90e_in1k.py` (cls token after the
# final norm, BatchNorm without affine, LARS lr 6.4 at batch 16384, 90 epochs).
# Neither paper reports linear-probing accuracy (no reference number).
_base_ = './dbot_vit-base-p16_8xb2048-linear-coslr-90e_in1k.py'
