# Copyright (c) mkd_mm contributors. All rights reserved.
"""End to end: pre-training checkpoint -> UperNet -> ADE20K-style mIoU.

The ViT-B segmentation config is narrowed to a tiny ViT (96-d, 4 blocks,
taps after every block, rel-pos bias and layer scale 1.0 as in the config)
and run on the demo ADE20K-style set (5 classes, 128 px crops): a few
training iterations from a checkpoint written by a real pre-training run,
then a full slide-inference evaluation with mmseg's ``IoUMetric``.
SyncBN -> BN and AMP -> fp32 because this runs on one CPU.
"""
import os.path as osp

import torch
from downstream_helpers import CONFIG_DIR, TINY, shrink_config
from mmengine.config import Config

SEG_CONFIG = osp.join(CONFIG_DIR, 'mmsegmentation',
                      'upernet_vit-base-p16_8xb2-amp-160k_ade20k-512x512.py')
CLASSES = ('wall', 'building', 'sky', 'floor', 'tree')


def tiny_seg_cfg(work_dir: str, data_root: str, checkpoint: str) -> Config:
    cfg, _ = shrink_config(Config.fromfile(SEG_CONFIG), arch=TINY)
    crop = (128, 128)
    model = cfg.model
    model.data_preprocessor.size = crop
    model.backbone.update(
        img_size=crop, out_indices=(0, 1, 2, 3), drop_path_rate=0.1)
    model.backbone.init_cfg.checkpoint = checkpoint
    model.decode_head.update(num_classes=len(CLASSES), channels=64)
    model.auxiliary_head.update(num_classes=len(CLASSES), channels=32)
    model.test_cfg = dict(mode='slide', crop_size=crop, stride=(85, 85))

    ade = osp.join(data_root, 'ade', 'ADEChallengeData2016')
    # the config's pipelines, at the demo image size
    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(
            type='RandomResize',
            scale=(512, 128),
            ratio_range=(0.5, 2.0),
            keep_ratio=True),
        dict(type='RandomCrop', crop_size=crop, cat_max_ratio=0.75),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PhotoMetricDistortion'),
        dict(type='PackSegInputs')
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='Resize', scale=(512, 160), keep_ratio=True),
        dict(type='LoadAnnotations', reduce_zero_label=True),
        dict(type='PackSegInputs')
    ]
    dataset = dict(
        type='ADE20KDataset', data_root=ade, metainfo=dict(classes=CLASSES))
    cfg.train_dataloader = dict(
        batch_size=2,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(
            dataset,
            data_prefix=dict(
                img_path='images/training',
                seg_map_path='annotations/training'),
            pipeline=train_pipeline))
    cfg.test_dataloader = dict(
        batch_size=1,
        num_workers=0,
        persistent_workers=False,
        sampler=dict(type='DefaultSampler', shuffle=False),
        dataset=dict(
            dataset,
            data_prefix=dict(
                img_path='images/validation',
                seg_map_path='annotations/validation'),
            pipeline=test_pipeline))
    cfg.test_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
    # evaluate once, after training (no validation during training)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
    cfg.param_scheduler = [
        dict(
            type='LinearLR', start_factor=1e-6, by_epoch=False, begin=0,
            end=2),
        dict(
            type='PolyLR',
            eta_min=0.0,
            power=1.0,
            begin=2,
            end=4,
            by_epoch=False)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=1000)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=1, log_metric_by_epoch=False)
    cfg.default_hooks.visualization = dict(type='SegVisualizationHook')
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def test_upernet_transfer(tmp_path, demo_root, pretrained_student):
    from mmengine.runner import Runner
    cfg = tiny_seg_cfg(str(tmp_path), demo_root, pretrained_student)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    runner.train()
    report = model.backbone.load_report
    assert report['layout'] == 'mmpretrain'
    assert {'teacher', 'decoder'} <= set(report['dropped'])
    # 4 blocks x (rel-pos table + 2 layer-scale gammas)
    assert len(report['missing_allowed']) == 12
    assert any('pos_embed (1, 17, 96) -> (1, 65, 96)' in r
               for r in report['resized']), report['resized']
    student = torch.load(pretrained_student, weights_only=False)['state_dict']
    delta = (model.backbone.layers[0].attn.qkv.weight.detach() -
             student['backbone.layers.0.attn.qkv.weight']).abs().max()
    assert 0 < delta < 0.05, delta
    # the zero-initialised relative position bias is being trained
    table = model.backbone.layers[0].attn.relative_position_bias_table
    assert table.abs().sum() > 0

    metrics = runner.test()
    print('\nADE20K-style metrics after 4 iterations:', {
        k: round(float(v), 3)
        for k, v in metrics.items()
    })
    for key in ('mIoU', 'aAcc', 'mAcc'):
        assert key in metrics, metrics
        assert 0.0 <= metrics[key] <= 100.0, (key, metrics[key])
