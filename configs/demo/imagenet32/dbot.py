# `make demo`: dBOT pre-training of the demo ViT in ONE run of 2 stages
# (BootstrapTeacherHook): stage 1 distils a random teacher (a copy of the
# student's initial weights), then the teacher takes the student's weights
# and the student is re-initialised for stage 2. Same optimiser, masking and
# decoder size as demo/imagenet32/mae.py; each stage as long as the MAE run,
# as in the paper's comparison of 2 x 800 dBOT epochs with MAE.
#   python tools/train.py configs/demo/imagenet32/dbot.py
_base_ = ['./mae.py']
stage_ends = [20, 40]
model = dict(
    _delete_=True,
    type='DBOT',
    data_preprocessor={{_base_.model.data_preprocessor}},
    backbone={{_base_.model.backbone}},
    neck=dict(
        type='DBOTDecoder',
        num_patches={{_base_.demo_num_patches}},
        patch_size={{_base_.demo_patch_size}},
        embed_dim=128,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=4,
        predict_feature_dim=128),
    head=dict(
        type='MIMHead',
        loss=dict(type='StandardizedSmoothL1Loss', beta=2.0, eps=1e-6)),
    teacher=dict(
        type='TeacherViT',
        arch={{_base_.demo_arch}},
        depth=6,
        img_size={{_base_.demo_img_size}},
        patch_size={{_base_.demo_patch_size}},
        final_norm=False),
    teacher_precision='fp32')
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=stage_ends,
        warmup=2,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(max_epochs=40)
custom_hooks = [dict(type='BootstrapTeacherHook', stage_ends=stage_ends)]
