# DMAE demo, step 1: MAE pre-training of the tiny TEACHER on the synthetic
# demo set (64 px crops, 8 px patches = 64 patches): an 8-block 192-d ViT.
# Run by tools/demo/dmae_demo.py, which then distils a smaller student from it
# (configs/demo/dmae_demo.py) and compares with an MAE student
# (configs/demo/dmae_demo_mae.py).
_base_ = [
    '../_base_/datasets/demo_imagenet_pretrain.py',
    '../_base_/default_runtime.py',
]

img_size = 64
patch_size = 8
teacher_arch = dict(
    embed_dims=192, num_layers=8, num_heads=3, feedforward_channels=768)

model = dict(
    type='MAE',
    backbone=dict(
        type='MKDViT',
        arch=teacher_arch,
        img_size=img_size,
        patch_size=patch_size,
        mask_ratio=0.75),
    neck=dict(
        type='DBOTDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4,
        keep_cls=False),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,  # MAE's default for the teacher
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')))

max_epochs = 40
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=1.5e-3, betas=(0.9, 0.95), weight_decay=0.05),
    paramwise_cfg=dict(
        norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0))
# the lr above is set for the demo batch (1 process x 32), not scaled
auto_scale_lr = dict(base_batch_size=32, enable=False)
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=[max_epochs],
        warmup=2,
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
