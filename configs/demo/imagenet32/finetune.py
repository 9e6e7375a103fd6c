# `make demo`: end-to-end fine-tuning of a demo encoder on the labelled
# subset (200 images, 20 per class) of the 32-px demo set, evaluated on its
# 500 validation images: the papers' protocol (AdamW, layer-wise lr decay,
# label smoothing, warm-up + cosine, global average pooling, fresh linear
# head) at toy scale. The same fixed schedule for every encoder, from
# scratch included (`--cfg-options model.backbone.init_cfg=None`).
#   python tools/train.py configs/demo/imagenet32/finetune.py \
#       --cfg-options model.backbone.init_cfg.checkpoint=PRETRAIN_CKPT
_base_ = [
    '../../_base_/datasets/demo_imagenet32.py',
    '../../_base_/models/demo_vit-p4-32px.py',
    'mmpretrain::_base_/default_runtime.py',
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmpretrain'], allow_failed_imports=False)
finetune_epochs = 50  # 4 iterations each (200 / 50)
model = dict(
    type='ImageClassifier',
    data_preprocessor=dict(
        type='ClsDataPreprocessor',
        num_classes=10,
        mean={{_base_.demo_mean}},
        std={{_base_.demo_std}},
        to_rgb=True),
    backbone=dict(
        type='TransferVisionTransformer',
        arch={{_base_.demo_arch}},
        img_size={{_base_.demo_img_size}},
        patch_size={{_base_.demo_patch_size}},
        drop_path_rate=0.1,
        out_type='avg_featmap',
        final_norm=False,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=None,
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=128,
        loss=dict(
            type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        init_cfg=[dict(type='TruncNormal', layer='Linear', std=0.01)]))
train_dataloader = {{_base_.finetune_dataloader}}
val_cfg = dict()
test_dataloader = {{_base_.val_dataloader}}
test_evaluator = {{_base_.val_evaluator}}
test_cfg = dict()

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(
        type='AdamW', lr=2e-3, weight_decay=0.05, betas=(0.9, 0.999)),
    constructor='LearningRateDecayOptimWrapperConstructor',
    paramwise_cfg=dict(
        layer_decay_rate=0.75,
        custom_keys={
            '.ln': dict(decay_mult=0.0),
            '.bias': dict(decay_mult=0.0),
            '.cls_token': dict(decay_mult=0.0),
            '.pos_embed': dict(decay_mult=0.0)
        }))
auto_scale_lr = dict(base_batch_size=50, enable=False)
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1e-3,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        T_max=finetune_epochs - 5,
        by_epoch=True,
        begin=5,
        end=finetune_epochs,
        eta_min=1e-6,
        convert_to_iter_based=True)
]
train_cfg = dict(
    by_epoch=True, max_epochs=finetune_epochs, val_interval=finetune_epochs)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=finetune_epochs))
runner_type = 'mmpretrain.MKDRunner'
randomness = dict(seed=0)
