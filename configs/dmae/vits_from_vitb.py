# DMAE ViT-S/16 (384-d, 12 blocks) <- MAE ViT-B/16 (paper Tab. 5: MAE-S 77.4%
# -> DMAE-S 79.3%). Aligned at 3/4 depth: student index 8 <-> teacher index 8
# (the 9th of 12; the teacher runs 9 blocks). Teacher file: the official
# encoder-only `mae_pretrain_vit_base.pth` (see docs/dmae.md).
_base_ = './vitb_from_vitl.py'

model = dict(
    backbone=dict(arch='deit-small'),
    neck=dict(embed_dim=384),
    teacher=dict(
        arch='b',
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/mae_pretrain_vit_base.pth')),
    student_layers=[8],
    teacher_layers=[8])
