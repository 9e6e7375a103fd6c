# dBOT ViT-H/14 fine-tuning at 448 pixels, starting from the 224-pixel
# fine-tuned model (dbot:DOWNSTREAM.md). 32 GPUs x 8 images x 4
# accumulation steps = 1024, lr = blr 7e-5 x 1024 / 256, layer decay 0.9,
# drop path 0.4, 10 epochs (2 warm-up). Reference top-1: 88.0 (dBOT Tab. 2).
_base_ = [
    '../../_base_/models/vit-huge-p14_finetune.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmpretrain'], allow_failed_imports=False)

# 448-pixel pipelines (dbot:util/datasets.py: eval resizes to 448 and crops
# 448)
bgr_mean = [103.53, 116.28, 123.675]
bgr_std = [57.375, 57.12, 58.395]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='RandomResizedCrop',
        scale=448,
        backend='pillow',
        interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(
            pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
    dict(
        type='RandomErasing',
        erase_prob=0.25,
        mode='rand',
        min_area_ratio=0.02,
        max_area_ratio=1 / 3,
        fill_color=bgr_mean,
        fill_std=bgr_std),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='ResizeEdge',
        scale=448,
        edge='short',
        backend='pillow',
        interpolation='bicubic'),
    dict(type='CenterCrop', crop_size=448),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))

train_dataloader = dict(batch_size=8)
val_dataloader = dict(batch_size=32)
test_dataloader = val_dataloader

# Starts from the 224-pixel fine-tuned dBOT ViT-H/14, backbone AND head (as
# the official `--finetune` of a fine-tuned model does); the position
# embedding is resized 16x16 -> 32x32 (bicubic) at load time. Pass the file
# twice: --cfg-options model.backbone.init_cfg.checkpoint=FT224
# model.head.init_cfg.checkpoint=FT224
model = dict(
    backbone=dict(img_size=448, drop_path_rate=0.4),
    head=dict(
        init_cfg=dict(
            _delete_=True, type='Pretrained', checkpoint=None,
            prefix='head.')))

# layer-wise lr decay: scale = 0.9 ** (L + 1 - depth), depth 0 = patch_embed /
# cls_token / pos_embed, block i -> i + 1, fc_norm (ln2) and head -> L + 1;
# no weight decay on norms, biases, cls_token and pos_embed
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    accumulative_counts=4,
    optimizer=dict(
        type='AdamW', lr=2.8e-4, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.9,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }))

# linear warm-up from ~0, then per-iteration cosine to 1e-6
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=2,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=8,
        by_epoch=True,
        begin=2,
        end=10,
        eta_min=1e-6,
        convert_to_iter_based=True)
]

train_cfg = dict(by_epoch=True, max_epochs=10, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
randomness = dict(seed=0, diff_rank_seed=True)
# the learning rate above is for this total batch (GPUs x per-GPU batch x
# accumulative_counts, as in the file name); MKDRunner logs the batch used
# and warns when it differs (`--auto-scale-lr` scales the lr linearly)
auto_scale_lr = dict(base_batch_size=1024)
runner_type = 'mmpretrain.MKDRunner'
