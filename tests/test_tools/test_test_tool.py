# Copyright (c) mkd_mm contributors. All rights reserved.
"""End-to-end test of ``tools/test.py`` on the CPU: a tiny classifier whose
checkpoint always predicts one class is evaluated on the demo val split,
which gives known accuracies (10 images per class)."""
import pickle
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[2]

CLASSIFIER = """
_base_ = [
    '{repo}/configs/_base_/datasets/demo_imagenet_eval.py',
    '{repo}/configs/_base_/default_runtime.py',
]
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='VisionTransformer',
        arch=dict(embed_dims=32, num_layers=1, num_heads=2,
                  feedforward_channels=64),
        img_size=64,
        patch_size=16,
        out_type='cls_token'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=32,
        loss=dict(type='CrossEntropyLoss'),
        topk=(1, 5)))
test_cfg = dict()
"""

# class 3 (cross) always wins, then 7, 1, 0, 9: top-5 covers 5 classes
BIAS_ORDER = [3, 7, 1, 0, 9]


@pytest.fixture(scope='module')
def classifier(tmp_path_factory):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmpretrain.registry import MODELS
    root = tmp_path_factory.mktemp('classifier')
    cfg_path = root / 'tiny_cls.py'
    cfg_path.write_text(CLASSIFIER.format(repo=REPO))
    cfg = Config.fromfile(str(cfg_path), import_custom_modules=False)
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
    state = model.state_dict()
    state['head.fc.weight'].zero_()
    bias = torch.zeros(10)
    for rank, cls in enumerate(BIAS_ORDER):
        bias[cls] = 10.0 - rank
    state['head.fc.bias'].copy_(bias)
    ckpt = root / 'tiny_cls.pth'
    torch.save({
        'state_dict': state,
        'meta': {
            'note': 'constant class 3'
        }
    }, str(ckpt))
    return cfg_path, ckpt


def test_test_tool_reports_known_accuracy(classifier, tmp_path, demo_data,
                                          run_tool):
    cfg_path, ckpt = classifier
    preds = tmp_path / 'preds.pkl'
    proc = run_tool([
        'tools/test.py',
        str(cfg_path),
        str(ckpt), '--work-dir',
        str(tmp_path / 'work'), '--out',
        str(preds), '--cfg-options',
        f'test_dataloader.dataset.data_root={demo_data}/imagenet/',
        'test_dataloader.num_workers=0'
    ],
                    timeout=240)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-4000:]
    # 10 of the 100 val images are class 3; 50 are in the top-5 classes
    assert 'accuracy/top1: 10.0000' in output
    assert 'accuracy/top5: 50.0000' in output
    with open(preds, 'rb') as f:
        results = pickle.load(f)
    assert len(results) == 100
    assert {int(r['pred_label']) for r in results} == {3}
    assert sorted(int(r['gt_label'])
                  for r in results) == sorted(list(range(10)) * 10)


def test_test_tool_missing_checkpoint(tmp_path, run_tool, classifier):
    cfg_path, _ = classifier
    proc = run_tool(
        ['tools/test.py',
         str(cfg_path),
         str(tmp_path / 'missing.pth')],
        timeout=120)
    assert proc.returncode == 2
    assert 'checkpoint file not found' in proc.stderr
    assert 'missing.pth' in proc.stderr
