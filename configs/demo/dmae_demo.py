# DMAE demo, step 2: distil a tiny STUDENT (4 blocks, 96-d) from the tiny MAE
# teacher of configs/demo/dmae_demo_teacher.py (8 blocks, 192-d) on the
# synthetic demo set, 64 px crops with 8 px patches. Aligned at 3/4 depth of
# both: student block index 2 (3rd of 4) <-> teacher index 5 (6th of 8); the
# teacher runs only its first 6 blocks on the student's 16 visible patches.
#
# Run the whole demo (teacher, DMAE student, MAE student, probes):
#   python tools/demo/dmae_demo.py --work-dir work_dirs/demo/dmae_demo
# This config alone needs the teacher checkpoint at `teacher_checkpoint`
# (tools/demo/dmae_demo.py passes the one it trained).
_base_ = [
    '../_base_/datasets/demo_imagenet_pretrain.py',
    '../_base_/default_runtime.py',
]

img_size = 64
patch_size = 8
teacher_checkpoint = 'work_dirs/demo/dmae_demo/teacher/epoch_40.pth'

# the student parts, shared with the MAE baseline (dmae_demo_mae.py)
student_backbone = dict(
    type='MKDViT',
    arch=dict(
        embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=384),
    img_size=img_size,
    patch_size=patch_size,
    mask_ratio=0.75)
student_neck = dict(
    type='DBOTDecoder',
    num_patches=(img_size // patch_size)**2,
    patch_size=patch_size,
    embed_dim=96,
    decoder_embed_dim=128,
    decoder_depth=2,
    decoder_num_heads=4,
    keep_cls=False)
student_head = dict(
    type='MAEPretrainHead',
    norm_pix=False,  # official DMAE default
    patch_size=patch_size,
    loss=dict(type='PixelReconstructionLoss', criterion='L2'))

model = dict(
    type='DMAE',
    backbone=student_backbone,
    neck=student_neck,
    head=student_head,
    teacher=dict(
        type='TeacherViT',
        arch=dict(
            embed_dims=192,
            num_layers=8,
            num_heads=3,
            feedforward_channels=768),
        img_size=img_size,
        patch_size=patch_size,
        init_cfg=dict(type='Pretrained', checkpoint=teacher_checkpoint)),
    projector=dict(type='FeatureProjector', mode='mlp'),
    student_layers=[2],
    teacher_layers=[5],
    align_loss=dict(type='FeatureAlignLoss', criterion='L1', normalize=True),
    alpha=1.0)

max_epochs = 30
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    # frozen teacher left out with one log line (not one per tensor)
    constructor='mmpretrain.FrozenAwareOptimWrapperConstructor',
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
# the lr above is set for the demo batch (1 process x 32), not scaled
auto_scale_lr = dict(base_batch_size=32, enable=False)
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=[max_epochs],
        warmup=3,
        by_epoch=True,
        convert_to_iter_based=True)
]
# mmengine's EpochBasedTrainLoop, plus an exact mid-epoch resume
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=12),
    checkpoint=dict(
        type='CheckpointHook',
        interval=10000,
        save_last=True,
        max_keep_ckpts=2))
log_processor = dict(window_size=12)
