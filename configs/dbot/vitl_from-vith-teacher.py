# dBOT ViT-L/16 student from a 2-stage dBOT ViT-H/14 teacher at 196 px
# (Tab. 7: 86.8 / 56.1 / 55.2), one stage of 800 epochs.
_base_ = './vitl_stage1.py'
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
