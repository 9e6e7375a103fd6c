# A short MAE pre-training of a tiny ViT (4 layers, 192-d, 3 heads, patch 8)
# on the synthetic demo set at 64x64, sized to finish in about a minute on a
# 2-core CPU. It exercises the whole stack (config inheritance, dataset,
# SelfSupDataPreprocessor, mmpretrain MAE, optimizer, scheduler, checkpoints)
# that the dBOT / DMAE configs build on.
#
#   python tools/data/make_demo_data.py            # once: data/demo
#   python tools/train.py configs/demo/mae_demo.py \
#       --work-dir work_dirs/demo/mae_demo
_base_ = [
    '../_base_/datasets/demo_imagenet_pretrain.py',
    '../_base_/default_runtime.py',
]

img_size = 64  # the crop size of demo_imagenet_pretrain.py
patch_size = 8
# a ViT-Tiny-like encoder, 4 layers deep
demo_arch = dict(
    embed_dims=192, num_layers=4, num_heads=3, feedforward_channels=768)

model = dict(
    type='MAE',
    backbone=dict(
        type='MAEViT',
        arch=demo_arch,
        img_size=img_size,
        patch_size=patch_size,
        mask_ratio=0.75),
    neck=dict(
        type='MAEPretrainDecoder',
        num_patches=(img_size // patch_size)**2,
        patch_size=patch_size,
        in_chans=3,
        embed_dim=192,
        decoder_embed_dim=128,
        decoder_depth=2,
        decoder_num_heads=4,
        mlp_ratio=4.,
    ),
    head=dict(
        type='MAEPretrainHead',
        norm_pix=True,
        patch_size=patch_size,
        loss=dict(type='PixelReconstructionLoss', criterion='L2')),
    init_cfg=[
        dict(type='Xavier', layer='Linear', distribution='uniform'),
        dict(type='Constant', layer='LayerNorm', val=1.0, bias=0.0)
    ])

# optimizer wrapper: fp32 on the CPU; `tools/train.py --amp` switches to
# AmpOptimWrapper (bf16 autocast on the CPU).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW',
        lr=1.5e-4 * 32 / 256 * 8,
        betas=(0.9, 0.95),
        weight_decay=0.05),
    paramwise_cfg=dict(
        custom_keys={
            'ln': dict(decay_mult=0.0),
            'bias': dict(decay_mult=0.0),
            'pos_embed': dict(decay_mult=0.),
            'mask_token': dict(decay_mult=0.),
            'cls_token': dict(decay_mult=0.)
        }))

# learning rate scheduler: 1 warm-up epoch, then cosine
max_epochs = 8
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs - 1,
        by_epoch=True,
        begin=1,
        end=max_epochs,
        convert_to_iter_based=True)
]

# runtime settings
# mmengine's EpochBasedTrainLoop, plus an exact mid-epoch resume
train_cfg = dict(type='ResumableEpochBasedTrainLoop', max_epochs=max_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=4),
    # keep the latest 2 checkpoints; the last epoch is always saved
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2))
log_processor = dict(window_size=4)

# NOTE: `auto_scale_lr` is for automatically scaling LR
# based on the actual training batch size.
auto_scale_lr = dict(base_batch_size=32)
