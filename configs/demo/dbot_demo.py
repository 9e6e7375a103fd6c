# The `make demo` job: a 2-stage dBOT pre-training, in ONE run with
# BootstrapTeacherHook, of a tiny ViT (4 blocks, 128-d, 32 px, patch 4) on the
# synthetic demo set (data/demo/imagenet, 10 shape classes), on CPU in a few
# minutes. tools/demo/dbot_demo.py trains it and then compares the random
# teacher, the stage-1 and the stage-2 students with a k-NN probe.
#   python tools/train.py configs/demo/dbot_demo.py --work-dir work_dirs/demo/dbot_demo
_base_ = [
    '../_base_/datasets/demo_imagenet_pretrain.py',
    '../_base_/default_runtime.py',
]
demo_arch = dict(
    embed_dims=128, num_layers=4, num_heads=4, feedforward_channels=512)
model = dict(
    type='DBOT',
    backbone=dict(
        type='MKDViT',
        arch=demo_arch,
        img_size=32,
        patch_size=4,
        mask_ratio=0.75,
        drop_path_rate=0.1),
    neck=dict(
        type='DBOTDecoder',
        num_patches=64,
        patch_size=4,
        embed_dim=128,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=4,
        predict_feature_dim=128,
        drop_path_rate=0.1),
    head=dict(
        type='MIMHead',
        loss=dict(type='StandardizedSmoothL1Loss', beta=2.0, eps=1e-6)),
    teacher=dict(
        type='TeacherViT',
        arch=demo_arch,
        depth=4,
        img_size=32,
        patch_size=4,
        final_norm=False),
    teacher_precision='fp32')

stage_ends = [10, 20]  # epochs: 2 stages of 10 epochs (6 iterations each)
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.95),
        weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    # frozen teacher left out with one log line (not one per tensor)
    constructor='mmpretrain.FrozenAwareOptimWrapperConstructor',
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=stage_ends,
        warmup=2,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True)
]
# mmengine's EpochBasedTrainLoop, plus an exact mid-epoch resume
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=20)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=2))
custom_hooks = [
    dict(type='BootstrapTeacherHook', stage_ends=stage_ends),
]
# the lr above is set for this batch (1 process x 64), not scaled
auto_scale_lr = dict(base_batch_size=64, enable=False)
# the demo images (96 px) cropped to 32 px
train_dataloader = dict(
    batch_size=64,
    num_workers=2,
    dataset=dict(pipeline=[
        dict(type='StrictLoadImageFromFile'),
        dict(
            type='RandomResizedCrop',
            scale=32,
            crop_ratio_range=(0.2, 1.0),
            backend='pillow',
            interpolation='bicubic'),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackInputs')
    ]))
randomness = dict(seed=0, diff_rank_seed=True)
