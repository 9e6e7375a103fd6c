# `make demo`, baseline: MAE pre-training of the demo ViT on the 3,000
# unlabelled 32-px demo images (pixel targets, normalised per patch as in
# the MAE paper's best setting; 75% masking). Its encoder is also the
# teacher of demo/imagenet32/dmae.py.
#   python tools/train.py configs/demo/imagenet32/mae.py
_base_ = [
    '../../_base_/datasets/demo_imagenet32.py',
    '../../_base_/models/demo_vit-p4-32px.py',
    '../../_base_/default_runtime.py',
]
pretrain_epochs = 20  # 23 iterations each (3,000 / 128)
model = dict(
    type='MAE',
    data_preprocessor=dict(
        type='SelfSupDataPreprocessor',
        mean={{_base_.demo_mean}},
        std={{_base_.demo_std}},
        to_rgb=True),
    backbone=dict(
        type='MKDViT',
        arch={{_base_.demo_arch}},
        img_size={{_base_.demo_img_size}},
        patch_size={{_base_.demo_patch_size}},
        mask_ratio=0.75),
    neck=dict(
        type='DBOTDecoder',
        num_patches={{_base_.demo_num_patches}},
        patch_size={{_base_.demo_patch_size}},
        embed_dim=128,
        decoder_embed_dim=64,
        decoder_depth=2,
        decoder_num_heads=4,
        predict_feature_dim=None,
        keep_cls=False),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size={{_base_.demo_patch_size}},
        loss=dict(type='PixelReconstructionLoss', criterion='L2')))
train_dataloader = {{_base_.pretrain_dataloader}}
# pre-training has no validation (the demo driver evaluates afterwards)
val_dataloader = None
val_evaluator = None

# the recipes' AdamW (0.9, 0.95), wd 0.05, at 1.5e-4 x batch / 256 scaled up
# x4 for a run of a few hundred steps; warm-up 2 epochs, cosine to 0
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=3e-3, betas=(0.9, 0.95), weight_decay=0.05),
    clip_grad=dict(max_norm=3.0),
    constructor='mmpretrain.FrozenAwareOptimWrapperConstructor',
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0))
auto_scale_lr = dict(base_batch_size=128, enable=False)
param_scheduler = [
    dict(
        type='StagedWarmupCosineLR',
        stage_ends=[pretrain_epochs],
        warmup=2,
        eta_min=0.0,
        by_epoch=True,
        convert_to_iter_based=True)
]
train_cfg = dict(
    type='ResumableEpochBasedTrainLoop', max_epochs=pretrain_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=23),
    checkpoint=dict(
        type='CheckpointHook', interval=5, max_keep_ckpts=1, save_last=True))
log_processor = dict(window_size=23)
randomness = dict(seed=0)
