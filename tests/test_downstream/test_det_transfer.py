# Copyright (c) mkd_mm contributors. All rights reserved.
"""End to end: pre-training checkpoint -> Cascade Mask R-CNN -> COCO AP.

The ViT-B detection config is narrowed to a tiny ViT (96-d, 4 blocks, taps
after every block, heads narrowed to 64 channels) and run on the demo
COCO-format set (128 px images, 4 categories): a few training iterations
from a checkpoint written by a real pre-training run, then a full
evaluation with mmdet's ``CocoMetric`` (bbox and segm AP). SyncBN -> BN and
AMP -> fp32 because this runs on one CPU.
"""
import os.path as osp

import torch
from downstream_helpers import CONFIG_DIR, TINY, shrink_config
from mmengine.config import Config

DET_CONFIG = osp.join(
    CONFIG_DIR, 'mmdetection',
    'cascade-mask-rcnn_vit-base-p16_fpn_4conv1fc-giou_8xb2-amp-ms-crop-'
    '1x_coco.py')
CLASSES = ('circle', 'square', 'triangle', 'star')


def tiny_det_cfg(work_dir: str, data_root: str, checkpoint: str) -> Config:
    cfg, _ = shrink_config(Config.fromfile(DET_CONFIG), arch=TINY)
    model = cfg.model
    model.backbone.update(
        img_size=(128, 128),
        out_indices=(0, 1, 2, 3),
        rel_pos_grid=(8, 8),
        drop_path_rate=0.1,
        with_cp=True)
    model.backbone.init_cfg.checkpoint = checkpoint
    # narrow heads (64 channels instead of 256; structure unchanged)
    ch = 64
    model.neck[1].out_channels = ch
    model.rpn_head.update(in_channels=ch, feat_channels=ch)
    model.roi_head.bbox_roi_extractor.out_channels = ch
    model.roi_head.mask_roi_extractor.out_channels = ch
    for head in model.roi_head.bbox_head:
        head.update(
            num_classes=len(CLASSES),
            in_channels=ch,
            conv_out_channels=ch,
            fc_out_channels=256)
    model.roi_head.mask_head.update(
        num_classes=len(CLASSES), in_channels=ch, conv_out_channels=ch)
    for stage in model.train_cfg.rcnn:
        stage.sampler.num = 64
    model.train_cfg.rpn_proposal.update(nms_pre=500, max_per_img=200)
    model.test_cfg.rpn.update(nms_pre=500, max_per_img=100)
    model.test_cfg.rcnn.update(score_thr=0.0, max_per_img=20)

    coco = osp.join(data_root, 'coco')
    # the config's DETR-style augmentation, at the demo image size
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(type='RandomFlip', prob=0.5),
        dict(
            type='RandomChoice',
            transforms=[[
                dict(
                    type='RandomChoiceResize',
                    scales=[(96, 1333), (112, 1333), (128, 1333)],
                    keep_ratio=True)
            ],
                        [
                            dict(
                                type='RandomChoiceResize',
                                scales=[(100, 1333), (128, 1333)],
                                keep_ratio=True),
                            dict(
                                type='RandomCrop',
                                crop_type='absolute_range',
                                crop_size=(64, 96),
                                allow_negative_crop=True),
                            dict(
                                type='RandomChoiceResize',
                                scales=[(96, 1333), (128, 1333)],
                                keep_ratio=True)
                        ]]),
        dict(type='PackDetInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(128, 128), keep_ratio=True),
        dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
        dict(
            type='PackDetInputs',
            meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                       'scale_factor'))
    ]
    dataset = dict(
        type='CocoDataset', data_root=coco, metainfo=dict(classes=CLASSES))
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=True),
        batch_sampler=dict(type='AspectRatioBatchSampler'),
        dataset=dict(
            dataset,
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=8),
            pipeline=train_pipeline))
    cfg.test_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        drop_last=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            dataset,
            ann_file='annotations/instances_val2017.json',
            data_prefix=dict(img='val2017/'),
            test_mode=True,
            pipeline=test_pipeline))
    cfg.test_evaluator = dict(
        type='CocoMetric',
        ann_file=osp.join(coco, 'annotations/instances_val2017.json'),
        metric=['bbox', 'segm'])
    # evaluate once, after training (no validation during training)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
    cfg.param_scheduler = [
        dict(
            type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=2)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=1000)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def test_cascade_mask_rcnn_transfer(tmp_path, demo_root, pretrained_student):
    from mmengine.runner import Runner
    cfg = tiny_det_cfg(str(tmp_path), demo_root, pretrained_student)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    before = {
        k: v.clone()
        for k, v in model.backbone.state_dict().items()
        if 'relative_position' not in k
    }
    runner.train()
    report = model.backbone.load_report
    assert report['layout'] == 'mmpretrain'
    assert {'teacher', 'decoder',
            'algorithm_buffers'} <= set(report['dropped'])
    assert len(report['missing_allowed']) == 4  # one rel-pos table / block
    # the student weights were loaded (and then trained a little)
    student = torch.load(pretrained_student, weights_only=False)['state_dict']
    qkv = model.backbone.layers[0].attn.qkv.weight
    assert not torch.equal(before['layers.0.attn.qkv.weight'],
                           student['backbone.layers.0.attn.qkv.weight'])
    delta = (qkv.detach() -
             student['backbone.layers.0.attn.qkv.weight']).abs().max()
    assert 0 < delta < 0.05, delta
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert all(torch.isfinite(torch.tensor(v)) for v in losses)

    metrics = runner.test()
    print('\nCOCO metrics after 4 iterations:', {
        k: round(float(v), 4)
        for k, v in metrics.items()
    })
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/segm_mAP',
                'coco/segm_mAP_50'):
        assert key in metrics, metrics
        assert 0.0 <= metrics[key] <= 1.0, (key, metrics[key])
