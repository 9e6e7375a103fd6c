_base_ = './dbot_vit-base-p16.py'
# ViT-H/14 (256 patches at 224 px), drop path 0.3, depth-0 first teacher.
model = dict(
    backbone=dict(arch='h', patch_size=14, drop_path_rate=0.3),
    neck=dict(
        num_patches=256,
        patch_size=14,
        embed_dim=1280,
        predict_feature_dim=1280,
        drop_path_rate=0.3),
    teacher=dict(arch='h', patch_size=14, depth=0))
