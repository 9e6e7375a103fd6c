_base_ = './dbot_vit-base-p16.py'
# ViT-L/16: the official runs start from a depth-0 teacher (patch embedding +
# position only, `--init_teacher_encoder_depth 0`).
model = dict(
    backbone=dict(arch='l', drop_path_rate=0.2),
    neck=dict(embed_dim=1024, predict_feature_dim=1024, drop_path_rate=0.2),
    teacher=dict(arch='l', depth=0))
