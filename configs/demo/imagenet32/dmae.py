# `make demo`: DMAE pre-training of the demo ViT, the MAE recipe of
# demo/imagenet32/mae.py plus the L1 alignment (through the paper's 2-layer
# MLP) of student block 5 of 6 with block 5 of 6 of a frozen MAE teacher (the
# 3/4-depth rule of the paper's B <- L setting, 9/12 and 18/24); the teacher
# is the demo's own MAE encoder (tools/demo/run_demo.py passes its
# checkpoint), run only on the visible patches and only up to that block.
#   python tools/train.py configs/demo/imagenet32/dmae.py \
#       --cfg-options model.teacher.init_cfg.checkpoint=MAE_CKPT
_base_ = ['./mae.py']
model = dict(
    _delete_=True,
    type='DMAE',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck={{_base_.model.neck}},
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size={{_base_.demo_patch_size}},
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    teacher=dict(
        type='TeacherViT',
        arch={{_base_.demo_arch}},
        img_size={{_base_.demo_img_size}},
        patch_size={{_base_.demo_patch_size}},
        init_cfg=dict(
            type='Pretrained',
            checkpoint='work_dirs/demo/mae/epoch_20.pth',
            prefix='backbone.')),
    projector=dict(type='FeatureProjector', mode='mlp', init='xavier'),
    student_layers=[4],
    teacher_layers=[4],
    align_loss=dict(type='FeatureAlignLoss', criterion='L1', normalize=True),
    alpha=1.0,
    teacher_precision='fp32')
