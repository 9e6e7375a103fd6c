# dBOT ViT-H/14 end-to-end fine-tuning on ImageNet-1k at 224 (spec §3,
# column "dBOT H"). 32 GPUs x 16 images x 2 accumulation steps = 1024,
# lr = 3e-4 x 1024 / 256, layer decay 0.75, drop path 0.3, 50 epochs
# (5 warm-up). Reference top-1: 87.4 (dBOT Tab. 2).
_base_ = [
    '../../_base_/models/vit-huge-p14_finetune.py',
    'mmpretrain::_base_/datasets/imagenet_bs64_swin_224.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmpretrain'], allow_failed_imports=False)

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

model = dict(
    backbone=dict(drop_path_rate=0.3),
    head=dict(init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

# layer-wise lr decay: scale = 0.75 ** (L + 1 - depth), depth 0 = patch_embed /
# cls_token / pos_embed, block i -> i + 1, fc_norm (ln2) and head -> L + 1;
# no weight decay on norms, biases, cls_token and pos_embed
optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    accumulative_counts=2,
    optimizer=dict(
        type='AdamW', lr=1.2e-3, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
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
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=45,
        by_epoch=True,
        begin=5,
        end=50,
        eta_min=1e-6,
        convert_to_iter_based=True)
]

train_cfg = dict(by_epoch=True, max_epochs=50, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=3, save_best='auto'))
randomness = dict(seed=0, diff_rank_seed=True)
# the learning rate above is for the batch size of the file name
auto_scale_lr = dict(base_batch_size=1024)
