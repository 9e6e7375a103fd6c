# Cascade Mask R-CNN with a plain ViT-B/16 backbone on COCO: the dBOT
# detection transfer (dbot:DOWNSTREAM.md, dbot:evaluation/object_detection/;
# paper Tab. 3 / Tab. A3).
#
# - Backbone `ViTDetBackbone`: taps after blocks (3, 5, 7, 11) without LN,
#   drop path 0.2, activation checkpointing of every block, an absolute
#   position embedding loaded from the pre-trained 14x14 grid (bicubic) and a
#   zero-initialised relative position bias per block trained from scratch
#   (paper App. A.3; the official `vit_*` configs use the interpolated
#   absolute embedding only: see the `-abspos` variant).
# - fpn1-4 (`Feature2Pyramid`: ConvT-BN-GELU-ConvT / ConvT / Identity /
#   MaxPool, strides 4/8/16/32), then FPN 256 with 5 outputs.
# - 3 cascade stages of 4conv1fc box heads (SyncBN) with class-specific
#   GIoU regression (weight 10, decoded boxes) and FCN mask heads.
# - DETR-style multi-scale + crop augmentation, single-scale test 1333x800.
# - AdamW lr 1e-4, wd 0.05, layer decay 0.75, batch 16 (8 GPUs x 2), 12
#   epochs, steps at 8 and 11, linear warm-up over 500 iterations from
#   0.001, AMP.
# Pre-trained weights: --cfg-options model.backbone.init_cfg.checkpoint=PATH
# (an mkd_mm pre-training checkpoint, a backbone-only file from
# tools/model_converters/extract_backbone.py or an official release).
# Reference (3-stage dBOT ViT-B, Tab. 3): AP box 52.7, AP mask 45.7.
_base_ = [
    'mmdet::_base_/models/cascade-mask-rcnn_r50_fpn.py',
    'mmdet::_base_/datasets/coco_instance.py',
    'mmdet::_base_/schedules/schedule_1x.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['mkd_mm.downstream.mmdet'], allow_failed_imports=False)
default_scope = 'mmdet'

embed_dims = 768
num_layers = 12
# SyncBN needs a distributed launch; use BN on a single device
neck_norm_cfg = dict(type='SyncBN', requires_grad=True)
head_norm_cfg = dict(type='SyncBN', requires_grad=True)

model = dict(
    backbone=dict(
        _delete_=True,
        type='ViTDetBackbone',
        arch='base',
        # absolute embedding laid out on the official 42 x 68 grid
        # (img_size [672, 1092] with floor division), interpolated per input
        img_size=(672, 1088),
        patch_size=16,
        out_indices=(3, 5, 7, 11),
        drop_path_rate=0.2,
        use_abs_pos_embed=True,
        use_rel_pos_bias=True,
        # largest training grid: 1344 / 16 = 84 patches per side
        rel_pos_grid=(84, 84),
        with_cp=True,
        init_cfg=dict(type='Pretrained', checkpoint=None, prefix='backbone.')),
    neck=[
        dict(
            type='Feature2Pyramid',
            embed_dim=embed_dims,
            rescales=[4, 2, 1, 0.5],
            norm_cfg=neck_norm_cfg),
        dict(
            type='FPN',
            in_channels=[embed_dims] * 4,
            out_channels=256,
            num_outs=5)
    ],
    roi_head=dict(bbox_head=[
        dict(
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=head_norm_cfg,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0)),
        dict(
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.05, 0.05, 0.1, 0.1]),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=head_norm_cfg,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0)),
        dict(
            type='Shared4Conv1FCBBoxHead',
            in_channels=256,
            conv_out_channels=256,
            fc_out_channels=1024,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.033, 0.033, 0.067, 0.067]),
            reg_class_agnostic=False,
            reg_decoded_bbox=True,
            norm_cfg=head_norm_cfg,
            loss_cls=dict(
                type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='GIoULoss', loss_weight=10.0)),
    ]))

# augmentation strategy of DETR (flip, then either multi-scale resize or
# resize-crop-resize)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(
        type='RandomChoice',
        transforms=[[
            dict(
                type='RandomChoiceResize',
                scales=[(480, 1333), (512, 1333), (544, 1333), (576, 1333),
                        (608, 1333), (640, 1333), (672, 1333), (704, 1333),
                        (736, 1333), (768, 1333), (800, 1333)],
                keep_ratio=True)
        ],
                    [
                        dict(
                            type='RandomChoiceResize',
                            scales=[(400, 1333), (500, 1333), (600, 1333)],
                            keep_ratio=True),
                        dict(
                            type='RandomCrop',
                            crop_type='absolute_range',
                            crop_size=(384, 600),
                            allow_negative_crop=True),
                        dict(
                            type='RandomChoiceResize',
                            scales=[(480, 1333), (512, 1333), (544, 1333),
                                    (576, 1333), (608, 1333), (640, 1333),
                                    (672, 1333), (704, 1333), (736, 1333),
                                    (768, 1333), (800, 1333)],
                            keep_ratio=True)
                    ]]),
    dict(type='PackDetInputs')
]
# 8 GPUs x 2 images = 16
train_dataloader = dict(batch_size=2, dataset=dict(pipeline=train_pipeline))

optim_wrapper = dict(
    _delete_=True,
    type='AmpOptimWrapper',
    constructor='ViTLayerDecayOptimWrapperConstructor',
    # lr scale 0.75 ** (L + 1 - depth): patch_embed / cls_token / pos_embed at
    # depth 0, block i at i + 1, neck and heads at L + 1 (scale 1); no weight
    # decay on 1-D params, biases, pos_embed and cls_token
    paramwise_cfg=dict(num_layers=num_layers, layer_decay_rate=0.75),
    optimizer=dict(
        type='AdamW', lr=1e-4, betas=(0.9, 0.999), weight_decay=0.05))

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(
        type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[8, 11],
        gamma=0.1)
]
# the learning rate above is for this total batch (GPUs x per-GPU batch x
# accumulative_counts, as in the file name); MKDRunner logs the batch used
# and warns when it differs (`--auto-scale-lr` scales the lr linearly)
auto_scale_lr = dict(enable=False, base_batch_size=16)
runner_type = 'mmpretrain.MKDRunner'
