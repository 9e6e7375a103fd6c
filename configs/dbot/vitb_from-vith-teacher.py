# dBOT ViT-B/16 student from a 2-stage dBOT ViT-H/14 teacher (Tab. 7: 84.6 /
# 53.5 / 50.8). The teacher sees the same augmented image resized (bicubic) to
# 196 px, i.e. 14 x 14 = 196 tokens, matching the /16 student at 224 px.
_base_ = './vitb_stage1.py'
model = dict(
    neck=dict(predict_feature_dim=1280),
    teacher=dict(
        arch='h',
        depth=32,
        patch_size=14,
        img_size=196,
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/vith_2x800e/epoch_1600.pth')))
