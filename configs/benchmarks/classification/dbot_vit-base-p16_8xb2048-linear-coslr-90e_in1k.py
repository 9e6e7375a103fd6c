# dBOT ViT-B/16 linear probing on ImageNet-1k with the mmpretrain MAE recipe
# (cls token after the final norm, BatchNorm without affine, linear head;
# LARS, lr 6.4 for a batch of 16384 = 8 GPUs x 2048, 90 epochs with 10
# warm-up). All blocks, the patch embedding, cls token and position
# embedding are frozen (`frozen_stages=12`).
# Neither paper reports linear-probing accuracy (no reference number).
_base_ = [
    'mmpretrain::_base_/datasets/imagenet_bs32_pil_resize.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmpretrain'], allow_failed_imports=False)

train_dataloader = dict(batch_size=2048, drop_last=True)
val_dataloader = dict(drop_last=False)
test_dataloader = dict(drop_last=False)

model = dict(
    type='OfficialCompatClassifier',
    backbone=dict(
        type='TransferVisionTransformer',
        arch='base',
        img_size=224,
        patch_size=16,
        frozen_stages=12,
        out_type='cls_token',
        final_norm=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=dict(type='ClsBatchNormNeck', input_features=768),
    head=dict(
        type='VisionTransformerClsHead',
        num_classes=1000,
        in_channels=768,
        loss=dict(type='CrossEntropyLoss'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))

optim_wrapper = dict(
    type='AmpOptimWrapper',
    loss_scale='dynamic',
    optimizer=dict(type='LARS', lr=6.4, weight_decay=0.0, momentum=0.9))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-4,
        by_epoch=True,
        begin=0,
        end=10,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=80,
        by_epoch=True,
        begin=10,
        end=90,
        eta_min=0.0,
        convert_to_iter_based=True)
]

train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=1)
val_cfg = dict()
test_cfg = dict()
default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    logger=dict(type='LoggerHook', interval=10))
randomness = dict(seed=0, diff_rank_seed=True)
# the learning rate above is for this total batch (GPUs x per-GPU batch x
# accumulative_counts, as in the file name); MKDRunner logs the batch used
# and warns when it differs (`--auto-scale-lr` scales the lr linearly)
auto_scale_lr = dict(base_batch_size=16384)
runner_type = 'mmpretrain.MKDRunner'
