# Copyright (c) mkd_mm contributors. All rights reserved.
"""Layer-wise lr decay is right for the exact parameter names of every config.

For each downstream config (narrowed, depth and names unchanged) the real
optim wrapper is built through the config's own constructor, and for every
trainable parameter the test checks

- lr multiplier = rate ** (L + 1 - depth) with depth 0 for patch_embed /
  cls_token / pos_embed, i + 1 for ``backbone.layers.i``, L + 1 (= 1.0) for
  everything else (fc_norm, neck, heads);
- weight decay 0 exactly for 1-D params, biases, pos_embed and cls_token.

It also pins down why mmseg's / mmdet's own constructors are not used.
"""
import glob
import os.path as osp
from collections import defaultdict

import pytest
import torch
from downstream_helpers import (CONFIG_DIR, expected_no_decay, param_depth,
                                shrink_config)
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

LAYER_DECAY_CONFIGS = sorted(
    f for f in glob.glob(osp.join(CONFIG_DIR, '*', '*.py'))
    if '-linear-' not in f)
LINEAR_CONFIGS = sorted(
    glob.glob(osp.join(CONFIG_DIR, 'classification', '*-linear-*.py')))


def build_model(cfg):
    """Build the model of a downstream config in its own scope."""
    scope = cfg.get('default_scope', 'mmpretrain')
    if scope == 'mmdet':
        import mkd_mm.downstream.mmdet  # noqa: F401
        from mmdet.registry import MODELS
    elif scope == 'mmseg':
        import mkd_mm.downstream.mmseg  # noqa: F401
        from mmseg.registry import MODELS
    else:
        import mkd_mm.downstream.mmpretrain  # noqa: F401
        from mmpretrain.registry import MODELS
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg.model), scope


def named_groups(optimizer, model):
    """``name -> (lr, weight_decay)`` from the optimizer's param groups."""
    ids = {id(p): n for n, p in model.named_parameters()}
    out = {}
    for group in optimizer.param_groups:
        for p in group['params']:
            name = ids[id(p)]
            assert name not in out, f'{name} in two param groups'
            out[name] = (group['lr'], group.get('weight_decay', 0.))
    return out


@pytest.mark.parametrize(
    'config', LAYER_DECAY_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_layer_decay_of_config(config):
    cfg, arch = shrink_config(Config.fromfile(config))
    num_layers = arch['num_layers']
    model, scope = build_model(cfg)
    with DefaultScope.overwrite_default_scope(scope):
        optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr = cfg.optim_wrapper.optimizer.lr
    base_wd = cfg.optim_wrapper.optimizer.weight_decay
    rate = cfg.optim_wrapper.paramwise_cfg.layer_decay_rate
    groups = named_groups(optim_wrapper.optimizer, model)

    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert set(groups) == set(trainable), 'every trainable param, once'
    table = defaultdict(lambda: [0, 0, None, set()])
    for name, param in trainable.items():
        lr, wd = groups[name]
        depth = param_depth(name, num_layers)
        scale = rate**(num_layers + 1 - depth)
        assert lr == pytest.approx(base_lr * scale, rel=1e-9), name
        want_wd = 0. if expected_no_decay(name, param) else base_wd
        assert wd == pytest.approx(want_wd), (name, wd)
        row = table[depth]
        row[0 if wd else 1] += 1
        row[2] = lr / base_lr
        row[3].add(
            name.split('.')[0] if depth == num_layers +
            1 else '.'.join(name.split('.')[:2 if depth == 0 else 3]))
    # the stem, every block and the top are all present
    assert sorted(table) == list(range(num_layers + 2))
    assert table[num_layers + 1][2] == pytest.approx(1.0)
    print(f'\n{osp.basename(config)}: L={num_layers} rate={rate}')
    for depth in sorted(table):
        decay, no_decay, mult, where = table[depth]
        print(f'  depth {depth:2d}: lr x {mult:.3e}  decay {decay:3d} / '
              f'no-decay {no_decay:3d}  {sorted(where)[:4]}')
    # explicit spot checks of the no-decay set
    for name in ('backbone.pos_embed', 'backbone.cls_token'):
        assert groups[name][1] == 0., name
    assert groups['backbone.patch_embed.projection.weight'][1] == base_wd


@pytest.mark.parametrize(
    'config', LINEAR_CONFIGS, ids=lambda p: osp.basename(p)[:-3])
def test_linear_probe_trains_only_the_head(config):
    cfg, _ = shrink_config(Config.fromfile(config))
    model, _ = build_model(cfg)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable and all(n.startswith('head.') for n in trainable), \
        trainable


def _tiny_det_cfg(paramwise_cfg):
    cfg = Config.fromfile(
        osp.join(
            CONFIG_DIR, 'mmdetection',
            'cascade-mask-rcnn_vit-base-p16_fpn_4conv1fc-giou_8xb2-amp-ms-'
            'crop-1x_coco.py'))
    cfg, _ = shrink_config(cfg)
    cfg.optim_wrapper.paramwise_cfg = paramwise_cfg
    return cfg


def test_num_layers_mismatch_is_an_error():
    cfg = _tiny_det_cfg(dict(num_layers=24, layer_decay_rate=0.75))
    model, scope = build_model(cfg)
    with DefaultScope.overwrite_default_scope(scope):
        with pytest.raises(ValueError, match=r'num_layers=24.*num_layers=12'):
            build_optim_wrapper(model, cfg.optim_wrapper)


def test_mmdet_style_keys_are_an_error():
    """mmdet's spelling `decay_rate` would silently disable the decay."""
    cfg = _tiny_det_cfg(dict(num_layers=12, decay_rate=0.75))
    model, scope = build_model(cfg)
    with DefaultScope.overwrite_default_scope(scope):
        with pytest.raises(ValueError, match=r"unknown.*'decay_rate'"):
            build_optim_wrapper(model, cfg.optim_wrapper)


def test_mmseg_constructor_formula_and_why_not_used():
    """mmseg's LearningRateDecayOptimizerConstructor, checked on its MAE.

    Same depth rule and scale formula as the official det/seg
    ``LayerDecayOptimizerConstructor`` (docs/transfer.md, section 6), but it
    weight-decays ``backbone.pos_embed`` / ``backbone.cls_token`` (as the
    official det/seg code does) and rejects any backbone whose class name
    lacks BEiT/MAE/ConvNeXt.
    """
    import mmseg.models  # noqa: F401
    from mmseg.registry import MODELS
    from mmseg.registry import \
        OPTIM_WRAPPER_CONSTRUCTORS as SEG_CONSTRUCTORS

    import mkd_mm.downstream.mmseg  # noqa: F401
    L, rate = 4, 0.65

    class Seg(torch.nn.Module):

        def __init__(self, backbone):
            super().__init__()
            self.backbone = backbone
            self.decode_head = torch.nn.Linear(32, 5)

    with DefaultScope.overwrite_default_scope('mmseg'):
        mae = MODELS.build(
            dict(
                type='MAE',
                img_size=(64, 64),
                embed_dims=32,
                num_layers=L,
                num_heads=2,
                out_indices=[3]))
        ours = MODELS.build(
            dict(
                type='ViTSegBackbone',
                arch=dict(
                    embed_dims=32,
                    num_layers=L,
                    num_heads=2,
                    feedforward_channels=64),
                img_size=64,
                out_indices=[3]))
    ow_cfg = dict(
        type='OptimWrapper',
        optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05))
    with DefaultScope.overwrite_default_scope('mmseg'):
        constructor = SEG_CONSTRUCTORS.build(
            dict(
                type='LearningRateDecayOptimizerConstructor',
                optim_wrapper_cfg=ow_cfg,
                paramwise_cfg=dict(num_layers=L, decay_rate=rate)))
        model = Seg(mae)
        groups = named_groups(constructor(model).optimizer, model)
    assert type(constructor).__module__.startswith('mmseg.')
    for name, (lr, wd) in groups.items():
        assert lr == pytest.approx(rate**(L + 1 - param_depth(name, L))), name
    assert groups['backbone.pos_embed'][1] == 0.05  # the quirk
    assert groups['backbone.cls_token'][1] == 0.05
    with DefaultScope.overwrite_default_scope('mmseg'):
        with pytest.raises(NotImplementedError):
            constructor(Seg(ours))


def test_mmdet_core_constructor_rejects_vit():
    import mmdet.engine  # noqa: F401
    from mmdet.registry import \
        OPTIM_WRAPPER_CONSTRUCTORS as DET_CONSTRUCTORS
    cfg = _tiny_det_cfg(dict(num_layers=12, layer_decay_rate=0.75))
    model, _ = build_model(cfg)
    with DefaultScope.overwrite_default_scope('mmdet'):
        constructor = DET_CONSTRUCTORS.build(
            dict(
                type='LearningRateDecayOptimizerConstructor',
                optim_wrapper_cfg=dict(
                    type='OptimWrapper',
                    optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.05)),
                paramwise_cfg=dict(
                    num_layers=12, decay_rate=0.75, decay_type='layer_wise')))
        assert type(constructor).__module__.startswith('mmdet.')
        with pytest.raises(NotImplementedError):
            constructor(model)
