# Copyright (c) mkd_mm contributors. All rights reserved.
"""Every downstream config builds and loads a pre-trained student strictly.

Each config of ``configs/benchmarks`` is narrowed (depth, patch size and
parameter names unchanged), its model is built in its own scope, and its
backbone loads a checkpoint written by the pre-training algorithm of the
same depth: nothing unexpected, only transfer-time parameters missing, the
teacher / decoder / projection heads dropped and reported, the position
embedding resized to the config's grid.
"""
import glob
import os.path as osp

import pytest
import torch
from downstream_helpers import (CONFIG_DIR, narrow_arch,
                                save_pretrain_checkpoint, shrink_config)
from mmengine.config import Config
from test_layer_decay import build_model

ALL_CONFIGS = sorted(glob.glob(osp.join(CONFIG_DIR, '*', '*.py')))


@pytest.fixture(scope='module')
def checkpoints(tmp_path_factory):
    """One pre-training checkpoint per (depth, patch size), made lazily."""
    root = tmp_path_factory.mktemp('pretrain')
    cache = {}

    def get(num_layers: int, patch_size: int) -> str:
        key = (num_layers, patch_size)
        if key not in cache:
            cache[key] = save_pretrain_checkpoint(
                str(root / f'pre_{num_layers}_{patch_size}.pth'),
                narrow_arch(num_layers),
                img_size=4 * patch_size,
                patch_size=patch_size)
        return cache[key]

    return get


def test_all_configs_are_covered():
    names = {osp.basename(p) for p in ALL_CONFIGS}
    assert len([n for n in names if n.startswith('cascade')]) == 4
    assert len([n for n in names if n.startswith('upernet')]) == 2
    assert len([n for n in names if '_in1k' in n]) == 8


@pytest.mark.parametrize(
    'config', ALL_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_config_builds_and_loads_student(config, checkpoints, tmp_path):
    cfg, arch = shrink_config(Config.fromfile(config))
    backbone_cfg = cfg.model.backbone
    patch = backbone_cfg.get('patch_size', 16)
    ckpt = checkpoints(arch['num_layers'], patch)
    assert backbone_cfg.init_cfg.type == 'Pretrained'
    assert backbone_cfg.init_cfg.prefix == 'backbone.'
    backbone_cfg.init_cfg.checkpoint = ckpt
    head_init = cfg.model.get('head', {}).get('init_cfg')
    if isinstance(head_init, dict) and head_init.get('type') == 'Pretrained':
        # H-448 starts from a 224-px fine-tuned classifier: make one
        ft = _finetuned_224_checkpoint(config, ckpt, tmp_path)
        backbone_cfg.init_cfg.checkpoint = ft
        head_init.checkpoint = ft
    model, _ = build_model(cfg)
    model.init_weights()
    report = model.backbone.load_report
    assert report is not None, 'the backbone did not load the checkpoint'
    dropped = set(report['dropped'])
    if not head_init or not isinstance(head_init, dict):
        assert {'teacher', 'decoder', 'projection_heads'} <= dropped, dropped
    assert report['layout'] == 'mmpretrain'
    # the loaded encoder is the student's, not the teacher's
    sd = torch.load(
        backbone_cfg.init_cfg.checkpoint, weights_only=False)['state_dict']
    w = model.backbone.state_dict()['layers.0.attn.qkv.weight']
    assert torch.equal(w, sd['backbone.layers.0.attn.qkv.weight'])
    # pos_embed resized to the config's grid
    grid = model.backbone.patch_resolution
    assert model.backbone.pos_embed.shape[1] == 1 + grid[0] * grid[1]
    missing = report['missing_allowed']
    for key in missing:
        assert ('relative_position_bias_table' in key or 'gamma' in key
                or key.startswith('ln2.')), key


def _finetuned_224_checkpoint(config: str, pretrain: str, tmp_path) -> str:
    """Fine-tuned 224-px classifier checkpoint for the 448-px config."""
    base = config.replace('32xb8-accum4-coslr-10e_in1k-448px',
                          '32xb16-accum2-coslr-50e_in1k')
    cfg, _ = shrink_config(Config.fromfile(base))
    cfg.model.backbone.init_cfg.checkpoint = pretrain
    model, _ = build_model(cfg)
    model.init_weights()
    path = str(tmp_path / 'ft224.pth')
    torch.save({'state_dict': model.state_dict()}, path)
    return path


@pytest.mark.parametrize(
    'config', ALL_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_config_is_complete_for_the_runner(config):
    """The triplets mmengine's Runner requires are all set (or all None)."""
    cfg = Config.fromfile(config)
    for triplet in (('train_dataloader', 'train_cfg', 'optim_wrapper'),
                    ('val_dataloader', 'val_cfg', 'val_evaluator'),
                    ('test_dataloader', 'test_cfg', 'test_evaluator')):
        values = [cfg.get(k) is not None for k in triplet]
        assert all(values), dict(zip(triplet, values))
    assert cfg.get('param_scheduler')
    assert cfg.get('default_scope') in ('mmpretrain', 'mmdet', 'mmseg')
    imports = cfg.custom_imports['imports']
    assert imports == [
        'mkd_mm.downstream.' + {
            'mmpretrain': 'mmpretrain',
            'mmdet': 'mmdet',
            'mmseg': 'mmseg'
        }[cfg.default_scope]
    ]
    assert cfg.custom_imports['allow_failed_imports'] is False
