# Copyright (c) mkd_mm contributors. All rights reserved.
"""End to end: pre-training checkpoint -> ImageNet-style fine-tuning.

The dBOT ViT-B fine-tuning config (RandAugment, RandomErasing, Mixup/CutMix,
label smoothing, layer decay, avg-pool + fc_norm) is narrowed to the tiny
ViT of the other transfer tests and run on the demo ImageNet-style set (10
classes, 96 px): a few iterations from a checkpoint written by a real
pre-training run, then a full evaluation with mmpretrain's ``Accuracy``.
"""
import os.path as osp

import torch
from downstream_helpers import CONFIG_DIR, TINY, shrink_config
from mmengine.config import Config

CLS_CONFIG = osp.join(CONFIG_DIR, 'classification',
                      'dbot_vit-base-p16_32xb32-coslr-100e_in1k.py')


def tiny_cls_cfg(work_dir: str, data_root: str, checkpoint: str) -> Config:
    cfg, _ = shrink_config(Config.fromfile(CLS_CONFIG), arch=TINY)
    cfg.model.backbone.update(img_size=96)
    cfg.model.backbone.init_cfg.checkpoint = checkpoint
    cfg.model.head.num_classes = 10
    cfg.data_preprocessor.num_classes = 10
    root = osp.join(data_root, 'imagenet')
    train_pipeline = cfg.train_dataloader.dataset.pipeline
    train_pipeline[1].scale = 96  # RandomResizedCrop
    test_pipeline = cfg.test_dataloader.dataset.pipeline
    test_pipeline[1].scale = 110  # ResizeEdge
    test_pipeline[2].crop_size = 96  # CenterCrop
    for split, loader in (('train', cfg.train_dataloader),
                          ('val', cfg.test_dataloader)):
        loader.update(batch_size=8, num_workers=0, persistent_workers=False)
        loader.dataset.update(
            type='CustomDataset',
            data_root=root,
            ann_file=f'meta/{split}.txt',
            data_prefix=split)
        loader.dataset.pop('split', None)
    cfg.test_evaluator = dict(type='Accuracy', topk=(1, ))
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=4)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=1e-2, by_epoch=False, end=2)
    ]
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=1000)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.log_processor = dict(by_epoch=False)
    cfg.work_dir = work_dir
    cfg.log_level = 'WARNING'
    return cfg


def test_imagenet_finetune_transfer(tmp_path, demo_root, pretrained_student):
    from mmengine.runner import Runner
    cfg = tiny_cls_cfg(str(tmp_path), demo_root, pretrained_student)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    runner.train()
    report = model.backbone.load_report
    assert report['unused'] == ['ln1.weight', 'ln1.bias']  # final norm
    assert report['missing_allowed'] == ['ln2.weight', 'ln2.bias']  # fc_norm
    assert {'teacher', 'decoder'} <= set(report['dropped'])
    assert any('(1, 17, 96) -> (1, 37, 96)' in r for r in report['resized'])
    student = torch.load(pretrained_student, weights_only=False)['state_dict']
    delta = (model.backbone.layers[0].attn.qkv.weight.detach() -
             student['backbone.layers.0.attn.qkv.weight']).abs().max()
    assert 0 < delta < 0.05, delta
    metrics = runner.test()
    print('\nImageNet-style top-1 after 4 iterations:', metrics)
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
